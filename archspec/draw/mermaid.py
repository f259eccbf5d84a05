"""Mermaid ``flowchart TB`` text of a block view, for Markdown that renders Mermaid.

One line per box (``b3["name<br/>kind · shape<br/>params · MACs"]``), one per edge
(``b3 --> b4``), then classes that colour inputs, outputs and blocks. Text is escaped
with Mermaid's entity codes so any layer name is safe in a label.
"""

from __future__ import annotations

from archspec.draw.blocks import BlockView
from archspec.draw.labels import box_text
from archspec.draw.style import BLOCK, INPUT, LAYER, OUTPUT

#: Mermaid's default limit: a flowchart with more edges is not rendered
MERMAID_MAX_EDGES = 500

_ENTITIES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;"))


def escape(text: str) -> str:
    for char, entity in _ENTITIES:  # `#` first: the others' codes hold one
        text = text.replace(char, entity)
    return text


def mermaid_text(view: BlockView) -> str:
    out = ["flowchart TB"]
    for box in view.boxes:
        out.append(f'  {box.id}["{"<br/>".join(escape(line) for line in box_text(box).lines)}"]')
    boxes = view.boxes
    out += [f"  {boxes[u].id} --> {boxes[v].id}" for u, v in view.edges]
    for name, (fill, stroke) in (
        ("layer", LAYER),
        ("block", BLOCK),
        ("input", INPUT),
        ("output", OUTPUT),
    ):
        out.append(f"  classDef {name} fill:{fill},stroke:{stroke}")
    for name, members in (
        ("block", [b for b in boxes if b.block and not (b.input or b.output)]),
        ("input", [b for b in boxes if b.input]),
        ("output", [b for b in boxes if b.output and not b.input]),
    ):
        if members:
            out.append(f"  class {','.join(b.id for b in members)} {name}")
    out.append("")
    return "\n".join(out)
