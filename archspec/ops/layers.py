"""The layer kinds archspec compiles, with attributes named exactly as in Keras 3.

Each entry is one :class:`OpDef`; adding a layer kind means adding one model and one
``REGISTRY.add`` call here. Attributes a spec does not set are not passed to Keras,
so Keras's own defaults apply and a compiled layer's config equals a hand-written one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from archspec.ops import costs, shapes
from archspec.ops.registry import REGISTRY, REGULARIZER_NAMES, Attrs, OpDef

#: The widest a convolution kernel may reach along one axis, dilation included
#: (``dilation_rate * (kernel_size - 1) + 1``). TensorFlow's oneDNN CPU convolution aborts
#: the whole process on kernels of 180 to 250 rows (depending on the shapes; seen with
#: batches of two or more), and a dilated kernel far wider than its input makes TensorFlow
#: pad the input by its span (a dilation of 5,000 on an 8x8 image takes half a minute).
#: Published networks stay well below it (RepLKNet's kernels: 31; DeepLab's widest
#: dilated span: 73).
MAX_KERNEL_SPAN = 128
#: The largest dropout seed: seeds run from 0 to 2**32 - 1, the range every Keras
#: backend and ``keras.utils.set_random_seed`` accept (TensorFlow fails on 2**63 and above).
MAX_SEED = 2**32 - 1

PosInt = Annotated[StrictInt, Field(gt=0)]
NonNegInt = Annotated[StrictInt, Field(ge=0)]
Size2 = PosInt | tuple[PosInt, PosInt]
Float = Annotated[float, Field(allow_inf_nan=False)]
Padding = Literal["valid", "same"]


def _refusing(reasons: dict[str, str]) -> BeforeValidator:
    """A validator refusing names Keras knows but cannot use here, each with its reason."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and value in reasons:
            raise ValueError(f"`{value}` {reasons[value]}")
        return value

    return BeforeValidator(check)


_Activations = Literal[
    "celu", "elu", "exponential", "gelu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink",
]  # fmt: skip
#: Keras activations that do not fit a layer's `activation`: each changes the shape or
#: needs arguments a name cannot carry, so Keras would build a wrong model or fail on call
REFUSED_ACTIVATIONS = {
    "glu": "halves the last axis, which Keras leaves out of the layer's output shape",
    "threshold": "needs a threshold and a default value, which a name cannot give (the "
    "`relu` op has a `threshold` attribute)",
}
ActivationName = Annotated[_Activations, _refusing(REFUSED_ACTIVATIONS)]

#: every initializer: all of them fill a 2-D weight (a dense kernel)
Initializer = Literal[
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "normal", "ones", "orthogonal", "random_normal",
    "random_uniform", "truncated_normal", "uniform", "variance_scaling", "zeros",
]  # fmt: skip
#: initializers that cannot fill a convolution kernel (4-D), and why
NOT_FOR_KERNELS = {"identity": "fills only 2-D weights (a dense kernel), not a convolution kernel"}
#: initializers that cannot fill a bias (1-D), and why
NOT_FOR_BIASES = {
    "identity": "fills only 2-D weights (a dense kernel), not a bias",
    "orthogonal": "fills only weights of two or more axes, not a bias",
}
KernelInitializer = Annotated[
    Literal[tuple(n for n in get_args(Initializer) if n not in NOT_FOR_KERNELS)],  # type: ignore[misc]
    _refusing(NOT_FOR_KERNELS),
]
BiasInitializer = Annotated[
    Literal[tuple(n for n in get_args(Initializer) if n not in NOT_FOR_BIASES)],  # type: ignore[misc]
    _refusing(NOT_FOR_BIASES),
]


class RegularizerFactors(Attrs):
    """Weight penalties by factor; serialised in the form Keras deserialises."""

    l1: Annotated[Float, Field(ge=0)] | None = Field(default=None, description="L1 factor.")
    l2: Annotated[Float, Field(ge=0)] | None = Field(default=None, description="L2 factor.")

    @model_validator(mode="before")
    @classmethod
    def _some_factor(cls, value: Any) -> Any:
        # an empty mapping would silently become Keras's L2(0.01); a misspelt factor is
        # named here, since the attribute error would only name the regularizer
        if isinstance(value, dict):
            unknown = [k for k in value if k not in ("l1", "l2")]
            if unknown:
                raise ValueError(f"`{unknown[0]}` is not a factor; give `l1`, `l2` or both")
            if all(value.get(k) is None for k in ("l1", "l2")):
                raise ValueError("give a factor, `l1`, `l2` or both, e.g. `{l2: 1.0e-4}`")
        return value

    @model_serializer
    def _keras(self) -> dict[str, object]:
        if self.l1 is not None and self.l2 is not None:
            return {"class_name": "L1L2", "config": {"l1": self.l1, "l2": self.l2}}
        if self.l1 is not None:
            return {"class_name": "L1", "config": {"l1": self.l1}}
        return {"class_name": "L2", "config": {"l2": 0.01 if self.l2 is None else self.l2}}


