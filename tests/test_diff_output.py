"""Names from files reach the terminal as text: no markup is parsed, no control is sent."""

from __future__ import annotations

import io
import json
import unicodedata

import keras
from click.testing import CliRunner
from keras import layers
from rich.console import Console

from archspec.cli import main
from archspec.compare.diff import diff
from archspec.compare.render import render
from archspec.errors import printable
from archspec.ir.graph import Graph, Node, Source
from archspec.ops import REGISTRY

MARKUP = ["[bold]", "[/]", "[red]x[/red]", "[link=http://x]y[/link]", "[", ":smile:"]
#: every C0 and C1 control, DEL, and format characters that reorder or hide text
CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + [
    "\u200b", "\u202e", "\u2066", "\u2028", "\u2029", "\ufeff",
]  # fmt: skip


def evil_graph(units: int) -> Graph:
    """A chain of dense layers, one per hostile name, each in a scope of that name."""
    graph = Graph("model\x1b[2J[bold]")
    where = Source(None, "m")
    graph.nodes["in"] = Node("in", "input", {"shape": (4,)}, [], where, shape=(4,))
    graph.inputs = ["in"]
    dense = REGISTRY.get("dense").attrs.model_validate({"units": units})
    last = "in"
    for k, text in enumerate(MARKUP + CONTROLS):
        name = f"l{k}{text}\x1b[2J"
        graph.nodes[name] = Node(name, "dense", dense, [last], where, (f"s{k}{text}",), (units,))
        last = name
    graph.outputs = [last]
    return graph


def unsafe(text: str) -> list[str]:
    """Characters a terminal would act on (line breaks aside)."""
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def test_printable_escapes_every_control():
    for char in CONTROLS:
        shown = printable(f"a{char}b")
        assert not unsafe(shown) and shown.startswith("a\\") and shown.endswith("b"), repr(char)
    assert printable("\x1b[2J") == "\\x1b[2J"
    assert printable("conv2d_1 ü 中") == "conv2d_1 ü 中"


def test_rendered_diff_shows_names_as_text():
    a, b = evil_graph(4), evil_graph(4)
    b.nodes[b.outputs[0]].attrs = REGISTRY.get("dense").attrs.model_validate({"units": 5})
    result = diff(a, b)
    assert not result.identical
    for terminal in (False, True):
        out = io.StringIO()
        console = Console(file=out, width=400, force_terminal=terminal, color_system=None)
        console.print(render(result))
        text = out.getvalue()
        assert not unsafe(text)
        assert "\\x1b[2J" in text and "model\\x1b[2J[bold]" in text
        for markup in MARKUP:  # in stage names, shown exactly as written
            assert f"s{MARKUP.index(markup)}{markup}" in text


def test_command_line_output_of_hostile_keras_files(tmp_path):
    def model(units):
        inputs = keras.Input((4,), name="in\x1b]0;title\x07")
        out = layers.Dense(units, name="[red]x\x1b[2J\u202e\x07")(inputs)
        return keras.Model(inputs, out, name="evil\x1b[31m[bold]")

    model(2).save(tmp_path / "a.keras")
    model(3).save(tmp_path / "b.keras")
    args = ["diff", str(tmp_path / "a.keras"), str(tmp_path / "b.keras")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert not unsafe(result.output)
    assert "~ [red]x\\x1b[2J\\u202e\\x07: units: 2 -> 3" in result.output
    data = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert data["changes"][0]["where"] == "[red]x\x1b[2J\u202e\x07"
