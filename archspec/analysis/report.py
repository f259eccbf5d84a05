"""``archspec info`` output: a rich table of layers and scopes, or JSON.

The table lists the hierarchy in model order: each stage or block as a row with its
summed figures, followed by its layers, indented. ``depth`` collapses it: with depth 1
only top-level scopes (stages) and top-level layers are shown.
"""

from __future__ import annotations

from typing import Any

from archspec.analysis.stats import Analysis, LayerStats, ScopeStats


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


def render_table(analysis: Analysis, depth: int | None) -> Any:
    from rich.table import Table

    table = Table(title=f"{analysis.name}", title_justify="left", show_lines=False)
    # figures are never cut or wrapped; only the op column may shrink
    table.add_column("layer / scope", no_wrap=True)
    table.add_column("op", overflow="ellipsis", no_wrap=True)
    table.add_column("output shape", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("non-trainable", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    for indent, kind, stats in rows(analysis, depth):
        pad = "  " * indent
        if kind == "scope":
            s: ScopeStats = stats
            table.add_row(
                f"{pad}[bold]{s.scopes[-1]}[/bold]",
                f"[dim]{s.layers} layers[/dim]",  # scopes show their size as the op
                _shape(s.output_shape),
                _num(s.params),
                _num(s.non_trainable_params),
                _num(s.macs),
            )
        else:
            layer: LayerStats = stats
            table.add_row(
                f"{pad}{layer.name}",
                layer.op,
                _shape(layer.output_shape),
                _num(layer.params),
                _num(layer.non_trainable_params),
                _num(layer.macs),
            )
    t = analysis.totals
    table.add_section()
    table.add_row(
        "[bold]total[/bold]",
        f"{t.layers} layers",
        _shape(t.output_shape),
        _num(t.params),
        _num(t.non_trainable_params),
        _num(t.macs),
    )
    return table
