"""Weight and multiply-accumulate (MAC) rules, computed from shapes alone.

A weight rule lists the shapes of the weight tensors Keras creates for a layer, in
Keras's order; parameter counts are their sizes. Batch normalisation's moving mean and
variance are non-trainable weights, as Keras counts them. A weight whose size depends
on an unknown input size (None) cannot be created, by Keras or here: the rule raises
:class:`ShapeError`, so such a spec is refused at its line.

MACs follow the fvcore / ptflops convention: the multiply-accumulates of convolutions
(standard, depthwise, separable and transposed) and of dense layers; bias additions,
normalisation, activations and pooling count zero. A result is None when an unknown size (None in a
shape) makes it uncountable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from archspec.ops.shapes import (
    Shape,
    ShapeError,
    feature_axes,
    feature_axis,
    shared_axes,
    sizes,
)


class Params(NamedTuple):
    trainable: int
    non_trainable: int = 0


class Weight(NamedTuple):
    """One weight tensor a layer creates: its Keras name, shape and whether it is trained."""

    name: str
    shape: tuple[int, ...]
    trainable: bool = True


def count(weights: Sequence[Weight]) -> Params:
    """Trainable and non-trainable parameters of a layer's weights."""
    trainable = non_trainable = 0
    for weight in weights:
        size = 1
        for d in weight.shape:
            size *= d
        if weight.trainable:
            trainable += size
        else:
            non_trainable += size
    return Params(trainable, non_trainable)


def _channels(inputs: Sequence[Shape], what: str) -> int:
    channels = inputs[0][-1]
    if channels is None:
        raise ShapeError(f"the input's last axis must have a known size: it sizes the {what}")
    return channels


def _positions(output: Shape) -> int | None:
    """Spatial positions of a tensor (all but the channels), None if unknown."""
    positions = 1
    for size in output[:-1]:
        if size is None:
            return None
        positions *= size
    return positions


def no_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    return []


def zero_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    return 0


def _bias(attrs: Any, size: int) -> list[Weight]:
    return [Weight("bias", (size,))] if attrs.use_bias else []


def _kernel(attrs: Any, inputs: Sequence[Shape]) -> tuple[int, ...]:
    """The kernel's size along each spatial axis of the input (all but the channels)."""
    return sizes(attrs.kernel_size, len(inputs[0]) - 1)


def conv_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    per_group = _channels(inputs, "kernel") // attrs.groups
    kernel = Weight("kernel", (*_kernel(attrs, inputs), per_group, attrs.filters))
    return [kernel, *_bias(attrs, attrs.filters)]


def conv_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    positions = _positions(output)
    if positions is None:
        return None
    per_group = _channels(inputs, "kernel") // attrs.groups
    return positions * math.prod(_kernel(attrs, inputs)) * per_group * attrs.filters


def conv_transpose_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    """Keras keeps a transposed kernel as the forward one it transposes: filters, then
    input channels."""
    channels = _channels(inputs, "kernel")
    kernel = Weight("kernel", (*_kernel(attrs, inputs), attrs.filters, channels))
    return [kernel, *_bias(attrs, attrs.filters)]


def conv_transpose_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    """The whole kernel once per input position, as fvcore counts a transposed
    convolution: each input value is spread over a window of the output."""
    positions = _positions(inputs[0])
    if positions is None:
        return None
    kernel = math.prod(_kernel(attrs, inputs))
    return positions * kernel * _channels(inputs, "kernel") * attrs.filters


def separable_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    kernel = _kernel(attrs, inputs)
    channels = _channels(inputs, "depthwise kernel")
    pointwise = (*(1,) * len(kernel), channels * attrs.depth_multiplier, attrs.filters)
    return [
        Weight("depthwise_kernel", (*kernel, channels, attrs.depth_multiplier)),
        Weight("pointwise_kernel", pointwise),
        *_bias(attrs, attrs.filters),
    ]


def separable_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    positions = _positions(output)
    if positions is None:
        return None
    mid = _channels(inputs, "depthwise kernel") * attrs.depth_multiplier
    return positions * (math.prod(_kernel(attrs, inputs)) * mid + mid * attrs.filters)


def depthwise_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    channels = _channels(inputs, "kernel")
    kernel = Weight("kernel", (*_kernel(attrs, inputs), channels, attrs.depth_multiplier))
    return [kernel, *_bias(attrs, channels * attrs.depth_multiplier)]


def depthwise_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    positions = _positions(output)
    if positions is None:
        return None
    kernel = math.prod(_kernel(attrs, inputs))
    return positions * kernel * _channels(inputs, "kernel") * attrs.depth_multiplier


def dense_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    kernel = Weight("kernel", (_channels(inputs, "kernel"), attrs.units))
    return [kernel, *_bias(attrs, attrs.units)]


def dense_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    positions = _positions(output) if len(output) > 1 else 1
    if positions is None:
        return None
    return positions * _channels(inputs, "kernel") * attrs.units


def batch_norm_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    shape = inputs[0]
    axis = feature_axis(attrs.axis, len(shape))
    features = shape[axis]
    if features is None:
        raise ShapeError(
            f"axis {attrs.axis} must have a known size: it sizes the scale, offset and "
            "moving statistics"
        )
    learned = [name for name, on in (("gamma", attrs.scale), ("beta", attrs.center)) if on]
    return [
        *(Weight(name, (features,)) for name in learned),
        Weight("moving_mean", (features,), trainable=False),
        Weight("moving_variance", (features,), trainable=False),
    ]


def _known(shape: Shape, what: str) -> tuple[int, ...]:
    if any(d is None for d in shape):
        raise ShapeError(f"the input's {what} must have known sizes: they size the weights")
    return tuple(shape)  # type: ignore[arg-type]


def layer_norm_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    """Scale (gamma) and offset (beta) over the normalised axes.

    Keras sorts the axes as written (``[-1, 1]`` stays in that order, ``[2, 1]`` becomes
    ``[1, 2]``) and takes the weights' sizes in that order.
    """
    shape = inputs[0]
    written = [attrs.axis] if isinstance(attrs.axis, int) else sorted(attrs.axis)
    axes = feature_axes(written, len(shape))
    if attrs.rms_scaling:
        learned = ["gamma"]
    else:
        learned = [name for name, on in (("gamma", attrs.scale), ("beta", attrs.center)) if on]
    if not learned:
        return []
    sizes = _known(tuple(shape[i] for i in axes), f"axis {attrs.axis}")
    return [Weight(name, sizes) for name in learned]


def group_norm_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    shape = inputs[0]
    channels = shape[feature_axis(attrs.axis, len(shape))]
    if channels is None:
        raise ShapeError(f"axis {attrs.axis} must have a known size: it sizes the scale and offset")
    learned = [name for name, on in (("gamma", attrs.scale), ("beta", attrs.center)) if on]
    return [Weight(name, (channels,)) for name in learned]


def prelu_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    """One slope per value of the input, with each shared axis reduced to 1."""
    shared = set(shared_axes(attrs))
    shape = tuple(1 if i + 1 in shared else d for i, d in enumerate(inputs[0]))
    return [Weight("alpha", _known(shape, "axes that are not shared"))]
