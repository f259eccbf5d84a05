"""The layer kinds archspec compiles, with attributes named exactly as in Keras 3.

Each entry is one :class:`OpDef`; adding a layer kind means adding one model and one
``REGISTRY.add`` call here. Attributes a spec does not set are not passed to Keras,
so Keras's own defaults apply and a compiled layer's config equals a hand-written one.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    Tag,
    ValidationInfo,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo

from archspec.ops import costs, shapes
from archspec.ops.constraints import Constraint
from archspec.ops.initializers import with_arguments
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
Size1 = PosInt | tuple[PosInt]
Size2 = PosInt | tuple[PosInt, PosInt]
Size3 = PosInt | tuple[PosInt, PosInt, PosInt]
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

#: every initializer name: all of them fill a 2-D weight (a dense kernel)
InitializerName = Literal[
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
#: an initializer by name, or a mapping of its class and arguments (see ops/initializers.py)
Initializer = with_arguments(InitializerName)
KernelInitializer = with_arguments(
    Annotated[
        Literal[tuple(n for n in get_args(InitializerName) if n not in NOT_FOR_KERNELS)],  # type: ignore[misc]
        _refusing(NOT_FOR_KERNELS),
    ]
)
BiasInitializer = with_arguments(
    Annotated[
        Literal[tuple(n for n in get_args(InitializerName) if n not in NOT_FOR_BIASES)],  # type: ignore[misc]
        _refusing(NOT_FOR_BIASES),
    ]
)


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
    """A validated list of sizes as YAML writes it (``[1, 2]``, not ``(1, 2)``)."""
    return list(value) if isinstance(value, tuple) else value


# ---------------------------------------------------------------------------- convolutions

#: how a per-axis attribute may be written, by the number of spatial axes
_PER_AXIS_FORMS = {
    1: "one number (or a list of one)",
    2: "one number for both axes or a list of 2 (height, width)",
    3: "one number for all axes or a list of 3 (depth, height, width)",
}
_KERNEL_DOC = {
    1: "Length of the kernel.",
    2: "Height and width of the kernel, or one number for both.",
    3: "Depth, height and width of the kernel, or one number for all.",
}


def _per_axis(number: Any, axes: int) -> Any:
    """One number for every spatial axis or a list of one per axis, as Keras takes them.

    A list of the wrong length is refused with the forms the attribute takes, rather
    than with pydantic's error for each form of the union.
    """

    def check(value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) != axes:
            raise ValueError(f"takes {_PER_AXIS_FORMS[axes]}, not a list of {len(value)}")
        return value

    return Annotated[number | tuple[(number,) * axes], BeforeValidator(check)]


#: attributes holding one number per spatial axis, and the numbers each takes
PER_AXIS = {
    "kernel_size": PosInt,
    "strides": PosInt,
    "dilation_rate": PosInt,
    "output_padding": NonNegInt,
}
WindowSizes = _per_axis(PosInt, 2)
Offsets = _per_axis(NonNegInt, 2)


def _spans(kernel: object, dilation: object, axes: int) -> tuple[int, ...]:
    """Positions the kernel reaches along each axis, dilation included."""
    return tuple(
        d * (k - 1) + 1
        for k, d in zip(shapes.sizes(kernel, axes), shapes.sizes(dilation, axes), strict=True)
    )


class _WindowAttrs(Attrs):
    """What every convolution shares: the sliding window, its activation and bias.

    The models are written for images; :func:`_for_axes` derives those of one or three
    spatial axes, and the checks read :attr:`axes`.
    """

    #: the spatial axes the window slides along
    axes: ClassVar[int] = 2
    #: whether Keras takes strides above 1 together with a dilation above 1
    dilation_with_strides: ClassVar[bool] = False

    kernel_size: WindowSizes = _f(_KERNEL_DOC[2])
    strides: WindowSizes = _f("Step of the kernel.", default=1)
    padding: Padding = _f(
        "`valid` (no padding) or `same` (output size = input / stride).", default="valid"
    )
    dilation_rate: WindowSizes = _f("Dilation of the kernel.", default=1)
    activation: ActivationName | None = _f("Activation applied to the output.", default=None)
    use_bias: StrictBool = _f("Whether the layer adds a bias.", default=True)
    bias_initializer: BiasInitializer = _f("Initializer of the bias.", default="zeros")
    bias_regularizer: Regularizer | None = _f("Penalty on the bias.", default=None)
    bias_constraint: Constraint | None = _f("Constraint on the bias.", default=None)

    @field_validator("kernel_size", "dilation_rate")
    @classmethod
    def _span_in_bounds(cls, value: Any, info: ValidationInfo) -> Any:
        kernel = value if info.field_name == "kernel_size" else info.data.get("kernel_size")
        dilation = value if info.field_name == "dilation_rate" else 1
        if kernel is None:  # the kernel itself was refused
            return value
        span = max(_spans(kernel, dilation, cls.axes))
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
        if cls.dilation_with_strides or strides is None:
            return value
        if max(shapes.sizes(value, cls.axes)) > 1 and max(shapes.sizes(strides, cls.axes)) > 1:
            raise ValueError(
                f"`strides` is {_as_written(strides)}, and Keras cannot combine a dilation "
                "above 1 with strides above 1"
            )
        return value

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        """As :meth:`Attrs.canonical`, with one number per spatial axis for each per-axis
        attribute: ``strides: 1`` is ``[1]`` in 1-D and ``[1, 1, 1]`` in 3-D, as Keras
        stores it."""
        out = super().canonical(input_rank)
        for key in PER_AXIS.keys() & out.keys():
            value = getattr(self, key)
            if value is not None:
                out[key] = shapes.sizes(value, self.axes)
        return out


class _DepthwiseWindowAttrs(_WindowAttrs):
    """Depthwise kernels: TensorFlow's reference and GPU kernels take one stride for both axes."""

    @field_validator("strides")
    @classmethod
    def _equal_strides(cls, value: Any) -> Any:
        if len(set(shapes.sizes(value, cls.axes))) > 1:
            raise ValueError(
                "a depthwise kernel needs the same stride along both axes (TensorFlow has no "
                "kernel for unequal ones)"
            )
        return value


