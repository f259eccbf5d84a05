"""`archspec diff` output: readable text (coloured on a terminal) or JSON.

Names and values come from the files compared, so every piece of text is a rich
``Text`` (never parsed as ``[markup]``) and shown through :func:`printable`
(escape sequences are written out, never sent raw to the terminal).
"""

from __future__ import annotations

from typing import Any

from archspec.analysis.stats import Totals
from archspec.compare.diff import Change, Diff
from archspec.errors import printable

_SYMBOL = {"added": "+", "removed": "-", "repeats": "#"}
_STYLE = {"added": "green", "removed": "red", "repeats": "cyan"}


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    return str(value)


def change_line(c: Change) -> tuple[str, str]:
    """(style, text) of one change, safe to print."""
    style = _STYLE.get(c.kind, "yellow")
    symbol = _SYMBOL.get(c.kind, "~")
    if c.kind == "repeats":
        delta = c.b - c.a
        sign = "+" if delta > 0 else ""
        text = f"{c.where}: {c.a} -> {c.b} ({sign}{delta}: {c.attribute})"
    elif c.kind in ("added", "removed"):
        text = f"{c.kind} {c.where} ({c.a})"
    elif c.kind == "attribute":
        text = f"{c.where}: {c.attribute}: {_value(c.a)} -> {_value(c.b)}"
    else:
        text = f"{c.where}: {c.kind}: {_value(c.a)} -> {_value(c.b)}"
    return style, printable(f"{symbol} {text}")


def _num(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _delta(a: int | None, b: int | None) -> str:
    if a is None or b is None:
        return "?"
    d = b - a
    return "0" if d == 0 else f"{d:+,}"


def render(result: Diff) -> Any:
    """A rich renderable: header, changes, and a table of per-stage and total figures."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [
        Text(printable(f"a: {result.a}"), style="red"),
        Text(printable(f"b: {result.b}"), style="green"),
        Text(f"layers paired by {result.alignment}; ", style="dim")
        + Text(
            "identical"
            if result.identical
            else f"{len(result.changes)} change{'s' if len(result.changes) != 1 else ''}",
            style="bold",
        ),
    ]
    for change in result.changes:
        style, text = change_line(change)
        parts.append(Text(text, style=style))
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("stage", no_wrap=True)
    for title in ("params a", "params b", "delta", "MACs a", "MACs b", "delta"):
        table.add_column(title, justify="right", no_wrap=True)

    def row(name: str, fa: Totals, fb: Totals, style: str | None = None) -> None:
        cells = (
            printable(name), _num(fa.params), _num(fb.params), _delta(fa.params, fb.params),
            _num(fa.macs), _num(fb.macs), _delta(fa.macs, fb.macs),
        )  # fmt: skip
        table.add_row(*(Text(cell) for cell in cells), style=style)

    for name, fa, fb in result.stages:
        row(name, fa, fb, None if (fa.params, fa.macs) == (fb.params, fb.macs) else "yellow")
    table.add_section()
    row("total", result.totals["a"], result.totals["b"], "bold")
    parts.append(table)
    return Group(*parts)
