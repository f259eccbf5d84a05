"""Colours shared by the image writers, so an SVG and a PNG of one model look alike."""

from __future__ import annotations

from archspec.draw.blocks import Box

BACKGROUND = "#ffffff"
TEXT = "#1f2933"
MUTED = "#52606d"
EDGE = "#7b8794"
#: (fill, stroke) of a single layer, a block, a model input and a model output
LAYER = ("#ffffff", "#9aa5b1")
BLOCK = ("#e8f1fb", "#4f7cac")
INPUT = ("#e3f4e1", "#4d8f47")
OUTPUT = ("#fdeedc", "#c7782a")


def colours(box: Box) -> tuple[str, str]:
    """(fill, stroke) of a box: inputs and outputs stand out, blocks are tinted."""
    if box.input:
        return INPUT
    if box.output:
        return OUTPUT
    return BLOCK if box.block else LAYER


def classes(box: Box) -> str:
    """The CSS classes of a box in SVG (``box block repeat output``), for styling and tests."""
    marks = ["box", "block" if box.block else "layer"]
    marks += [
        m
        for m, on in (("repeat", box.count > 1), ("input", box.input), ("output", box.output))
        if on
    ]
    return " ".join(marks)