class _KernelAttrs(_WindowAttrs):
    """A full kernel, from every input channel (of a group) to each of ``filters``."""

    filters: PosInt = _f("Number of output channels.")
    kernel_initializer: KernelInitializer = _f(
        "Initializer of the kernel.", default="glorot_uniform"
    )
    kernel_regularizer: Regularizer | None = _f(
        "Penalty on the kernel: `l1`, `l2`, `l1_l2` or factors such as `{l2: 1.0e-4}`.",
        default=None,
    )
    kernel_constraint: Constraint | None = _f("Constraint on the kernel.", default=None)


class ConvAttrs(_KernelAttrs):
    groups: PosInt = _f(
        "Number of channel groups; it must divide the input channels and `filters`.", default=1
    )

    @field_validator("groups")
    @classmethod
    def _groups_divide_filters(cls, value: int, info: ValidationInfo) -> int:
        filters = info.data.get("filters")
        if filters is not None and filters % value:
            raise ValueError(f"{filters} filters cannot be split into {value} groups")
        return value


class ConvTransposeAttrs(_KernelAttrs):
    output_padding: Offsets | None = _f(
        "Positions added at the end of each axis of the output, each less than the stride "
        "there (null: Keras's default, input size x stride with `same` padding).",
        default=None,
    )

    @field_validator("output_padding")
    @classmethod
    def _less_than_strides(cls, value: Any, info: ValidationInfo) -> Any:
        strides = info.data.get("strides")
        if value is None or strides is None:
            return value
        pairs = zip(shapes.sizes(value, cls.axes), shapes.sizes(strides, cls.axes), strict=True)
        if any(extra >= stride for extra, stride in pairs):
            raise ValueError(
                f"must be less than the stride along each axis (`strides` is "
                f"{_as_written(strides)}), as Keras requires"
            )
        return value

    @field_validator("output_padding")
    @classmethod
    def _fits_same_padding(cls, value: Any, info: ValidationInfo) -> Any:
        """TensorFlow checks the output against the input as `same` padding maps it back:
        an even span with no output padding comes out one position short, and the
        layer fails when it runs (or, on an input of size 1, gives an empty output)."""
        kernel, dilation = info.data.get("kernel_size"), info.data.get("dilation_rate")
        if value is None or info.data.get("padding") != "same" or None in (kernel, dilation):
            return value
        extras = shapes.sizes(value, cls.axes)
        for axis, (extra, span) in enumerate(
            zip(extras, _spans(kernel, dilation, cls.axes), strict=True), start=1
        ):
            if extra == 0 and span % 2 == 0:
                raise ValueError(
                    f"with `padding: same`, TensorFlow needs at least 1 along an axis where "
                    f"the kernel spans an even number of positions (axis {axis} spans "
                    f"{span}); leave `output_padding` out for Keras's default"
                )
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
    depthwise_regularizer: Regularizer | None = _f("Penalty on the depthwise kernel.", default=None)
    pointwise_regularizer: Regularizer | None = _f("Penalty on the pointwise kernel.", default=None)
    depthwise_constraint: Constraint | None = _f(
        "Constraint on the depthwise kernel.", default=None
    )
    pointwise_constraint: Constraint | None = _f(
        "Constraint on the pointwise kernel.", default=None
    )


