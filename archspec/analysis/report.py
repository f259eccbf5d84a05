"""``archspec info`` output: a table of layers and scopes, or JSON.

The table lists the hierarchy in model order: each stage or block as a row with its
summed figures, followed by its layers, indented. ``depth`` collapses it: with depth 1
only top-level scopes (stages) and top-level layers are shown.
"""

from __future__ import annotations

from typing import Any

from archspec.analysis.stats import Analysis, ScopeStats
from archspec.table import Column, render


def _shape(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _num(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def rows(analysis: Analysis, depth: int | None) -> list[tuple[int, str, Any]]:
    """(indent, kind, stats) in model order, scopes before their layers."""
    out: list[tuple[int, str, Any]] = []
    opened: set[tuple[str, ...]] = set()
    scopes = {s.scopes: s for s in analysis.scopes}
    for layer in analysis.layers:
        visible = layer.scopes if depth is None else layer.scopes[:depth]
        for d in range(1, len(visible) + 1):
            key = visible[:d]
            if key not in opened:
                opened.add(key)
                out.append((d - 1, "scope", scopes[key]))
        if depth is None or len(layer.scopes) < depth:
            out.append((len(layer.scopes), "layer", layer))
    return out


COLUMNS = (
    Column("layer / scope"),
    Column("op"),
    Column("output shape"),
    Column("params", right=True),
    Column("non-trainable", right=True),
    Column("MACs", right=True),
)


def render_table(analysis: Analysis, depth: int | None) -> str:
    """The ``info`` table as text (linear in the number of rows; no markup)."""

    def row(indent: int, kind: str, stats: Any) -> list[str]:
        pad = "  " * indent
        if kind == "scope":  # scopes show their size where layers show their op
            s: ScopeStats = stats
            name, op = s.scopes[-1], f"{s.layers:,} layers"
        else:
            name, op = stats.name, stats.label
        return [
            pad + name,
            op,
            _shape(stats.output_shape),
            _num(stats.params),
            _num(stats.non_trainable_params),
            _num(stats.macs),
        ]

    t = analysis.totals
    total = [
        "total",
        f"{t.layers:,} layers",
        _shape(t.output_shape),
        _num(t.params),
        _num(t.non_trainable_params),
        _num(t.macs),
    ]
    lines = (row(*r) for r in rows(analysis, depth))
    return render(analysis.name, COLUMNS, lines, [total])