def _regularizer_config(name: str) -> dict[str, Any]:
    """A fresh copy: Keras may change the config it deserialises."""
    entry = REGULARIZER_NAMES[name]
    return {"class_name": entry["class_name"], "config": dict(entry["config"])}


Regularizer = Annotated[
    # Keras 3 knows `l1` and `l2` by name but not `l1_l2`: names go to Keras as configs
    Annotated[Literal["l1", "l2", "l1_l2"], Tag("name"), PlainSerializer(_regularizer_config)]
    | Annotated[RegularizerFactors, Tag("factors")],
    # a mapping is factors, anything else a name: errors then come from that form only
    Discriminator(lambda v: "factors" if isinstance(v, dict | RegularizerFactors) else "name"),
]
NodeNames = Annotated[list[str], Field(min_length=2, description="Names of the nodes merged.")]


def _f(description: str, **kw: object) -> object:
    return Field(description=description, **kw)  # type: ignore[arg-type]


def _as_written(value: Any) -> Any:
    """A validated pair as YAML writes it (``[1, 2]``, not ``(1, 2)``)."""
    return list(value) if isinstance(value, tuple) else value


def _spans(kernel: object, dilation: object) -> tuple[int, int]:
    (kh, kw), (dh, dw) = shapes.pair(kernel), shapes.pair(dilation)
    return dh * (kh - 1) + 1, dw * (kw - 1) + 1


class _WindowAttrs(Attrs):
    """What every convolution shares: the sliding window, its activation and bias."""

    kernel_size: Size2 = _f("Height and width of the kernel, or one number for both.")
    strides: Size2 = _f("Step of the kernel.", default=1)
    padding: Padding = _f(
        "`valid` (no padding) or `same` (output size = input / stride).", default="valid"
    )
    dilation_rate: Size2 = _f("Dilation of the kernel.", default=1)
    activation: ActivationName | None = _f("Activation applied to the output.", default=None)
    use_bias: StrictBool = _f("Whether the layer adds a bias.", default=True)
    bias_initializer: BiasInitializer = _f("Initializer of the bias.", default="zeros")
    bias_regularizer: Regularizer | None = _f("Penalty on the bias.", default=None)

    @field_validator("kernel_size", "dilation_rate")
    @classmethod
    def _span_in_bounds(cls, value: Any, info: ValidationInfo) -> Any:
        kernel = value if info.field_name == "kernel_size" else info.data.get("kernel_size")
        dilation = value if info.field_name == "dilation_rate" else 1
        if kernel is None:  # the kernel itself was refused
            return value
        span = max(_spans(kernel, dilation))
        if span > MAX_KERNEL_SPAN:
            what = "the kernel" if dilation == 1 else "the dilated kernel"
            raise ValueError(
                f"{what} spans {span} positions, more than the limit of {MAX_KERNEL_SPAN}"
            )
        return value

    @field_validator("dilation_rate")
    @classmethod
    def _no_dilation_with_strides(cls, value: Any, info: ValidationInfo) -> Any:
        strides = info.data.get("strides")
        if strides is not None and max(shapes.pair(value)) > 1 and max(shapes.pair(strides)) > 1:
            raise ValueError(
                f"`strides` is {_as_written(strides)}, and Keras cannot combine a dilation "
                "above 1 with strides above 1"
            )
        return value


class _DepthwiseWindowAttrs(_WindowAttrs):
    """Depthwise kernels: TensorFlow's reference and GPU kernels take one stride for both axes."""

    @field_validator("strides")
    @classmethod
    def _equal_strides(cls, value: Any) -> Any:
        sh, sw = shapes.pair(value)
        if sh != sw:
            raise ValueError(
                "a depthwise kernel needs the same stride along both axes (TensorFlow has no "
                "kernel for unequal ones)"
            )
        return value