class DepthwiseConvAttrs(_DepthwiseWindowAttrs):
    depth_multiplier: PosInt = _f("Output channels per input channel.", default=1)
    depthwise_initializer: KernelInitializer = _f(
        "Initializer of the kernel.", default="glorot_uniform"
    )
    depthwise_regularizer: Regularizer | None = _f("Penalty on the kernel.", default=None)
    depthwise_constraint: Constraint | None = _f("Constraint on the kernel.", default=None)


_W = TypeVar("_W", bound=_WindowAttrs)


def _for_axes(
    base: type[_W], axes: int, *, dilation_with_strides: bool = False, **fields: Any
) -> type[_W]:
    """``base``, written for images, for windows over ``axes`` spatial axes.

    Each per-axis attribute takes one number or ``axes`` of them, so the schema and the
    errors say how many, and the checks run per axis. ``fields`` replaces other
    attributes, as (type, field) pairs.
    """
    retyped = {k: _axis_field(k, f, axes) for k, f in base.model_fields.items() if k in PER_AXIS}
    name = base.__name__.replace("Attrs", f"{axes}DAttrs")
    model = create_model(name, __base__=base, __module__=__name__, **(retyped | fields))
    model.axes = axes
    model.dilation_with_strides = dilation_with_strides
    return model


def _axis_field(key: str, field: FieldInfo, axes: int) -> tuple[Any, Any]:
    """A per-axis attribute of an image model, as (type, field) for ``axes`` spatial axes."""
    kind = _per_axis(PER_AXIS[key], axes)
    doc = _KERNEL_DOC[axes] if key == "kernel_size" else field.description or ""
    return (kind | None if field.default is None else kind), _f(doc, default=field.default)


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
    kernel_constraint: Constraint | None = _f("Constraint on the kernel.", default=None)
    bias_constraint: Constraint | None = _f("Constraint on the bias.", default=None)


def _axis_canonical(attrs: Attrs, input_rank: int | None) -> dict[str, object]:
    out = Attrs.canonical(attrs, input_rank)
    axis = out["axis"]
    if input_rank is not None and isinstance(axis, int) and axis < 0:
        out["axis"] = axis + input_rank + 1  # Keras counts the batch axis
    return out


GammaInitializer = _f("Initializer of the scale (gamma).", default="ones")
BetaInitializer = _f("Initializer of the offset (beta).", default="zeros")


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
    beta_initializer: BiasInitializer = BetaInitializer
    gamma_initializer: BiasInitializer = GammaInitializer
    moving_mean_initializer: BiasInitializer = _f(
        "Initializer of the moving mean.", default="zeros"
    )
    moving_variance_initializer: BiasInitializer = _f(
        "Initializer of the moving variance.", default="ones"
    )
    beta_regularizer: Regularizer | None = _f("Penalty on the offset.", default=None)
    gamma_regularizer: Regularizer | None = _f("Penalty on the scale.", default=None)
    beta_constraint: Constraint | None = _f("Constraint on the offset.", default=None)
    gamma_constraint: Constraint | None = _f("Constraint on the scale.", default=None)

    canonical = _axis_canonical


class ActivationAttrs(Attrs):
    activation: ActivationName = _f("Name of the activation function.")


class ReLUAttrs(Attrs):
    max_value: Annotated[Float, Field(ge=0)] | None = _f("Upper bound of the output.", default=None)
    negative_slope: Annotated[Float, Field(ge=0)] = _f("Slope below the threshold.", default=0.0)
    threshold: Annotated[Float, Field(ge=0)] = _f("Inputs below this are damped.", default=0.0)


