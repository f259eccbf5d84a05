"""A standalone SVG of a laid-out drawing.

Each box is a ``<g class="box ...">`` with ``id`` the box's id (``b3``), ``data-name``
its name, a ``<title>`` with the exact figures (a viewer's hover text), a ``<rect>``
and three ``<text>`` lines: ``name``; ``info`` holding the ``kind`` and ``shape``
tspans; ``figures`` holding the ``params`` and ``macs`` tspans. Each edge is a
``<path class="edge">`` with ``data-from`` and ``data-to`` box ids. Colours are
attributes, not CSS, so every viewer shows them.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from archspec.draw.fonts import FAMILY, NAME_SIZE, TEXT_SIZE
from archspec.draw.labels import tooltip
from archspec.draw.layout import LINE, MARGIN, PAD_Y, Drawing, Placed, Point
from archspec.draw.style import BACKGROUND, EDGE, MUTED, TEXT, classes, colours

#: how far the stacked copies behind a repeated block show
STACK = 4


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def curve(points: list[Point]) -> str:
    """An SVG path through ``points``, each step an S-curve leaving and arriving vertically."""
    (x, y), rest = points[0], points[1:]
    parts = [f"M{_n(x)},{_n(y)}"]
    for nx, ny in rest:
        mid = (y + ny) / 2
        parts.append(f"C{_n(x)},{_n(mid)} {_n(nx)},{_n(mid)} {_n(nx)},{_n(ny)}")
        x, y = nx, ny
    return " ".join(parts)


def _box(p: Placed) -> list[str]:
    box, text = p.box, p.text
    fill, stroke = colours(box)
    out = [
        f'<g class="{classes(box)}" id={quoteattr(box.id)} data-name={quoteattr(box.name)}>',
        f"<title>{escape(tooltip(box))}</title>",
    ]
    if box.count > 1:  # a stack of cards: this block, repeated
        for k in (2, 1):
            out.append(
                f'<rect x="{_n(p.x + k * STACK)}" y="{_n(p.y + k * STACK)}" '
                f'width="{_n(p.width)}" height="{_n(p.height)}" rx="6" fill="{fill}" '
                f'stroke="{stroke}"/>'
            )
    out.append(
        f'<rect x="{_n(p.x)}" y="{_n(p.y)}" width="{_n(p.width)}" height="{_n(p.height)}" '
        f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
    )
    cx = _n(p.center)

    def baseline(line: int) -> str:
        return _n(p.y + PAD_Y + LINE * (line + 1) - 4)

    out += [
        f'<text class="name" x="{cx}" y="{baseline(0)}" font-size="{NAME_SIZE}" '
        f'font-weight="bold" fill="{TEXT}">{escape(text.name)}</text>',
        f'<text class="info" x="{cx}" y="{baseline(1)}" fill="{MUTED}">'
        f'<tspan class="kind">{escape(text.kind)}</tspan> · '
        f'<tspan class="shape">{escape(text.shape)}</tspan></text>',
        f'<text class="figures" x="{cx}" y="{baseline(2)}" fill="{MUTED}">'
        f'<tspan class="params">{escape(text.params)}</tspan> · '
        f'<tspan class="macs">{escape(text.macs)}</tspan></text>',
        "</g>",
    ]
    return out


def svg_text(drawing: Drawing) -> str:
    """The whole SVG document."""
    w, h = _n(drawing.width), _n(drawing.height)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family={quoteattr(FAMILY)} font-size="{TEXT_SIZE}" '
        'text-anchor="middle">',
        f"<title>{escape(drawing.view.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/>'
        "</marker></defs>",
        f'<rect class="background" width="100%" height="100%" fill="{BACKGROUND}"/>',
        f'<text class="title" x="{MARGIN}" y="{MARGIN + NAME_SIZE}" font-size="{NAME_SIZE}" '
        f'font-weight="bold" text-anchor="start" fill="{TEXT}">{escape(drawing.title)}</text>',
        f'<g class="edges" fill="none" stroke="{EDGE}" stroke-width="1.3">',
    ]
    boxes = drawing.boxes
    for route in drawing.routes:
        out.append(
            f'<path class="edge" data-from="{boxes[route.source].box.id}" '
            f'data-to="{boxes[route.target].box.id}" d="{curve(route.points)}" '
            'marker-end="url(#arrow)"/>'
        )
    out.append("</g>")
    out.append('<g class="boxes">')
    for placed in boxes:
        out += _box(placed)
    out += ["</g>", "</svg>", ""]
    return "\n".join(out)
