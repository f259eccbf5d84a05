"""Static output-shape rules, written to agree with Keras 3 for channels-last tensors.

Shapes leave out the batch axis; an unknown size is None and stays None through the
rules. A rule raises :class:`ShapeError` when Keras would refuse the layer, so such
specs are rejected at the line that is wrong, before any framework is imported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


def sizes(value: Any, axes: int) -> tuple[int, ...]:
    """One size per spatial axis from one number for all or one number per axis."""
    if isinstance(value, int):
        return (value,) * axes
    return tuple(int(v) for v in value)


def fmt(shape: Shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _need_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        raise ShapeError(f"{what} needs a {rank}-D input ({_volume(rank)}), got {fmt(shape)}")


def _window(
    size: int | None, kernel: int, stride: int, padding: str, dilation: int = 1, axes: int = 2
) -> int | None:
    if size is None:
        return None
    if padding in ("same", "causal"):  # causal pads the start only, by as much as `same`
        return math.ceil(size / stride)
    span = dilation * (kernel - 1) + 1
    out = (size - span) // stride + 1
    if out < 1:
        window = f"{kernel}-step" if axes == 1 else "x".join([str(kernel)] * axes)
        raise ShapeError(
            f"a {window} window{' (dilated)' if dilation > 1 else ''} does not fit in "
            f"a spatial size of {size} with `valid` padding"
        )
    return out


def windows(
    shape: Shape, attrs: Any, kernel_key: str, what: str, axes: int
) -> tuple[int | None, ...]:
    """The first ``axes`` sizes after a sliding window (convolution or pooling)."""
    _need_rank(shape, axes + 1, what)
    kernel = getattr(attrs, kernel_key)
    strides = getattr(attrs, "strides", None)
    return tuple(
        _window(size, k, s, getattr(attrs, "padding", "valid"), d, axes)
        for size, k, s, d in zip(
            shape[:-1],
            sizes(kernel, axes),
            sizes(strides if strides is not None else kernel, axes),
            sizes(getattr(attrs, "dilation_rate", 1), axes),
            strict=True,
        )
    )


#: what an input of 1, 2 or 3 spatial axes (and channels) holds
_KINDS = {1: "a sequence", 2: "an image", 3: "a volume"}


def _need_spatial_rank(shape: Shape, axes: int, family: Mapping[int, str]) -> None:
    """Refuse an input without ``axes`` spatial axes and channels, naming the op of the
    same family that takes it (``conv2d`` for an image given to ``conv1d``)."""
    if len(shape) == axes + 1:
        return
    other = family.get(len(shape) - 1)
    hint = f", {_KINDS[len(shape) - 1]}, which `{other}` takes" if other else ""
    raise ShapeError(f"needs a {axes + 1}-D input ({_volume(axes + 1)}), got {fmt(shape)}{hint}")


def conv_rule(axes: int, family: Mapping[int, str]) -> Any:
    """A convolution with ``filters`` outputs over ``axes`` spatial axes (standard,
    grouped or separable); ``family`` names the op for each number of axes."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        _need_spatial_rank(shape, axes, family)
        groups = getattr(attrs, "groups", 1)
        if shape[-1] is not None and shape[-1] % groups:
            raise ShapeError(f"{shape[-1]} input channels cannot be split into {groups} groups")
        return (*windows(shape, attrs, "kernel_size", family[axes], axes), attrs.filters)

    return rule


def depthwise_rule(axes: int, family: Mapping[int, str]) -> Any:
    """A depthwise convolution: ``depth_multiplier`` outputs per input channel."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        _need_spatial_rank(shape, axes, family)
        channels = None if shape[-1] is None else shape[-1] * attrs.depth_multiplier
        return (*windows(shape, attrs, "kernel_size", family[axes], axes), channels)

    return rule


def conv_transpose_rule(axes: int, family: Mapping[int, str]) -> Any:
    """A transposed convolution: each axis grows by about the stride, as Keras computes it."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        _need_spatial_rank(shape, axes, family)
        padding = attrs.output_padding
        grown = (
            _transposed(size, kernel, stride, attrs.padding, extra, dilation)
            for size, kernel, stride, extra, dilation in zip(
                shape[:-1],
                sizes(attrs.kernel_size, axes),
                sizes(attrs.strides, axes),
                (None,) * axes if padding is None else sizes(padding, axes),
                sizes(attrs.dilation_rate, axes),
                strict=True,
            )
        )
        return (*grown, attrs.filters)

    return rule