def _pool_canonical(axes: int) -> Any:
    def canonical(attrs: Attrs, input_rank: int | None = None) -> dict[str, object]:
        out = Attrs.canonical(attrs, input_rank)
        out["pool_size"] = shapes.sizes(attrs.pool_size, axes)
        # Keras's default stride: the window's own size
        strides = attrs.strides
        out["strides"] = out["pool_size"] if strides is None else shapes.sizes(strides, axes)
        return out

    return canonical


class Pool1DAttrs(Attrs):
    pool_size: Size1 = _f("Length of the pooling window.", default=2)
    strides: Size1 | None = _f("Step of the window (default: the pool size).", default=None)
    padding: Padding = _f("`valid` or `same`.", default="valid")

    canonical = _pool_canonical(1)


class AvgPool1DAttrs(Pool1DAttrs):
    # keras.layers.AveragePooling1D has no default window, unlike MaxPooling1D
    pool_size: Size1 = _f("Length of the pooling window.")


class PoolAttrs(Attrs):
    pool_size: Size2 = _f("Height and width of the pooling window.", default=2)
    strides: Size2 | None = _f("Step of the window (default: the pool size).", default=None)
    padding: Padding = _f("`valid` or `same`.", default="valid")

    canonical = _pool_canonical(2)


class AvgPoolAttrs(PoolAttrs):
    # keras.layers.AveragePooling2D has no default window, unlike MaxPooling2D
    pool_size: Size2 = _f("Height and width of the pooling window.")


class Pool3DAttrs(Attrs):
    pool_size: Size3 = _f(
        "Depth, height and width of the pooling window, or one number for all.", default=2
    )
    strides: Size3 | None = _f("Step of the window (default: the pool size).", default=None)
    padding: Padding = _f("`valid` or `same`.", default="valid")

    canonical = _pool_canonical(3)


class AvgPool3DAttrs(Pool3DAttrs):
    # keras.layers.AveragePooling3D has no default window, unlike MaxPooling3D
    pool_size: Size3 = _f("Depth, height and width of the pooling window, or one number for all.")


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


Pair = tuple[NonNegInt, NonNegInt]


def _edges_canonical(key: str, axes: int) -> Any:
    def canonical(attrs: Attrs, input_rank: int | None = None) -> dict[str, object]:
        return {key: shapes.edge_pairs(getattr(attrs, key), axes)}

    return canonical


class ZeroPadding1DAttrs(Attrs):
    padding: NonNegInt | Pair = _f("Zeros at both ends: n, or [start, end].", default=1)

    canonical = _edges_canonical("padding", 1)


class ZeroPadding3DAttrs(Attrs):
    padding: NonNegInt | tuple[NonNegInt, NonNegInt, NonNegInt] | tuple[Pair, Pair, Pair] = _f(
        "Zeros around the volume: n, [depth, rows, cols] or a [before, after] pair per axis.",
        default=1,
    )

    canonical = _edges_canonical("padding", 3)


class Cropping1DAttrs(Attrs):
    cropping: NonNegInt | Pair = _f("Steps cut at both ends: n, or [start, end].", default=1)

    canonical = _edges_canonical("cropping", 1)


class Cropping2DAttrs(Attrs):
    cropping: NonNegInt | Pair | tuple[Pair, Pair] = _f(
        "Rows and columns cut: n, [rows, cols] or [[top, bottom], [left, right]].", default=0
    )

    canonical = _edges_canonical("cropping", 2)


class Cropping3DAttrs(Attrs):
    cropping: NonNegInt | tuple[NonNegInt, NonNegInt, NonNegInt] | tuple[Pair, Pair, Pair] = _f(
        "Cut from the volume: n, [depth, rows, cols] or a [before, after] pair per axis.",
        default=1,
    )

    canonical = _edges_canonical("cropping", 3)


class UpSampling1DAttrs(Attrs):
    size: PosInt = _f("How many times each step is repeated.", default=2)


class UpSampling2DAttrs(Attrs):
    size: Size2 = _f("Repeats of rows and columns, or one number for both.", default=2)
    interpolation: Literal["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"] = _f(
        "How new values are filled in.", default="nearest"
    )

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        return {"size": shapes.pair(self.size), "interpolation": self.interpolation}


