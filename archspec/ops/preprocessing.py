"""Preprocessing layers inside a model: rescaling, normalisation, resizing, centre cropping.

Attributes are named as in Keras 3 and, as everywhere, only those a spec sets reach the
constructor. What each layer accepts is what Keras builds *and runs* without changing
the shape it declared; a few things Keras takes silently are refused here, each with
its reason:

- a per-channel ``scale`` or ``offset`` on an input of one channel: Keras broadcasts the
  input up to the list, so the output has more channels than the shape Keras declared;
- ``resizing`` or ``center_crop`` on a 2-D input: Keras reads the batch axis as the
  image height and replaces the batch size by the target height;
- ``normalization`` with a negative variance (every output would be NaN), or along one
  axis twice.

None of these layers has trainable weights. ``normalization`` without ``mean`` and
``variance`` is left to ``adapt``: Keras then creates non-trainable weights, a mean and
a variance per kept index and a scalar ``count``; with them given it creates none. MACs
count zero, as for batch normalisation (the same per-value multiply-add) and for
up-sampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from typing_extensions import TypeAliasType

from archspec.ops.costs import Weight
from archspec.ops.layers import PosInt, _f, _refusing
from archspec.ops.registry import REGISTRY, Attrs, OpDef
from archspec.ops.shapes import Shape, ShapeError, feature_axes, fmt

#: a finite number, kept as written: Keras stores `offset=-1` as the integer -1 in the
#: layer's config (EfficientNetV2's preprocessing), and computes in floats either way.
#: Strict: `true` or `"0.5"` is a slip, not a number.
Number = Annotated[StrictInt | StrictFloat, Field(allow_inf_nan=False)]
#: one number for every channel, or one per channel (the last axis)
PerChannel = Number | Annotated[list[Number], Field(min_length=1)]
#: a number, or a rectangular nested list of numbers (one level per kept axis)
NumberArray = TypeAliasType(
    "NumberArray", Number | Annotated[list["NumberArray"], Field(min_length=1)]
)
#: interpolations TensorFlow's ``keras.ops.image.resize`` accepts
Interpolation = Literal["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area"]
#: fill modes of Keras's other image layers, which ``Resizing`` refuses when it runs
REFUSED_FILL_MODES = dict.fromkeys(
    ("reflect", "wrap", "nearest"),
    "is a fill mode of Keras's other image layers; `Resizing` pads only with `constant` "
    "(the `fill_value`)",
)
FillMode = Annotated[Literal["constant"], _refusing(REFUSED_FILL_MODES)]


# ---------------------------------------------------------------------------- values


def _dims(value: Any) -> tuple[int, ...]:
    """The shape of a number (``()``) or of a nested list, as numpy would give it.

    Raises ValueError for a ragged list, which numpy (and so Keras) cannot shape.
    """
    if not isinstance(value, list | tuple):
        return ()
    inner = {_dims(v) for v in value}
    if len(inner) > 1:
        raise ValueError("the nested lists differ in length or depth")
    return (len(value), *inner.pop())


def _rectangular(value: Any) -> Any:
    """A field validator's body: refuse a ragged nested list."""
    if value is not None:
        _dims(value)
    return value


def _leaves(value: Any) -> list[float]:
    """The numbers of a number or nested list."""
    if not isinstance(value, list | tuple):
        return [value]
    return [leaf for v in value for leaf in _leaves(v)]


def _values_canonical(value: Any) -> Any:
    """Nested lists as tuples, and a list of one value as that value.

    A one-value list broadcasts exactly as the number does, in both layers, so
    ``scale: [0.5]`` and ``scale: 0.5`` are configured alike.
    """
    if not isinstance(value, list | tuple):
        return value
    leaves = _leaves(value)
    if len(leaves) == 1:
        return leaves[0]
    return tuple(_values_canonical(v) for v in value)


def _shown(dims: tuple[int, ...]) -> str:
    return "a number" if not dims else "an array of shape " + fmt(dims)


# ---------------------------------------------------------------------------- rescaling


class RescalingAttrs(Attrs):
    scale: PerChannel = _f(
        "Multiplies the input: one number (`$1/255`) or one per channel (the last axis)."
    )
    offset: PerChannel = _f(
        "Added after scaling: one number or one per channel (the last axis).", default=0.0
    )

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        return {key: _values_canonical(getattr(self, key)) for key in ("scale", "offset")}


def _per_channel(attrs: RescalingAttrs) -> dict[str, int]:
    """Attribute -> number of values, for the attributes given as a list of several."""
    values = {key: getattr(attrs, key) for key in ("scale", "offset")}
    return {k: len(v) for k, v in values.items() if isinstance(v, list) and len(v) > 1}


