"""Static output-shape rules, written to agree with Keras 3 for channels-last tensors.

Shapes leave out the batch axis; an unknown size is None and stays None through the
rules. A rule raises :class:`ShapeError` when Keras would refuse the layer, so such
specs are rejected at the line that is wrong, before any framework is imported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from archspec.ir.graph import Shape


class ShapeError(ValueError):
    """A layer cannot take the shape(s) it is given."""


def feature_axis(axis: int, rank: int) -> int:
    """Index into a shape without the batch axis of Keras's ``axis`` (which counts the batch).

    ``axis=-1`` and ``axis=3`` both name the channels of an image tensor, index 2 here.
    """
    index = axis + rank if axis < 0 else axis - 1
    if not 0 <= index < rank:
        raise ShapeError(f"axis {axis} is not a feature axis of a {rank + 1}-D tensor")
    return index


def pair(value: Any) -> tuple[int, int]:
    """A (height, width) pair from one number or two."""
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


def fmt(shape: Shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _need_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        raise ShapeError(
            f"{what} needs a {rank}-D input (height, width, channels), got {fmt(shape)}"
        )


def _window(
    size: int | None, kernel: int, stride: int, padding: str, dilation: int = 1
) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    span = dilation * (kernel - 1) + 1
    out = (size - span) // stride + 1
    if out < 1:
        raise ShapeError(
            f"a {kernel}x{kernel} window{' (dilated)' if dilation > 1 else ''} does not fit in "
            f"a spatial size of {size} with `valid` padding"
        )
    return out


def spatial(shape: Shape, attrs: Any, kernel_key: str, what: str) -> tuple[int | None, int | None]:
    """Height and width after a sliding window (convolution or pooling)."""
    _need_rank(shape, 3, what)
    kernel = getattr(attrs, kernel_key)
    kh, kw = pair(kernel)
    strides = getattr(attrs, "strides", None)
    sh, sw = pair(strides if strides is not None else kernel)
    dh, dw = pair(getattr(attrs, "dilation_rate", 1))
    padding = getattr(attrs, "padding", "valid")
    return (
        _window(shape[0], kh, sh, padding, dh),
        _window(shape[1], kw, sw, padding, dw),
    )


def conv(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    h, w = spatial(shape, attrs, "kernel_size", "conv2d")
    groups = getattr(attrs, "groups", 1)
    if shape[2] is not None and shape[2] % groups:
        raise ShapeError(f"{shape[2]} input channels cannot be split into {groups} groups")
    return (h, w, attrs.filters)


def depthwise(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    h, w = spatial(shape, attrs, "kernel_size", "depthwise_conv2d")
    channels = None if shape[2] is None else shape[2] * attrs.depth_multiplier
    return (h, w, channels)


def pool(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    h, w = spatial(shape, attrs, "pool_size", "pooling")
    return (h, w, shape[2])


def global_pool(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    _need_rank(shape, 3, "global pooling")
    return (1, 1, shape[2]) if attrs.keepdims else (shape[2],)


def zero_padding(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    _need_rank(shape, 3, "zero_padding2d")
    pad = attrs.padding
    if isinstance(pad, int):
        rows = cols = (pad, pad)
    elif isinstance(pad[0], int):
        rows, cols = (pad[0], pad[0]), (pad[1], pad[1])
    else:
        rows, cols = tuple(pad[0]), tuple(pad[1])
    h = None if shape[0] is None else shape[0] + sum(rows)
    w = None if shape[1] is None else shape[1] + sum(cols)
    return (h, w, shape[2])


def dense(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    # Keras would apply the layer at every position of an image; in a classifier that is
    # almost always a missing flatten, so archspec asks for a flat input
    (shape,) = inputs
    if len(shape) != 1:
        raise ShapeError(
            f"needs a flat input (features only), got {fmt(shape)}; add `flatten` or "
            "`global_average_pooling2d` before it"
        )
    return (attrs.units,)


def flatten(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    if any(d is None for d in shape):
        return (None,)
    return (math.prod(shape),)


def same(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    return shape


def batch_norm(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    feature_axis(attrs.axis, len(shape))
    return shape


def elementwise(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """Add / multiply: equal shapes, where a size of 1 broadcasts as in Keras.

    A size unknown in any input is unknown in the output, as Keras infers it: the other
    input's size is not taken on trust, since the two are only checked when the model runs.
    """
    first = inputs[0]
    if all(s == first for s in inputs):
        return first
    if len({len(s) for s in inputs}) > 1:
        raise ShapeError("inputs have different shapes: " + ", ".join(fmt(s) for s in inputs))
    out: list[int | None] = []
    for sizes in zip(*inputs, strict=True):
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError("inputs have different shapes: " + ", ".join(fmt(s) for s in inputs))
        if None in sizes:
            out.append(None)
        else:
            out.append(known.pop() if known else 1)
    return tuple(out)


def concatenate(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """Sizes add up along the axis; elsewhere they must agree, and the first input's stand.

    Keras takes the other axes from the first input, so an unknown size there stays
    unknown even when another input knows it.
    """
    rank = len(inputs[0])
    if any(len(s) != rank for s in inputs):
        raise ShapeError("inputs cannot be joined: " + ", ".join(fmt(s) for s in inputs))
    axis = feature_axis(attrs.axis, rank)
    out: list[int | None] = list(inputs[0])
    for i in range(rank):
        sizes = [s[i] for s in inputs]
        if i == axis:
            out[i] = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
        elif len({d for d in sizes if d is not None}) > 1:
            raise ShapeError(
                "inputs differ outside the joining axis: " + ", ".join(fmt(s) for s in inputs)
            )
    return tuple(out)


__all__ = ["Shape", "ShapeError", "feature_axis", "fmt", "pair"]
