"""The backbone and head option tables, generated from the registries when the site is built.

A page that holds the markers of :mod:`dream_keras.option_tables` (``<!-- options:start -->`` ...
``<!-- options:end -->``, today ``docs/reference/models.md``) gets the tables the registries give now,
whatever the Markdown file holds between the markers; ``tests/test_option_tables.py`` also keeps the
file's own copy current, for readers of the Markdown source.
"""

from __future__ import annotations


def on_page_markdown(markdown: str, page, config, files) -> str:
    """MkDocs hook: replace the option-table block of a page with the registries' tables."""
    from dream_keras.option_tables import END, START, options_markdown, replace_block
    from dream_keras.startup import import_backend_quietly

    if START not in markdown or END not in markdown:
        return markdown
    import_backend_quietly()  # the registries load Keras: without TensorFlow's C++ start-up lines in the log
    return replace_block(markdown, options_markdown())
