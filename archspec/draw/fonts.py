"""The font boxes are measured and rasterised with: Pillow's built-in scalable font.

Pillow (10.1 on) ships a FreeType font inside its wheel, so text is measured and drawn
the same way on any machine, with no font installed. SVG viewers draw the text with
their own sans-serif font of similar widths; boxes keep a margin for the difference.
"""

from __future__ import annotations

import functools
from typing import Any

#: the box name's size, then the other lines' (pixels)
NAME_SIZE = 13
TEXT_SIZE = 12
#: what SVG viewers use; Pillow's font is a Helvetica-like sans too
FAMILY = "Helvetica, Arial, sans-serif"
#: bold text is about this much wider than regular (SVG names are bold)
BOLD = 1.12


@functools.cache
def font(size: int) -> Any:
    """Pillow's built-in font at ``size`` pixels (a fixed bitmap font without FreeType)."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def text_width(text: str, size: int, bold: bool = False) -> float:
    """Width of ``text`` in pixels."""
    face = font(size)
    width = float(face.getlength(text))
    if not hasattr(face, "size"):  # the bitmap fallback ignores the size asked for
        width *= size / 11
    return width * (BOLD if bold else 1.0)
