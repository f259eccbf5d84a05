"""The layers keras.applications defines for itself, as first-class ops.

ConvNeXt scales each residual branch by a learned per-channel factor (``LayerScale``)
and may drop whole branches in training (``StochasticDepth``); InceptionResNetV2 adds
a branch scaled by a constant to its shortcut (``CustomScaleLayer``). They are not in
``keras.layers``, so a spec can only match those models exactly through these ops,
which emit the very classes keras.applications uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, StrictInt

from archspec.ops import costs, shapes
from archspec.ops.arithmetic import broadcast
from archspec.ops.registry import REGISTRY, Attrs, OpDef
from archspec.ops.shapes import Shape, ShapeError, fmt

Float = Annotated[float, Field(allow_inf_nan=False)]


class LayerScaleAttrs(Attrs):
    """A learned factor per channel, starting at ``init_values``."""

    init_values: Float = Field(description="Initial value of every factor (ConvNeXt: 1e-6).")
    projection_dim: Annotated[StrictInt, Field(gt=0)] = Field(
        description="Channels of the input (the last axis), one factor each."
    )


class StochasticDepthAttrs(Attrs):
    """Drops the whole branch for an example in training, with this probability."""

    drop_path_rate: Annotated[Float, Field(ge=0, lt=1)] = Field(
        description="Probability that a branch is dropped, from 0 up to (not including) 1."
    )


class ScaledResidualAttrs(Attrs):
    """``inputs[0] + inputs[1] * scale``: a shortcut plus a scaled branch."""

    inputs: Annotated[list[str], Field(min_length=2, max_length=2)] = Field(
        description="The shortcut, then the branch that is scaled."
    )
    scale: Float = Field(description="Factor on the branch (InceptionResNetV2: 0.17 to 1.0).")


def layer_scale_shape(attrs: LayerScaleAttrs, inputs: Sequence[Shape]) -> Shape:
    """The input's shape; its last axis must hold ``projection_dim`` channels.

    Keras would broadcast a last axis of 1 up to the factors (a wider output than
    input), and fail at run time on any other size, so only the exact size is taken.
    """
    shape = inputs[0]
    if not shape or shape[-1] != attrs.projection_dim:
        last = "none" if not shape else "unknown" if shape[-1] is None else shape[-1]
        raise ShapeError(
            f"`projection_dim` is {attrs.projection_dim}, but the input {fmt(shape)} has "
            f"{last} channels on its last axis"
        )
    return shape


def layer_scale_weights(attrs: LayerScaleAttrs, inputs: Sequence[Shape], output: Shape) -> list:
    # keras.applications adds the weight without a name, so Keras calls it `variable`
    return [costs.Weight("variable", (attrs.projection_dim,))]


def scaled_residual_shape(attrs: ScaledResidualAttrs, inputs: Sequence[Shape]) -> Shape:
    """The sum's shape: Keras traces ``x + y * scale``, broadcasting as its operators do."""
    return broadcast(attrs, inputs)


_OPS = [
    OpDef(
        "layer_scale", "LayerScale", LayerScaleAttrs, layer_scale_shape,
        "ConvNeXt's learned per-channel scale of a residual branch.",
        keras_module="keras.src.applications.convnext", weights=layer_scale_weights,
    ),
    OpDef(
        "stochastic_depth", "StochasticDepth", StochasticDepthAttrs, shapes.same,
        "ConvNeXt's stochastic depth: drops a residual branch in training.",
        keras_module="keras.src.applications.convnext", shorthand="drop_path_rate",
    ),
    OpDef(
        "scaled_residual", "CustomScaleLayer", ScaledResidualAttrs, scaled_residual_shape,
        "InceptionResNetV2's shortcut plus scaled branch (`inputs[0] + inputs[1] * scale`).",
        keras_module="keras.src.applications.inception_resnet_v2", merge=True,
        aliases=("custom_scale",),
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
