"""The documentation's backbone and head option tables are the ones the registries give."""

import pathlib

from dream_keras.option_tables import END, START, builder_defaults, options_markdown, replace_block
from dream_keras.registry import get_backbone, get_head

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "reference" / "models.md"


def test_documented_option_tables_are_current():
    text = PAGE.read_text()
    assert START in text and END in text, f"{PAGE} lost its option-table markers"
    block = text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert block == options_markdown(), (
        f"{PAGE}'s option tables are stale: "
        f"run `python -m dream_keras.option_tables {PAGE.relative_to(PAGE.parents[2])}`")


def test_option_defaults_come_from_the_registry():
    assert builder_defaults(get_backbone("bpnet")) == {"filters": 512, "layer_prefix": "wo_bias_", "n_dil_layers": 8}
    assert builder_defaults(get_backbone("dream_rnn")) == {"core_filters": 320, "first_filters": 320,
                                                           "lstm_units": 320}
    assert builder_defaults(get_head("profile_count")) == {"layer_prefix": None, "num_tasks": 1,
                                                           "output_length": 1000}
    table = options_markdown()
    assert "| `bpnet` | `profile_count` | 2114 x 4, ACGT | `filters`=`512` (`--filters`)" in table
    # DeepSTARR's filters are a list: no --filters flag is offered for them.
    assert "`filters`=`[256, 60, 60, 120]`<br>" in table


def test_replace_block_keeps_the_text_around():
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_block(text, "new\n") == f"intro\n{START}\nnew\n{END}\noutro\n"