class UpSampling3DAttrs(Attrs):
    size: PosInt | tuple[PosInt, PosInt, PosInt] = _f(
        "Repeats along depth, rows and columns, or one number for all.", default=2
    )

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        return {"size": shapes.sizes(self.size, 3)}


Rate = Annotated[Float, Field(ge=0, lt=1)]
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED)]
NoiseShape = Annotated[list[PosInt | None], Field(min_length=1)]


class SpatialDropoutAttrs(Attrs):
    rate: Rate = _f("Fraction of the channels dropped in training.")
    seed: Seed | None = _f(f"Seed of the dropout mask, from 0 to {MAX_SEED:,}.", default=None)


class DropoutAttrs(Attrs):
    rate: Rate = _f("Fraction of the inputs dropped in training.")
    noise_shape: NoiseShape | None = _f(
        "Shape of the dropout mask, batch axis first: per axis null (the input's size) or 1 "
        "(one draw shared along the axis), e.g. `[null, 1, null]`.",
        default=None,
    )
    seed: Seed | None = _f(f"Seed of the dropout mask, from 0 to {MAX_SEED:,}.", default=None)


class GaussianNoiseAttrs(Attrs):
    stddev: Annotated[Float, Field(ge=0, le=1)] = _f(
        "Standard deviation of the noise added in training (Keras takes 0 to 1)."
    )
    seed: Seed | None = _f(f"Seed of the noise, from 0 to {MAX_SEED:,}.", default=None)


class GaussianDropoutAttrs(Attrs):
    rate: Rate = _f("Drop probability; the noise's stddev is sqrt(rate / (1 - rate)).")
    seed: Seed | None = _f(f"Seed of the noise, from 0 to {MAX_SEED:,}.", default=None)


def _axes_canonical(key: str) -> Any:
    """A canonical form listing axes as a sorted tuple, counted from the batch axis."""

    def canonical(attrs: Attrs, input_rank: int | None = None) -> dict[str, object]:
        out = Attrs.canonical(attrs, input_rank)
        value = out[key]
        if value is None:
            return out
        axes = (value,) if isinstance(value, int) else value
        if input_rank is not None:
            axes = tuple(a + input_rank + 1 if a < 0 else a for a in axes)
        out[key] = tuple(sorted(axes))
        return out

    return canonical


Axes = StrictInt | Annotated[list[StrictInt], Field(min_length=1)]


class AxesAttrs(Attrs):
    axis: Axes = _f("Axis or axes it works along (-1: the last).", default=-1)

    canonical = _axes_canonical("axis")


class LayerNormAttrs(AxesAttrs):
    axis: Axes = _f("Axis or axes normalised over (-1: the last).", default=-1)
    epsilon: Annotated[Float, Field(gt=0)] = _f(
        "Added to the variance for stability.", default=1e-3
    )
    center: StrictBool = _f("Whether to learn an offset (beta).", default=True)
    scale: StrictBool = _f("Whether to learn a scale (gamma).", default=True)
    rms_scaling: StrictBool = _f(
        "Scale by the variance only, with gamma and no beta (deprecated in Keras).",
        default=False,
    )
    beta_initializer: BiasInitializer = BetaInitializer
    gamma_initializer: BiasInitializer = GammaInitializer
    beta_regularizer: Regularizer | None = _f("Penalty on the offset.", default=None)
    gamma_regularizer: Regularizer | None = _f("Penalty on the scale.", default=None)
    beta_constraint: Constraint | None = _f("Constraint on the offset.", default=None)
    gamma_constraint: Constraint | None = _f("Constraint on the scale.", default=None)


class GroupNormAttrs(Attrs):
    # Keras also takes an undocumented -1 (one group per channel) and then stores the
    # channel count in its config, so a model would not read back as its spec: write the count
    groups: PosInt = _f("Number of channel groups; it must divide the channels.", default=32)
    axis: StrictInt = _f("Axis of the channels (-1: channels last).", default=-1)
    epsilon: Annotated[Float, Field(gt=0)] = _f(
        "Added to the variance for stability.", default=1e-3
    )
    center: StrictBool = _f("Whether to learn an offset (beta).", default=True)
    scale: StrictBool = _f("Whether to learn a scale (gamma).", default=True)
    beta_initializer: BiasInitializer = BetaInitializer
    gamma_initializer: BiasInitializer = GammaInitializer
    beta_regularizer: Regularizer | None = _f("Penalty on the offset.", default=None)
    gamma_regularizer: Regularizer | None = _f("Penalty on the scale.", default=None)
    beta_constraint: Constraint | None = _f("Constraint on the offset.", default=None)
    gamma_constraint: Constraint | None = _f("Constraint on the scale.", default=None)

    canonical = _axis_canonical


