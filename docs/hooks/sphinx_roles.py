"""A griffe extension: the docstrings' Sphinx roles as links of the API reference.

The package's docstrings name other objects the Sphinx way (``:func:`training_dataset```,
``:class:`~data_prep.outputs.OpenedOutput```), which mkdocstrings would show as literal text. This
extension rewrites each role, when the object tree is complete, into an optional cross-reference: a link
where the named object is on an API page, its name as code otherwise (never a broken link). A name
without dots is looked up beside the object (its class, its module, its package); ``~`` shows only the
last part of the name, as Sphinx does. mkdocs.yml loads it into the mkdocstrings handler.
"""

from __future__ import annotations

import html
import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const):`(?P<target>[^`]+)`")


def _resolve(obj: griffe.Object, target: str) -> str:
    """The dotted path ``target`` most likely names, seen from ``obj``."""
    if "." in target:
        return target
    scope = obj if obj.is_module or obj.is_class else obj.parent
    while scope is not None:
        if target in scope.members:
            member = scope.members[target]
            try:  # an imported name: the object it stands for (what an API page renders)
                return member.final_target.path if member.is_alias else member.path
            except griffe.AliasResolutionError:
                return member.path
        scope = scope.parent
    return f"{obj.module.path}.{target}"


def rewrite_roles(text: str, obj: griffe.Object) -> str:
    """``text`` with every Sphinx role replaced by an optional autorefs cross-reference.

    Args:
        text: A docstring.
        obj: The object the docstring belongs to (names are resolved from it).

    Returns:
        The docstring with ``<autoref ... optional>`` elements in place of the roles.
    """
    def replace(match: re.Match) -> str:
        target = match["target"].strip()
        short = target.startswith("~")
        target = target.lstrip("~").rstrip("()")
        title = target.rsplit(".", 1)[-1] if short else target
        identifier = _resolve(obj, target)
        return (f'<autoref identifier="{html.escape(identifier)}" optional>'
                f"<code>{html.escape(title)}</code></autoref>")

    return _ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring of a package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        """Rewrite the docstrings of ``pkg`` and of everything it defines (aliases share their target's)."""
        pending = [pkg]
        while pending:
            obj = pending.pop()
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite_roles(obj.docstring.value, obj)
            pending.extend(member for member in obj.members.values() if not member.is_alias)
