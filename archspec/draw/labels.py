"""The text of a box, the same in every format: name; kind and shape; parameters and MACs.

Figures are in human units (``25.6M``, ``4.1G``) so a box stays narrow; the exact
counts are in ``archspec info``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archspec.ir.graph import Shape
from archspec.table import human

if TYPE_CHECKING:
    from archspec.draw.blocks import Box


def shape_text(shape: Shape) -> str:
    """``(56, 56, 256)``, with ``?`` for an unknown size, as ``info`` writes shapes."""
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def short_range(first: str, last: str) -> str:
    """``conv2_block1 … block6``: the last name without the part both names share.

    Names are compared by ``_``-separated words; a shared word is kept before a bare
    number (``stage_0_block_0 … block_2``), and nothing is cut when the first name would
    be cut whole (``cbr … cbr_2``).
    """
    a, b = first.split("_"), last.split("_")
    common = 0
    while common < min(len(a), len(b)) - 1 and a[common] == b[common]:
        common += 1
    if common and b[common:] and "_".join(b[common:]).isdigit():
        common -= 1
    return f"{first} … {'_'.join(b[common:])}"


@dataclass(frozen=True)
class BoxText:
    """The three lines of a box, with the pieces a reader (or a test) looks for."""

    name: str
    kind: str
    shape: str
    params: str
    macs: str

    @property
    def info(self) -> str:
        return f"{self.kind} · {self.shape}"

    @property
    def figures(self) -> str:
        return f"{self.params} · {self.macs}"

    @property
    def lines(self) -> tuple[str, str, str]:
        return (self.name, self.info, self.figures)


def box_text(box: Box) -> BoxText:
    kind = box.kind if box.count == 1 else f"{box.kind} ×{box.count}"
    return BoxText(
        name=box.name,
        kind=kind,
        shape=shape_text(box.output_shape),
        params=f"{human(box.params)} params",
        macs=f"{human(box.macs)} MACs",
    )


def tooltip(box: Box) -> str:
    """Exact figures, for the hover text of an SVG box."""
    macs = "?" if box.macs is None else f"{box.macs:,}"
    return (
        f"{box.name}\n{box.layers:,} layers\n{box.params:,} parameters "
        f"({box.non_trainable_params:,} non-trainable)\n{macs} MACs"
    )