def _transposed(
    size: int | None, kernel: int, stride: int, padding: str, extra: int | None, dilation: int
) -> int | None:
    """One axis after a transposed convolution, by Keras's rule, which also sizes the
    output TensorFlow is asked for (``_get_output_shape_given_tf_padding`` in
    ``keras.src.backend.common.backend_utils``).

    ``extra`` is the axis's ``output_padding``; without one (None) Keras makes
    ``size * stride`` with `same` padding and, with `valid`, adds what a stride longer
    than the kernel leaves over.
    """
    if size is None:
        return None
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        extra = max(span, stride) - span if extra is None else extra
        return (size - 1) * stride + span + extra
    if extra is None:
        return size * stride
    return (size - 1) * stride + span % 2 + extra


def spatial(shape: Shape, attrs: Any, kernel_key: str, what: str) -> tuple[int | None, int | None]:
    """Height and width after a sliding window (convolution or pooling)."""
    h, w = windows(shape, attrs, kernel_key, what, 2)
    return h, w


def pool_rule(axes: int) -> Any:
    """Max or average pooling over the first ``axes`` axes; the channels stay."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        return (*windows(shape, attrs, "pool_size", "pooling", axes), shape[-1])

    return rule


def global_pool_rule(axes: int) -> Any:
    """Average or maximum over the first ``axes`` axes, kept with size 1 or dropped."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        _need_rank(shape, axes + 1, "global pooling")
        return (*(1,) * axes, shape[-1]) if attrs.keepdims else (shape[-1],)

    return rule


pool = pool_rule(2)
global_pool = global_pool_rule(2)


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


def edge_pairs(value: Any, axes: int) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis from Keras's forms of padding or cropping.

    One number for every side; one number per axis (both sides), or for one axis a
    (before, after) pair; or a (before, after) pair per axis.
    """
    if isinstance(value, int):
        return ((value, value),) * axes
    if axes == 1:
        return ((int(value[0]), int(value[1])),)
    if all(isinstance(v, int) for v in value):
        return tuple((int(v), int(v)) for v in value)
    return tuple((int(a), int(b)) for a, b in value)


def _volume(rank: int) -> str:
    return {2: "steps, channels", 3: "height, width, channels"}.get(
        rank, "depth, height, width, channels"
    )


def padding_rule(axes: int, key: str, sign: int, what: str) -> Any:
    """Zero padding (sign 1) or cropping (sign -1) of the first ``axes`` axes."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if len(shape) != axes + 1:
            raise ShapeError(f"needs a {axes + 1}-D input ({_volume(axes + 1)}), got {fmt(shape)}")
        out: list[int | None] = []
        for size, (before, after) in zip(
            shape[:-1], edge_pairs(getattr(attrs, key), axes), strict=True
        ):
            if size is None:
                out.append(None)
                continue
            new = size + sign * (before + after)
            if new < 1:
                raise ShapeError(
                    f"{what} of {before} + {after} leaves nothing of an axis of size {size}"
                )
            out.append(new)
        return (*out, shape[-1])

    return rule


def up_sampling_rule(axes: int) -> Any:
    """Repeats each of the first ``axes`` axes ``size`` times."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        if len(shape) != axes + 1:
            raise ShapeError(f"needs a {axes + 1}-D input ({_volume(axes + 1)}), got {fmt(shape)}")
        factors = sizes(attrs.size, axes)
        out = [None if d is None else d * f for d, f in zip(shape[:-1], factors, strict=True)]
        return (*out, shape[-1])

    return rule


def dense(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """Keras applies the kernel to the last axis, at every position of the others."""
    (shape,) = inputs
    if not shape:
        raise ShapeError("needs an input with at least one axis besides the batch")
    return (*shape[:-1], attrs.units)


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


def feature_axes(axis: int | Sequence[int], rank: int) -> list[int]:
    """Indices into a shape without the batch axis of one Keras axis or several."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    indices = [feature_axis(a, rank) for a in axes]
    if len(set(indices)) != len(indices):
        raise ShapeError(f"axis {list(axes)} names the same axis twice")
    return indices


