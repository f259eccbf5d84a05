"""Parameter and multiply-accumulate (MAC) rules, computed from shapes alone.

Parameters are counted as Keras counts them: batch normalisation's moving mean and
variance are non-trainable parameters. MACs follow the fvcore / ptflops convention:
the multiply-accumulates of convolutions (standard, depthwise and separable) and of
dense layers; bias additions, normalisation, activations and pooling count zero.
A result is None when an unknown size (None in a shape) makes it uncountable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from archspec.ops.shapes import Shape, feature_axis, pair


class Params(NamedTuple):
    trainable: int
    non_trainable: int = 0


NO_PARAMS = Params(0, 0)


def _channels(inputs: Sequence[Shape]) -> int:
    channels = inputs[0][-1]
    if channels is None:
        raise ValueError("the number of input channels must be known to count parameters")
    return channels


def _positions(output: Shape) -> int | None:
    """Spatial positions of an output (height x width), None if unknown."""
    count = 1
    for size in output[:-1]:
        if size is None:
            return None
        count *= size
    return count


def none(attrs: Any, inputs: Sequence[Shape], output: Shape) -> Params:
    return NO_PARAMS


def zero_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    return 0


def conv_params(attrs: Any, inputs: Sequence[Shape], output: Shape) -> Params:
    kh, kw = pair(attrs.kernel_size)
    per_group = _channels(inputs) // attrs.groups
    return Params(kh * kw * per_group * attrs.filters + (attrs.filters if attrs.use_bias else 0))


def conv_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    kh, kw = pair(attrs.kernel_size)
    positions = _positions(output)
    if positions is None:
        return None
    return positions * kh * kw * (_channels(inputs) // attrs.groups) * attrs.filters


def separable_params(attrs: Any, inputs: Sequence[Shape], output: Shape) -> Params:
    kh, kw = pair(attrs.kernel_size)
    mid = _channels(inputs) * attrs.depth_multiplier
    bias = attrs.filters if attrs.use_bias else 0
    return Params(kh * kw * _channels(inputs) * attrs.depth_multiplier + mid * attrs.filters + bias)


def separable_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    kh, kw = pair(attrs.kernel_size)
    positions = _positions(output)
    if positions is None:
        return None
    mid = _channels(inputs) * attrs.depth_multiplier
    return positions * (kh * kw * mid + mid * attrs.filters)


def depthwise_params(attrs: Any, inputs: Sequence[Shape], output: Shape) -> Params:
    kh, kw = pair(attrs.kernel_size)
    mid = _channels(inputs) * attrs.depth_multiplier
    return Params(kh * kw * mid + (mid if attrs.use_bias else 0))


def depthwise_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    kh, kw = pair(attrs.kernel_size)
    positions = _positions(output)
    if positions is None:
        return None
    return positions * kh * kw * _channels(inputs) * attrs.depth_multiplier


def dense_params(attrs: Any, inputs: Sequence[Shape], output: Shape) -> Params:
    return Params(_channels(inputs) * attrs.units + (attrs.units if attrs.use_bias else 0))


def dense_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    positions = _positions(output) if len(output) > 1 else 1
    if positions is None:
        return None
    return positions * _channels(inputs) * attrs.units


def batch_norm_params(attrs: Any, inputs: Sequence[Shape], output: Shape) -> Params:
    features = inputs[0][feature_axis(attrs.axis, len(inputs[0]))]
    if features is None:
        raise ValueError("the normalised axis must have a known size to count parameters")
    return Params(features * (int(attrs.center) + int(attrs.scale)), 2 * features)