class LeakyReLUAttrs(Attrs):
    negative_slope: Annotated[Float, Field(ge=0)] = _f("Slope below zero.", default=0.3)


class ELUAttrs(Attrs):
    alpha: Float = _f("Scale of the negative part.", default=1.0)


class PReLUAttrs(Attrs):
    alpha_initializer: BiasInitializer = _f("Initializer of the slopes.", default="zeros")
    alpha_regularizer: Regularizer | None = _f("Penalty on the slopes.", default=None)
    alpha_constraint: Constraint | None = _f("Constraint on the slopes.", default=None)
    shared_axes: PosInt | Annotated[list[PosInt], Field(min_length=1)] | None = _f(
        "Axes (from 1, after the batch) along which one slope is shared, e.g. `[1, 2]` "
        "for one slope per channel of an image.",
        default=None,
    )

    canonical = _axes_canonical("shared_axes")


class ReshapeAttrs(Attrs):
    target_shape: Annotated[list[StrictInt], Field(min_length=1)] = _f(
        "The new shape without the batch axis; one size may be -1 (inferred)."
    )

    @field_validator("target_shape")
    @classmethod
    def _sizes(cls, value: list[int]) -> list[int]:
        if any(d == 0 or d < -1 for d in value):
            raise ValueError("sizes are positive, or -1 for the one size to infer")
        if value.count(-1) > 1:
            raise ValueError("at most one size may be -1")
        return value


class PermuteAttrs(Attrs):
    dims: Annotated[list[PosInt], Field(min_length=1)] = _f(
        "The new order of the axes, counted from 1 (the batch axis stays first)."
    )

    @field_validator("dims")
    @classmethod
    def _permutation(cls, value: list[int]) -> list[int]:
        if sorted(value) != list(range(1, len(value) + 1)):
            raise ValueError(f"`dims` must order the axes 1 to {len(value)}, each once")
        return value


class RepeatVectorAttrs(Attrs):
    n: PosInt = _f("Number of repetitions.")


class MergeAttrs(Attrs):
    inputs: NodeNames


class SubtractAttrs(Attrs):
    inputs: Annotated[
        list[str], Field(min_length=2, max_length=2, description="The two nodes: first - second.")
    ]

    @field_validator("inputs", mode="before")
    @classmethod
    def _two(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) != 2:
            raise ValueError(f"takes exactly two nodes (first - second), not {len(value)}")
        return value


class ConcatAttrs(Attrs):
    inputs: NodeNames
    axis: StrictInt = _f("Axis along which inputs are joined (-1: channels).", default=-1)

    canonical = _axis_canonical


_MERGE = frozenset({"inputs"})
#: each convolution family's ops by number of spatial axes, which a rank error names
_CONVS = {1: "conv1d", 2: "conv2d", 3: "conv3d"}
_TRANSPOSED = {axes: f"conv{axes}d_transpose" for axes in (1, 2, 3)}
_SEPARABLE = {1: "separable_conv1d", 2: "separable_conv2d"}
_DEPTHWISE = {1: "depthwise_conv1d", 2: "depthwise_conv2d"}