def normalization(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """Layer / unit normalisation and softmax: the axes must exist; the shape stays."""
    (shape,) = inputs
    feature_axes(attrs.axis, len(shape))
    return shape


def group_norm(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    channels = shape[feature_axis(attrs.axis, len(shape))]
    if channels is not None:
        if attrs.groups > channels:
            raise ShapeError(f"{attrs.groups} groups are more than the {channels} channels")
        if channels % attrs.groups:
            raise ShapeError(f"{channels} channels cannot be split into {attrs.groups} groups")
    return shape


def shared_axes(attrs: Any) -> tuple[int, ...]:
    """PReLU's shared axes as a tuple (Keras takes one number or a list)."""
    axes = attrs.shared_axes
    if axes is None:
        return ()
    return (axes,) if isinstance(axes, int) else tuple(axes)


def prelu(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    for axis in shared_axes(attrs):
        if not 1 <= axis <= len(shape):
            raise ShapeError(
                f"shared axis {axis} is not a feature axis of a {len(shape) + 1}-D tensor "
                f"(they count from 1, after the batch axis)"
            )
    return shape


def _need_rank_of(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        raise ShapeError(f"needs a {rank}-D input ({what}), got {fmt(shape)}")


def reshape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """The target shape, its one -1 filled in; the number of values must not change."""
    (shape,) = inputs
    target = list(attrs.target_shape)
    known = math.prod(d for d in target if d != -1)
    size = None if None in shape else math.prod(shape)  # type: ignore[arg-type]
    if -1 in target:
        at = target.index(-1)
        if size is None:
            target[at] = None
        elif size % known:
            raise ShapeError(
                f"cannot reshape {fmt(shape)} ({size:,} values) into {fmt(attrs.target_shape)}: "
                f"{size:,} is not a multiple of {known:,}"
            )
        else:
            target[at] = size // known
    elif size is not None and size != known:
        raise ShapeError(
            f"cannot reshape {fmt(shape)} ({size:,} values) into {fmt(target)} ({known:,} values)"
        )
    elif size is None:
        # the unknown sizes multiply the known ones: no input fits unless they divide the target
        part = math.prod(d for d in shape if d is not None)
        if known % part:
            raise ShapeError(
                f"cannot reshape {fmt(shape)} into {fmt(target)}: {known:,} values are not a "
                f"multiple of the {part:,} the known sizes give"
            )
    return tuple(target)


def permute(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    if len(attrs.dims) != len(shape):
        raise ShapeError(
            f"`dims` {list(attrs.dims)} orders {len(attrs.dims)} axes, and the input "
            f"{fmt(shape)} has {len(shape)}"
        )
    return tuple(shape[d - 1] for d in attrs.dims)


def repeat_vector(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    (shape,) = inputs
    _need_rank_of(shape, 1, "features only")
    return (attrs.n, shape[0])


def spatial_dropout(rank: int, what: str) -> Any:
    """A shape rule for an input of ``rank`` axes, the last one the channels."""

    def rule(attrs: Any, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        _need_rank_of(shape, rank, what)
        return shape

    return rule


def dropout(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """The shape stays; a noise shape gives each axis, batch first, its size or 1."""
    (shape,) = inputs
    noise = getattr(attrs, "noise_shape", None)
    if noise is None:
        return shape
    if len(noise) != len(shape) + 1:
        raise ShapeError(
            f"`noise_shape` {_noise(noise)} has {len(noise)} entries; the input "
            f"{fmt(shape)} needs {len(shape) + 1}, the batch axis first"
        )
    if noise[0] not in (None, 1):
        raise ShapeError(
            f"`noise_shape` {_noise(noise)} gives the batch axis the size {noise[0]}; "
            "it must be null (the batch's size) or 1"
        )
    for i, (n, d) in enumerate(zip(noise[1:], shape, strict=True), start=1):
        if n is not None and d is not None and n not in (1, d):
            raise ShapeError(
                f"`noise_shape` {_noise(noise)} gives axis {i} the size {n}; it must be "
                f"1, null or the input's size, and the input is {fmt(shape)}"
            )
    return shape


def _noise(noise: Sequence[int | None]) -> str:
    return "[" + ", ".join("null" if n is None else str(n) for n in noise) + "]"


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
