"""Convolutions over sequences and volumes, and transposed convolutions.

The attribute models are the 2-D ones of :mod:`archspec.ops.layers`, derived for one or
three spatial axes; only the per-axis attributes change type. This family registers
when a spec first names one of its ops (see archspec/ops/__init__.py): deriving the
models costs start-up time that an image classifier never needs.
"""

from __future__ import annotations

from typing import Literal

from archspec.ops import costs, shapes
from archspec.ops.layers import (
    _CONVS,
    _DEPTHWISE,
    _SEPARABLE,
    _TRANSPOSED,
    ConvAttrs,
    ConvTransposeAttrs,
    DepthwiseConvAttrs,
    SeparableConvAttrs,
    _f,
    _for_axes,
)
from archspec.ops.registry import REGISTRY, OpDef

Conv1DAttrs = _for_axes(
    ConvAttrs,
    1,
    padding=(
        Literal["valid", "same", "causal"],
        _f(
            "`valid` (no padding), `same` (output size = input / stride) or `causal` (zeros "
            "before the first step only, so no output sees later steps).",
            default="valid",
        ),
    ),
)
Conv3DAttrs = _for_axes(ConvAttrs, 3)
ConvTranspose1DAttrs = _for_axes(ConvTransposeAttrs, 1)
ConvTranspose3DAttrs = _for_axes(ConvTransposeAttrs, 3)
# Keras runs a strided and dilated depthwise kernel as a dilated one at stride 1, then
# keeps every stride-th position; the 2-D ops still refuse the combination
SeparableConv1DAttrs = _for_axes(SeparableConvAttrs, 1, dilation_with_strides=True)
DepthwiseConv1DAttrs = _for_axes(DepthwiseConvAttrs, 1, dilation_with_strides=True)

_OPS = [
    OpDef(
        "conv1d", "Conv1D", Conv1DAttrs, shapes.conv_rule(1, _CONVS),
        "1-D convolution over (steps, channels).",
        weights=costs.conv_weights, macs=costs.conv_macs,
    ),
    OpDef(
        "conv3d", "Conv3D", Conv3DAttrs, shapes.conv_rule(3, _CONVS),
        "3-D convolution over (depth, height, width, channels).",
        weights=costs.conv_weights, macs=costs.conv_macs,
    ),
    *(
        OpDef(
            _TRANSPOSED[axes], f"Conv{axes}DTranspose", attrs,
            shapes.conv_transpose_rule(axes, _TRANSPOSED),
            f"Transposed {axes}-D convolution (learned up-sampling).",
            aliases=(f"deconv{axes}d",), weights=costs.conv_transpose_weights,
            macs=costs.conv_transpose_macs,
        )
        for axes, attrs in (
            (1, ConvTranspose1DAttrs), (2, ConvTransposeAttrs), (3, ConvTranspose3DAttrs)
        )
    ),
    OpDef(
        "separable_conv1d", "SeparableConv1D", SeparableConv1DAttrs,
        shapes.conv_rule(1, _SEPARABLE), "Depthwise then pointwise 1-D convolution.",
        aliases=("sep_conv1d",), weights=costs.separable_weights, macs=costs.separable_macs,
    ),
    OpDef(
        "depthwise_conv1d", "DepthwiseConv1D", DepthwiseConv1DAttrs,
        shapes.depthwise_rule(1, _DEPTHWISE), "Per-channel 1-D convolution.",
        aliases=("dw_conv1d",), weights=costs.depthwise_weights, macs=costs.depthwise_macs,
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
