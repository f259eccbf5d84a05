"""Which writer a file name asks for, and writing a view in that format.

``.svg`` and ``.png`` are laid out here (:mod:`archspec.draw.layout`); ``.dot`` and
``.mmd`` are graph text that Graphviz or Mermaid lay out themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archspec.draw.blocks import BlockView

#: output format by file suffix
FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".mmd": "mermaid"}


def format_of(path: Path) -> str | None:
    """The format ``path``'s suffix asks for (``svg``, ``png``, ``dot``, ``mermaid``)."""
    return FORMATS.get(path.suffix.lower())


@dataclass
class Written:
    """What a writer produced: the image's size in pixels, for an image."""

    width: int | None = None
    height: int | None = None


def write(view: BlockView, fmt: str, path: str) -> Written:
    """Write ``view`` as ``fmt`` to ``path`` (a temporary file the caller renames)."""
    if fmt == "dot":
        from archspec.draw.dot import dot_text

        Path(path).write_text(dot_text(view), encoding="utf-8")
        return Written()
    if fmt == "mermaid":
        from archspec.draw.mermaid import mermaid_text

        Path(path).write_text(mermaid_text(view), encoding="utf-8")
        return Written()
    from archspec.draw.layout import lay_out

    drawing = lay_out(view)
    if fmt == "svg":
        from archspec.draw.svg import svg_text

        Path(path).write_text(svg_text(drawing), encoding="utf-8")
        return Written(round(drawing.width), round(drawing.height))
    from archspec.draw.png import png_image

    image = png_image(drawing)
    image.save(path, format="PNG")
    return Written(*image.size)
