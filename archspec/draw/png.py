"""A PNG of a laid-out drawing: the SVG's picture, rasterised with Pillow.

The same boxes, colours and curves as :mod:`archspec.draw.svg`, drawn directly with
Pillow's built-in font, so no SVG renderer, Cairo or system font is needed. The image is
drawn at twice the SVG's size for sharp text, less for a drawing so large that the image
would pass :data:`MAX_SIDE` pixels on a side or :data:`MAX_PIXELS` in all.
"""

from __future__ import annotations

import math
from typing import Any

from archspec.draw.fonts import NAME_SIZE, TEXT_SIZE, font
from archspec.draw.layout import LINE, MARGIN, PAD_Y, Drawing, Placed, Point
from archspec.draw.style import BACKGROUND, EDGE, MUTED, TEXT, colours
from archspec.draw.svg import STACK

#: pixels per SVG unit, at most
SCALE = 2.0
#: longest side, and most pixels, of an image (viewers refuse 32,768 pixels on a side)
MAX_SIDE = 32_000
MAX_PIXELS = 40_000_000


def scale_for(width: float, height: float) -> float:
    """The scale a drawing of ``width`` x ``height`` is rasterised at."""
    return min(
        SCALE,
        MAX_SIDE / max(width, 1.0),
        MAX_SIDE / max(height, 1.0),
        math.sqrt(MAX_PIXELS / max(width * height, 1.0)),
    )


def _bezier(points: list[Point], s: float) -> list[Point]:
    """Points along the S-curves of :func:`archspec.draw.svg.curve`, scaled by ``s``."""
    out = [(points[0][0] * s, points[0][1] * s)]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if abs(x1 - x0) < 0.5:  # straight down
            out.append((x1 * s, y1 * s))
            continue
        mid = (y0 + y1) / 2
        steps = max(2, min(24, int(math.hypot(x1 - x0, y1 - y0) * s / 6)))
        for i in range(1, steps + 1):
            t = i / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
            out.append(
                ((a * x0 + b * x0 + c * x1 + d * x1) * s, (a * y0 + (b + c) * mid + d * y1) * s)
            )
    return out


#: characters Pillow's built-in font lacks, drawn as the nearest ASCII
_ASCII = str.maketrans({"×": "x", "–": "-", "→": "->"})


#: text smaller than this (pixels) is not drawn: nobody can read it, and it is slow
MIN_TEXT = 5


def _text(draw: Any, x: float, y: float, text: str, size: int, fill: str, bold: bool) -> None:
    if size < MIN_TEXT:
        return
    face = font(size)
    text = text.translate(_ASCII)
    if hasattr(face, "size"):  # FreeType: anchored at the middle of the baseline
        draw.text((x, y), text, font=face, fill=fill, anchor="ms")
        if bold:
            draw.text((x + max(1, size // 14), y), text, font=face, fill=fill, anchor="ms")
    else:
        width = draw.textlength(text, font=face)
        draw.text((x - width / 2, y - 10), text, font=face, fill=fill)


def _box(draw: Any, p: Placed, s: float) -> None:
    fill, stroke = colours(p.box)
    radius = 6 * s
    line = max(1, round(1.2 * s))
    if p.box.count > 1:
        for k in (2, 1):
            o = k * STACK
            rect = [(p.x + o) * s, (p.y + o) * s, (p.x + o + p.width) * s, (p.bottom + o) * s]
            draw.rounded_rectangle(rect, radius=radius, fill=fill, outline=stroke, width=line)
    rect = [p.x * s, p.y * s, (p.x + p.width) * s, p.bottom * s]
    draw.rounded_rectangle(rect, radius=radius, fill=fill, outline=stroke, width=line)
    cx = p.center * s
    for i, (text, size, colour, bold) in enumerate(
        (
            (p.text.name, NAME_SIZE, TEXT, True),
            (p.text.info, TEXT_SIZE, MUTED, False),
            (p.text.figures, TEXT_SIZE, MUTED, False),
        )
    ):
        baseline = (p.y + PAD_Y + LINE * (i + 1) - 4) * s
        _text(draw, cx, baseline, text, max(1, round(size * s)), colour, bold)


def png_image(drawing: Drawing) -> Any:
    """The drawing as a Pillow image."""
    from PIL import Image, ImageDraw

    s = scale_for(drawing.width, drawing.height)
    size = (max(1, round(drawing.width * s)), max(1, round(drawing.height * s)))
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    width = max(1, round(1.3 * s))
    head = 7 * s
    for route in drawing.routes:
        points = _bezier(route.points, s)
        draw.line(points, fill=EDGE, width=width)
        x, y = points[-1]
        draw.polygon([(x, y), (x - head / 2, y - head), (x + head / 2, y - head)], fill=EDGE)
    for placed in drawing.boxes:
        _box(draw, placed, s)
    heading = font(max(1, round(NAME_SIZE * s)))
    if hasattr(heading, "size"):
        draw.text(
            (MARGIN * s, (MARGIN + NAME_SIZE) * s),
            drawing.title,
            font=heading,
            fill=TEXT,
            anchor="ls",
        )
    else:
        draw.text((MARGIN * s, MARGIN * s), drawing.title, font=heading, fill=TEXT)
    return image
