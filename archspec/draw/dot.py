"""Graphviz DOT text of a block view, for ``dot -Tsvg`` or any tool that reads DOT.

Nodes are the boxes (``b0``, ``b1``, ... in model order) with the three lines of a box
as their label, the exact figures as their tooltip, and the box's kind and repeat count
as attributes; edges are the connections between boxes. Graphviz lays it out itself, so
nothing is placed here.
"""

from __future__ import annotations

from archspec.draw.blocks import BlockView
from archspec.draw.fonts import FAMILY
from archspec.draw.labels import box_text, tooltip
from archspec.draw.layout import title
from archspec.draw.style import EDGE, colours


def quote(text: str) -> str:
    """A DOT string: quotes and backslashes escaped (``\\n`` would otherwise be a line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def label(lines: tuple[str, ...]) -> str:
    """A centred multi-line DOT label."""
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines) + '"'


def dot_text(view: BlockView) -> str:
    font = quote(FAMILY.split(",")[0])
    out = [
        f"digraph {quote(view.name)} {{",
        f"  graph [rankdir=TB, labelloc=t, label={quote(title(view))}, fontname={font}];",
        f'  node [shape=box, style="rounded,filled", fontname={font}, fontsize=11];',
        f'  edge [color="{EDGE}", arrowsize=0.7];',
    ]
    for box in view.boxes:
        fill, stroke = colours(box)
        marks = [m for m, on in (("input", box.input), ("output", box.output)) if on]
        attrs = [
            f"label={label(box_text(box).lines)}",
            f"tooltip={label(tuple(tooltip(box).splitlines()))}",
            f"kind={quote(box.kind)}",
            f"count={box.count}",
            f'fillcolor="{fill}"',
            f'color="{stroke}"',
        ]
        if marks:
            attrs.append(f"class={quote(' '.join(marks))}")
        if box.output:
            attrs.append("peripheries=2")
        out.append(f"  {box.id} [{', '.join(attrs)}];")
    boxes = view.boxes
    out += [f"  {boxes[u].id} -> {boxes[v].id};" for u, v in view.edges]
    out += ["}", ""]
    return "\n".join(out)
