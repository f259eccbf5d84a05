"""Plain-text tables for the terminal, drawn in one pass over the rows.

``info`` prints one row per layer, and a spec may have 100,000 layers: a general
layout engine (rich's tables measure every cell several times and parse markup)
took minutes for that. Here column widths are measured once and every line is
formatted directly, so the time grows linearly with the rows. Cells are plain text,
never markup, and control characters are escaped, so a layer name cannot style or
drive the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from archspec.errors import printable


@dataclass(frozen=True)
class Column:
    header: str
    #: right-aligned (figures) or left-aligned (names)
    right: bool = False


def render(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[str]],
    footer: Sequence[Sequence[str]] = (),
) -> str:
    """The table as text: a title line, a header, the rows and an optional footer section."""
    body = [[printable(cell) for cell in row] for row in rows]
    foot = [[printable(cell) for cell in row] for row in footer]
    widths = [len(c.header) for c in columns]
    for row in (*body, *foot):
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)

    def line(cells: Sequence[str], bar: str = "│") -> str:
        parts = (
            cell.rjust(w) if column.right else cell.ljust(w)
            for cell, w, column in zip(cells, widths, columns, strict=True)
        )
        return f"{bar} " + f" {bar} ".join(parts) + f" {bar}"

    def rule(left: str, middle: str, right: str, fill: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + right

    out = [printable(title), rule("┏", "┳", "┓", "━")]
    out.append(line([c.header for c in columns], "┃"))
    out.append(rule("┡", "╇", "┩", "━"))
    out.extend(line(row) for row in body)
    if foot:
        out.append(rule("├", "┼", "┤", "─"))
        out.extend(line(row) for row in foot)
    out.append(rule("└", "┴", "┘", "─"))
    return "\n".join(out) + "\n"