class ConvAttrs(_WindowAttrs):
    filters: PosInt = _f("Number of output channels.")
    groups: PosInt = _f(
        "Number of channel groups; it must divide the input channels and `filters`.", default=1
    )
    kernel_initializer: KernelInitializer = _f(
        "Initializer of the kernel.", default="glorot_uniform"
    )
    kernel_regularizer: Regularizer | None = _f(
        "Penalty on the kernel: `l1`, `l2`, `l1_l2` or factors such as `{l2: 1.0e-4}`.",
        default=None,
    )

    @field_validator("groups")
    @classmethod
    def _groups_divide_filters(cls, value: int, info: ValidationInfo) -> int:
        filters = info.data.get("filters")
        if filters is not None and filters % value:
            raise ValueError(f"{filters} filters cannot be split into {value} groups")
        return value


class SeparableConvAttrs(_DepthwiseWindowAttrs):
    filters: PosInt = _f("Number of output channels of the pointwise step.")
    depth_multiplier: PosInt = _f("Depthwise output channels per input channel.", default=1)
    depthwise_initializer: KernelInitializer = _f(
        "Initializer of the depthwise kernel.", default="glorot_uniform"
    )
    pointwise_initializer: KernelInitializer = _f(
        "Initializer of the pointwise kernel.", default="glorot_uniform"
    )


class DepthwiseConvAttrs(_DepthwiseWindowAttrs):
    depth_multiplier: PosInt = _f("Output channels per input channel.", default=1)
    depthwise_initializer: KernelInitializer = _f(
        "Initializer of the kernel.", default="glorot_uniform"
    )


class DenseAttrs(Attrs):
    units: PosInt = _f("Number of output units.")
    activation: ActivationName | None = _f("Activation applied to the output.", default=None)
    use_bias: StrictBool = _f("Whether the layer adds a bias.", default=True)
    kernel_initializer: Initializer = _f("Initializer of the kernel.", default="glorot_uniform")
    bias_initializer: BiasInitializer = _f("Initializer of the bias.", default="zeros")
    kernel_regularizer: Regularizer | None = _f(
        "Penalty on the kernel: `l1`, `l2`, `l1_l2` or factors such as `{l2: 1.0e-4}`.",
        default=None,
    )
    bias_regularizer: Regularizer | None = _f("Penalty on the bias.", default=None)


def _axis_canonical(attrs: Attrs, input_rank: int | None) -> dict[str, object]:
    out = Attrs.canonical(attrs, input_rank)
    axis = out["axis"]
    if input_rank is not None and isinstance(axis, int) and axis < 0:
        out["axis"] = axis + input_rank + 1  # Keras counts the batch axis
    return out


class BatchNormAttrs(Attrs):
    axis: StrictInt = _f("Axis of the features (-1: channels last).", default=-1)
    momentum: Annotated[Float, Field(ge=0, le=1)] = _f(
        "Momentum of the moving averages.", default=0.99
    )
    epsilon: Annotated[Float, Field(gt=0)] = _f(
        "Added to the variance for stability.", default=1e-3
    )
    center: StrictBool = _f("Whether to learn an offset (beta).", default=True)
    scale: StrictBool = _f("Whether to learn a scale (gamma).", default=True)

    canonical = _axis_canonical


class ActivationAttrs(Attrs):
    activation: ActivationName = _f("Name of the activation function.")


class ReLUAttrs(Attrs):
    max_value: Annotated[Float, Field(ge=0)] | None = _f("Upper bound of the output.", default=None)
    negative_slope: Annotated[Float, Field(ge=0)] = _f("Slope below the threshold.", default=0.0)
    threshold: Annotated[Float, Field(ge=0)] = _f("Inputs below this are damped.", default=0.0)


class PoolAttrs(Attrs):
    pool_size: Size2 = _f("Height and width of the pooling window.", default=2)
    strides: Size2 | None = _f("Step of the window (default: the pool size).", default=None)
    padding: Padding = _f("`valid` or `same`.", default="valid")

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        out = super().canonical(input_rank)
        if out["strides"] is None:  # Keras's default: the window's own size
            out["strides"] = out["pool_size"]
        return out


class AvgPoolAttrs(PoolAttrs):
    # keras.layers.AveragePooling2D has no default window, unlike MaxPooling2D
    pool_size: Size2 = _f("Height and width of the pooling window.")


class GlobalPoolAttrs(Attrs):
    keepdims: StrictBool = _f("Keep the spatial axes with size 1.", default=False)


