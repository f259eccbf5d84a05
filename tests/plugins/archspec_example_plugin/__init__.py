"""An example op plugin: a learned scale and shift per channel, as one op.

A plugin package declares, in its packaging metadata, a function in the
``archspec.ops`` entry-point group::

    [project.entry-points."archspec.ops"]
    example = "archspec_example_plugin:ops"

The function returns :class:`archspec.ops.OpDef` entries, written exactly like the
built-in ops: an attribute model, a shape rule, a weights rule, and the Keras class
(here in this package's ``layers`` module, which only a build imports). This module
must not import Keras, so that validation and analysis stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, StrictBool

from archspec.ops import Attrs, OpDef
from archspec.ops.costs import Weight
from archspec.ops.shapes import Shape, ShapeError, fmt


class ChannelAffineAttrs(Attrs):
    """`y = x * scale + shift`, one learned scale and shift per channel."""

    use_shift: StrictBool = Field(default=True, description="Whether a shift is learned too.")


def _shape(attrs: ChannelAffineAttrs, inputs: Sequence[Shape]) -> Shape:
    shape = inputs[0]
    if not shape or shape[-1] is None:
        raise ShapeError(f"needs a known number of channels on the last axis, got {fmt(shape)}")
    return shape


def _weights(attrs: ChannelAffineAttrs, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    channels = (output[-1],)
    shift = [Weight("shift", channels)] if attrs.use_shift else []
    return [Weight("scale", channels), *shift]


def _macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    size = 1
    for d in output:
        if d is None:
            return None
        size *= d
    return size


def ops() -> list[OpDef]:
    """The ops this plugin adds (the entry point archspec calls)."""
    return [
        OpDef(
            "channel_affine",
            "ChannelAffine",
            ChannelAffineAttrs,
            _shape,
            "A learned scale and shift per channel (example plugin).",
            keras_module="archspec_example_plugin.layers",
            weights=_weights,
            macs=_macs,
        )
    ]