def rescaling_shape(attrs: RescalingAttrs, inputs: Sequence[Shape]) -> Shape:
    """The shape stays; per-channel lists must fit the last axis and each other.

    Keras multiplies with numpy broadcasting and declares the input's shape as the
    output's: a list of the wrong length fails when the model runs, and a list on a
    single channel silently widens the output, so both are refused here. With an
    unknown channel count only lists of different lengths are sure to fail.
    """
    (shape,) = inputs
    lengths = _per_channel(attrs)
    channels = shape[-1] if shape else 1  # a scalar per example broadcasts like one channel
    for key, n in lengths.items():
        if channels is not None and n != channels:
            plural = "s" if channels != 1 else ""
            raise ShapeError(
                f"`{key}` has {n} values, one per channel, and the input has {channels} "
                f"channel{plural} (its last axis); give one value"
                + ("" if channels == 1 else f" or {channels}")
            )
    if len(set(lengths.values())) > 1:
        raise ShapeError(
            f"`scale` has {lengths['scale']} values and `offset` {lengths['offset']}: "
            "per-channel lists need one value per channel each"
        )
    return shape


# ---------------------------------------------------------------------------- normalization


#: Keras stores ``axis=None`` as an empty tuple, so an empty list means the same
NormAxes = StrictInt | list[StrictInt] | None


class NormalizationAttrs(Attrs):
    axis: NormAxes = _f(
        "Axis or axes with a mean and variance per index (-1: per channel); null (or []): "
        "one mean and variance for all values.",
        default=-1,
    )
    mean: NumberArray | None = _f(
        "Mean(s), broadcast to the sizes of the axes (aligned from the last); with "
        "`variance`, or neither: the built layer then needs `adapt` on data.",
        default=None,
        validate_default=True,
    )
    variance: NumberArray | None = _f(
        "Variance(s), of the same shape as `mean`.", default=None, validate_default=True
    )
    invert: StrictBool = _f(
        "Undo the normalisation instead: input * sqrt(variance) + mean.", default=False
    )

    @field_validator("mean")
    @classmethod
    def _mean_shape(cls, value: Any) -> Any:
        return _rectangular(value)

    @field_validator("variance")
    @classmethod
    def _variance_like_mean(cls, value: Any, info: ValidationInfo) -> Any:
        # `axis` and `mean` come first, so what they hold is known here; one that was
        # refused is missing from the data and reported on its own
        if "mean" in info.data:
            _check_statistics(info.data["mean"], value, info.data.get("axis", ...))
        return value

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        """Axes as a sorted tuple counted from the batch axis (null: none); values as tuples."""
        axes = _axis_list(self.axis)
        if input_rank is not None:
            axes = [a + input_rank + 1 if a < 0 else a for a in axes]
        return {
            "axis": tuple(sorted(axes)),
            "mean": _values_canonical(self.mean),
            "variance": _values_canonical(self.variance),
            "invert": self.invert,
        }


def _check_statistics(mean: Any, variance: Any, axis: Any) -> None:
    """Refuse what Keras's constructor refuses, and a negative variance.

    ``axis`` is ``...`` when it was refused itself. Keras compares the shapes numpy
    gives (a number and a one-value list differ) and allows ``mean`` as many axes as
    ``axis`` names at most.
    """
    if (mean is None) != (variance is None):
        raise ValueError(
            "give `mean` and `variance` together, or neither (the built layer is then "
            "adapted to data)"
        )
    if variance is None:
        return
    dims = _dims(mean)
    if _dims(variance) != dims:
        raise ValueError(
            f"`mean` is {_shown(dims)} and `variance` {_shown(_dims(variance))}; they "
            "must have the same shape"
        )
    if any(v < 0 for v in _leaves(variance)):
        raise ValueError("a variance is never negative (Keras would give NaN everywhere)")
    if axis is ... or len(dims) <= len(_axis_list(axis)):
        return
    if not _axis_list(axis):
        raise ValueError("`axis` is null, so `mean` and `variance` must be single numbers")
    count = len(_axis_list(axis))
    raise ValueError(
        f"`mean` and `variance` have {len(dims)} axes (shape {fmt(dims)}), more than the "
        f"{count} {'axes' if count > 1 else 'axis'} `axis` names"
    )


def _axis_list(axis: int | list[int] | None) -> list[int]:
    if axis is None:
        return []
    return [axis] if isinstance(axis, int) else list(axis)


def _kept(attrs: NormalizationAttrs, shape: Shape) -> list[int]:
    """Indices (without the batch axis) of the axes with their own mean, in increasing order.

    Keras sorts them so: it sizes the statistics, and aligns a given mean, in that order.
    """
    return sorted(feature_axes(_axis_list(attrs.axis), len(shape)))