class ZeroPaddingAttrs(Attrs):
    padding: (
        NonNegInt
        | tuple[NonNegInt, NonNegInt]
        | tuple[tuple[NonNegInt, NonNegInt], tuple[NonNegInt, NonNegInt]]
    ) = _f(
        "Rows and columns of zeros: n, [rows, cols] or [[top, bottom], [left, right]].", default=1
    )

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        pad = self.padding
        if isinstance(pad, int):
            pad = ((pad, pad), (pad, pad))
        elif isinstance(pad[0], int):
            pad = ((pad[0], pad[0]), (pad[1], pad[1]))
        return {"padding": tuple(tuple(p) for p in pad)}


class NoAttrs(Attrs):
    pass


class DropoutAttrs(Attrs):
    rate: Annotated[Float, Field(ge=0, lt=1)] = _f("Fraction of the inputs dropped in training.")
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = _f(
        f"Seed of the dropout mask, from 0 to {MAX_SEED:,}.", default=None
    )


class MergeAttrs(Attrs):
    inputs: NodeNames


class ConcatAttrs(Attrs):
    inputs: NodeNames
    axis: StrictInt = _f("Axis along which inputs are joined (-1: channels).", default=-1)

    canonical = _axis_canonical


_MERGE = frozenset({"inputs"})

_OPS = [
    OpDef(
        "conv2d", "Conv2D", ConvAttrs, shapes.conv, "2-D convolution.", aliases=("conv",),
        weights=costs.conv_weights, macs=costs.conv_macs,
    ),
    OpDef(
        "separable_conv2d", "SeparableConv2D", SeparableConvAttrs, shapes.conv,
        "Depthwise then pointwise 2-D convolution.", aliases=("sep_conv2d",),
        weights=costs.separable_weights, macs=costs.separable_macs,
    ),
    OpDef(
        "depthwise_conv2d", "DepthwiseConv2D", DepthwiseConvAttrs, shapes.depthwise,
        "Per-channel 2-D convolution.", aliases=("dw_conv2d",),
        weights=costs.depthwise_weights, macs=costs.depthwise_macs,
    ),
    OpDef(
        "dense", "Dense", DenseAttrs, shapes.dense, "Fully connected layer.", shorthand="units",
        weights=costs.dense_weights, macs=costs.dense_macs,
    ),
    OpDef(
        "batch_normalization", "BatchNormalization", BatchNormAttrs, shapes.batch_norm,
        "Batch normalisation.", aliases=("batch_norm", "bn"), weights=costs.batch_norm_weights,
    ),
    OpDef(
        "activation", "Activation", ActivationAttrs, shapes.same,
        "An activation function as a layer.", shorthand="activation",
    ),
    OpDef("relu", "ReLU", ReLUAttrs, shapes.same, "Rectified linear unit (keras.layers.ReLU)."),
    OpDef(
        "max_pooling2d", "MaxPooling2D", PoolAttrs, shapes.pool, "2-D max pooling.",
        aliases=("max_pool", "max_pool2d"), shorthand="pool_size",
    ),
    OpDef(
        "average_pooling2d", "AveragePooling2D", AvgPoolAttrs, shapes.pool,
        "2-D average pooling.", aliases=("avg_pool", "avg_pool2d"), shorthand="pool_size",
    ),
    OpDef(
        "global_average_pooling2d", "GlobalAveragePooling2D", GlobalPoolAttrs,
        shapes.global_pool, "Average over the spatial axes.", aliases=("global_avg_pool",),
    ),
    OpDef(
        "global_max_pooling2d", "GlobalMaxPooling2D", GlobalPoolAttrs, shapes.global_pool,
        "Maximum over the spatial axes.", aliases=("global_max_pool",),
    ),
    OpDef(
        "zero_padding2d", "ZeroPadding2D", ZeroPaddingAttrs, shapes.zero_padding,
        "Pads with zeros around the image.", aliases=("zero_pad",), shorthand="padding",
    ),
    OpDef("flatten", "Flatten", NoAttrs, shapes.flatten, "Flattens all but the batch axis."),
    OpDef(
        "dropout", "Dropout", DropoutAttrs, shapes.same, "Drops inputs at random in training.",
        shorthand="rate",
    ),
    OpDef(
        "add", "Add", MergeAttrs, shapes.elementwise, "Element-wise sum of named nodes.",
        shorthand="inputs", merge=True, internal=_MERGE,
    ),
    OpDef(
        "multiply", "Multiply", MergeAttrs, shapes.elementwise,
        "Element-wise product of named nodes.", shorthand="inputs", merge=True, internal=_MERGE,
    ),
    OpDef(
        "concatenate", "Concatenate", ConcatAttrs, shapes.concatenate,
        "Joins named nodes along an axis.", aliases=("concat",), shorthand="inputs",
        merge=True, internal=_MERGE,
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