_OPS = [
    OpDef(
        "conv2d", "Conv2D", ConvAttrs, shapes.conv_rule(2, _CONVS), "2-D convolution.",
        aliases=("conv",), weights=costs.conv_weights, macs=costs.conv_macs,
    ),
    OpDef(
        "separable_conv2d", "SeparableConv2D", SeparableConvAttrs,
        shapes.conv_rule(2, _SEPARABLE), "Depthwise then pointwise 2-D convolution.",
        aliases=("sep_conv2d",), weights=costs.separable_weights, macs=costs.separable_macs,
    ),
    OpDef(
        "depthwise_conv2d", "DepthwiseConv2D", DepthwiseConvAttrs,
        shapes.depthwise_rule(2, _DEPTHWISE), "Per-channel 2-D convolution.",
        aliases=("dw_conv2d",), weights=costs.depthwise_weights, macs=costs.depthwise_macs,
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
        "max_pooling1d", "MaxPooling1D", Pool1DAttrs, shapes.pool_rule(1), "1-D max pooling.",
        aliases=("max_pool1d",), shorthand="pool_size",
    ),
    OpDef(
        "average_pooling1d", "AveragePooling1D", AvgPool1DAttrs, shapes.pool_rule(1),
        "1-D average pooling.", aliases=("avg_pool1d",), shorthand="pool_size",
    ),
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
        "max_pooling3d", "MaxPooling3D", Pool3DAttrs, shapes.pool_rule(3), "3-D max pooling.",
        aliases=("max_pool3d",), shorthand="pool_size",
    ),
    OpDef(
        "average_pooling3d", "AveragePooling3D", AvgPool3DAttrs, shapes.pool_rule(3),
        "3-D average pooling.", aliases=("avg_pool3d",), shorthand="pool_size",
    ),
    OpDef(
        "global_average_pooling1d", "GlobalAveragePooling1D", GlobalPoolAttrs,
        shapes.global_pool_rule(1), "Average over the steps.", aliases=("global_avg_pool1d",),
    ),
    OpDef(
        "global_max_pooling1d", "GlobalMaxPooling1D", GlobalPoolAttrs, shapes.global_pool_rule(1),
        "Maximum over the steps.", aliases=("global_max_pool1d",),
    ),
    OpDef(
        "global_average_pooling3d", "GlobalAveragePooling3D", GlobalPoolAttrs,
        shapes.global_pool_rule(3), "Average over the three spatial axes.",
        aliases=("global_avg_pool3d",),
    ),
    OpDef(
        "global_max_pooling3d", "GlobalMaxPooling3D", GlobalPoolAttrs, shapes.global_pool_rule(3),
        "Maximum over the three spatial axes.", aliases=("global_max_pool3d",),
    ),
    OpDef(
        "zero_padding2d", "ZeroPadding2D", ZeroPaddingAttrs, shapes.zero_padding,
        "Pads with zeros around the image.", aliases=("zero_pad",), shorthand="padding",
    ),
    OpDef(
        "zero_padding1d", "ZeroPadding1D", ZeroPadding1DAttrs,
        shapes.padding_rule(1, "padding", 1, "padding"), "Pads a sequence with zeros.",
        shorthand="padding",
    ),
    OpDef(
        "zero_padding3d", "ZeroPadding3D", ZeroPadding3DAttrs,
        shapes.padding_rule(3, "padding", 1, "padding"), "Pads a volume with zeros.",
        shorthand="padding",
    ),
    OpDef(
        "cropping1d", "Cropping1D", Cropping1DAttrs,
        shapes.padding_rule(1, "cropping", -1, "cropping"), "Cuts steps off a sequence.",
        shorthand="cropping",
    ),
    OpDef(
        "cropping2d", "Cropping2D", Cropping2DAttrs,
        shapes.padding_rule(2, "cropping", -1, "cropping"), "Cuts rows and columns off an image.",
        shorthand="cropping",
    ),
    OpDef(
        "cropping3d", "Cropping3D", Cropping3DAttrs,
        shapes.padding_rule(3, "cropping", -1, "cropping"), "Cuts the edges off a volume.",
        shorthand="cropping",
    ),
    OpDef(
        "up_sampling1d", "UpSampling1D", UpSampling1DAttrs, shapes.up_sampling_rule(1),
        "Repeats each step of a sequence.", shorthand="size",
    ),
    OpDef(
        "up_sampling2d", "UpSampling2D", UpSampling2DAttrs, shapes.up_sampling_rule(2),
        "Enlarges an image.", shorthand="size",
    ),
    OpDef(
        "up_sampling3d", "UpSampling3D", UpSampling3DAttrs, shapes.up_sampling_rule(3),
        "Enlarges a volume.", shorthand="size",
    ),
    OpDef("flatten", "Flatten", NoAttrs, shapes.flatten, "Flattens all but the batch axis."),
    OpDef(
        "reshape", "Reshape", ReshapeAttrs, shapes.reshape, "Gives the values a new shape.",
        shorthand="target_shape",
    ),
    OpDef(
        "permute", "Permute", PermuteAttrs, shapes.permute, "Reorders the axes.",
        shorthand="dims",
    ),
    OpDef(
        "repeat_vector", "RepeatVector", RepeatVectorAttrs, shapes.repeat_vector,
        "Repeats a vector n times (features -> (n, features)).", shorthand="n",
    ),
    OpDef("identity", "Identity", NoAttrs, shapes.same, "Passes its input through."),
    OpDef(
        "layer_normalization", "LayerNormalization", LayerNormAttrs, shapes.normalization,
        "Layer normalisation.", aliases=("layer_norm",), weights=costs.layer_norm_weights,
    ),
    OpDef(
        "group_normalization", "GroupNormalization", GroupNormAttrs, shapes.group_norm,
        "Group normalisation.", aliases=("group_norm",), weights=costs.group_norm_weights,
    ),
    OpDef(
        "unit_normalization", "UnitNormalization", AxesAttrs, shapes.normalization,
        "Scales to unit L2 norm along the axes.",
    ),
    OpDef(
        "softmax", "Softmax", AxesAttrs, shapes.normalization, "Softmax as a layer.",
        shorthand="axis",
    ),
    OpDef(
        "leaky_relu", "LeakyReLU", LeakyReLUAttrs, shapes.same, "Leaky rectified linear unit.",
        shorthand="negative_slope",
    ),
    OpDef(
        "prelu", "PReLU", PReLUAttrs, shapes.prelu, "ReLU with learned negative slopes.",
        weights=costs.prelu_weights,
    ),
    OpDef(
        "elu", "ELU", ELUAttrs, shapes.same, "Exponential linear unit.", shorthand="alpha",
    ),
    OpDef(
        "dropout", "Dropout", DropoutAttrs, shapes.dropout,
        "Drops inputs at random in training.", shorthand="rate",
    ),
    OpDef(
        "spatial_dropout1d", "SpatialDropout1D", SpatialDropoutAttrs,
        shapes.spatial_dropout(2, "steps, channels"), "Drops whole channels of a sequence.",
        shorthand="rate",
    ),
    OpDef(
        "spatial_dropout2d", "SpatialDropout2D", SpatialDropoutAttrs,
        shapes.spatial_dropout(3, "height, width, channels"),
        "Drops whole channels of an image.", shorthand="rate",
    ),
    OpDef(
        "spatial_dropout3d", "SpatialDropout3D", SpatialDropoutAttrs,
        shapes.spatial_dropout(4, "depth, height, width, channels"),
        "Drops whole channels of a volume.", shorthand="rate",
    ),
    OpDef(
        "gaussian_noise", "GaussianNoise", GaussianNoiseAttrs, shapes.same,
        "Adds Gaussian noise in training.", shorthand="stddev",
    ),
    OpDef(
        "gaussian_dropout", "GaussianDropout", GaussianDropoutAttrs, shapes.same,
        "Multiplies by Gaussian noise around 1 in training.", shorthand="rate",
    ),
    OpDef(
        "alpha_dropout", "AlphaDropout", DropoutAttrs, shapes.dropout,
        "Dropout that keeps a SELU network's mean and variance.", shorthand="rate",
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
        "subtract", "Subtract", SubtractAttrs, shapes.elementwise,
        "Element-wise difference of two named nodes (first - second).", shorthand="inputs",
        merge=True, internal=_MERGE,
    ),
    OpDef(
        "average", "Average", MergeAttrs, shapes.elementwise,
        "Element-wise mean of named nodes.", shorthand="inputs", merge=True, internal=_MERGE,
    ),
    OpDef(
        "maximum", "Maximum", MergeAttrs, shapes.elementwise,
        "Element-wise maximum of named nodes.", shorthand="inputs", merge=True, internal=_MERGE,
    ),
    OpDef(
        "minimum", "Minimum", MergeAttrs, shapes.elementwise,
        "Element-wise minimum of named nodes.", shorthand="inputs", merge=True, internal=_MERGE,
    ),
    OpDef(
        "concatenate", "Concatenate", ConcatAttrs, shapes.concatenate,
        "Joins named nodes along an axis.", aliases=("concat",), shorthand="inputs",
        merge=True, internal=_MERGE,
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