def normalization_shape(attrs: NormalizationAttrs, inputs: Sequence[Shape]) -> Shape:
    """The shape stays; the kept axes must have known sizes that a given mean fits.

    Keras refuses an unknown kept size when it builds the layer, with or without a
    given mean. A given mean lines up with the kept axes from the last one, and each
    of its sizes must be 1 or the axis's own size.
    """
    (shape,) = inputs
    kept = _kept(attrs, shape)
    for index in kept:
        if shape[index] is None:
            raise ShapeError(
                f"axis {index + 1} must have a known size: the layer keeps a mean and a "
                "variance per index along it"
            )
    if attrs.mean is not None:
        dims = _dims(attrs.mean)
        for index, size in zip(kept[len(kept) - len(dims) :], dims, strict=True):
            if size not in (1, shape[index]):
                raise ShapeError(
                    f"`mean` and `variance` have {size} values along axis {index + 1}, "
                    f"which has size {shape[index]}; give 1 or {shape[index]}"
                )
    return shape


def normalization_weights(
    attrs: NormalizationAttrs, inputs: Sequence[Shape], output: Shape
) -> list[Weight]:
    """Without a given mean, the statistics ``adapt`` fills in, and the count Keras keeps.

    The count is a scalar integer weight (kept for old saved models), which
    ``count_params`` counts as one.
    """
    if attrs.mean is not None:
        return []
    shape = inputs[0]
    sizes = tuple(shape[i] for i in _kept(attrs, shape))
    if any(d is None for d in sizes):  # the shape rule refuses it first
        raise ShapeError("the kept axes must have known sizes: they size the mean and variance")
    return [
        Weight("mean", sizes, trainable=False),  # type: ignore[arg-type]
        Weight("variance", sizes, trainable=False),  # type: ignore[arg-type]
        Weight("count", (), trainable=False),
    ]


# ---------------------------------------------------------------------------- images


class _ImageSizeAttrs(Attrs):
    height: PosInt = _f("Height of the output image.")
    width: PosInt = _f("Width of the output image.")


class CenterCropAttrs(_ImageSizeAttrs):
    pass


class ResizingAttrs(_ImageSizeAttrs):
    interpolation: Interpolation = _f("How new values are computed.", default="bilinear")
    crop_to_aspect_ratio: StrictBool = _f(
        "Crop the largest centred window of the output's aspect ratio first, so the image "
        "is not distorted.",
        default=False,
    )
    pad_to_aspect_ratio: StrictBool = _f(
        "Pad the short side evenly to the output's aspect ratio first, so the image is "
        "not distorted.",
        default=False,
    )
    fill_mode: FillMode = _f(
        "How padding is filled (Keras knows only `constant`).", default="constant"
    )
    fill_value: Number = _f("Value of the padding.", default=0.0)
    antialias: StrictBool = _f("Filter with an anti-aliasing kernel when shrinking.", default=False)

    @field_validator("pad_to_aspect_ratio")
    @classmethod
    def _not_both(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("crop_to_aspect_ratio"):
            raise ValueError(
                "`crop_to_aspect_ratio` is true as well, and Keras does one or the other"
            )
        return value


def image_shape(attrs: _ImageSizeAttrs, inputs: Sequence[Shape]) -> Shape:
    """(height, width, channels) for an image: the target size, the channels stay.

    Keras takes a 3-D or 4-D tensor, batch included: an image, or a batch of images.
    In a model the batch axis is always there, so an image input is 3-D here; a 2-D
    input would reach Keras as one image whose height is the batch. ``center_crop``
    gives the target size also when it is larger than the input: Keras then resizes
    the largest window of the target's aspect ratio instead of cropping. (Traced with
    unknown sizes, as ``predict`` may do, Keras slices instead, a bug of Keras's.)
    """
    (shape,) = inputs
    if len(shape) != 3:
        why = "; Keras would read its batch axis as the image height" if len(shape) == 2 else ""
        raise ShapeError(f"takes images (height, width, channels), got {fmt(shape)}{why}")
    return (attrs.height, attrs.width, shape[2])


# ---------------------------------------------------------------------------- the ops

_OPS = [
    OpDef(
        "rescaling", "Rescaling", RescalingAttrs, rescaling_shape,
        "Multiplies by `scale` and adds `offset` (e.g. pixels in [0, 255] to [0, 1]).",
        aliases=("rescale",), shorthand="scale",
    ),
    OpDef(
        "normalization", "Normalization", NormalizationAttrs, normalization_shape,
        "Subtracts a mean and divides by the standard deviation, given or adapted to data.",
        weights=normalization_weights,
    ),
    OpDef(
        "resizing", "Resizing", ResizingAttrs, image_shape,
        "Resizes images to a height and width.", aliases=("resize",),
    ),
    OpDef(
        "center_crop", "CenterCrop", CenterCropAttrs, image_shape,
        "Crops the centre of images to a height and width (resizing smaller images).",
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
