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

_UNITS = ("", "K", "M", "G", "T", "P", "E")


def human(value: int | None) -> str:
    """``1234567`` as ``1.2M`` (parameters, MACs); below a thousand as is; ``?`` for an
    unknown figure."""
    if value is None:
        return "?"
    if abs(value) < 1000:
        return str(value)
    scaled, unit = float(value), 0
    while abs(scaled) >= 999.95 and unit < len(_UNITS) - 1:
        scaled /= 1000
        unit += 1
    return f"{scaled:.1f}{_UNITS[unit]}"


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


def aligned(columns: Sequence[Column], rows: Iterable[Sequence[str]], gap: str = "  ") -> list[str]:
    """Header and rows as lines of plain aligned columns, without rules or trailing spaces.

    For short listings (``list``, the weights report) that people read and grep; cells
    are escaped as in :func:`render`.
    """
    body = [[printable(cell) for cell in row] for row in ([c.header for c in columns], *rows)]
    widths = [max(len(row[i]) for row in body) for i in range(len(columns))]
    return [
        gap.join(
            cell.rjust(w) if column.right else cell.ljust(w)
            for cell, w, column in zip(row, widths, columns, strict=True)
        ).rstrip()
        for row in body
    ]
