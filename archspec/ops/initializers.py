"""Initializers with arguments: ``{class: variance_scaling, scale: 2.0, mode: fan_out}``.

Every ``*_initializer`` attribute takes Keras's name (``he_normal``) or a mapping of
``class`` and that class's arguments (see :mod:`archspec.ops.keras_objects`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from archspec.ops.keras_objects import Catalogue, KerasObject, names_of

#: seeds run from 0 to 2**32 - 1, which every Keras backend accepts
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)] | None
Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]

INITIALIZERS = Catalogue(
    "initializer",
    aliases={"normal": "random_normal", "uniform": "random_uniform"},
    mapping_only=frozenset({"constant"}),  # its value is the point of it
)


class _Seeded(KerasObject):
    seed: Seed = Field(default=None, description="Seed, for the same weights on every build.")


class _Fan(_Seeded):
    """Glorot, He, LeCun and variance scaling: Keras also stores the axes it scales by."""

    fixed = {"input_axes": None, "output_axes": None}


def _f(default: Any, description: str) -> Any:
    return Field(default=default, description=description)


_MEAN = (Finite, _f(0.0, "Mean."))
_STDDEV = (Positive, _f(0.05, "Standard deviation."))
INITIALIZERS.add("zeros", "Zeros")
INITIALIZERS.add("ones", "Ones")
INITIALIZERS.add("constant", "Constant", value=(Finite, _f(0.0, "The value of every weight.")))
INITIALIZERS.add("random_normal", "RandomNormal", _Seeded, mean=_MEAN, stddev=_STDDEV)
INITIALIZERS.add("truncated_normal", "TruncatedNormal", _Seeded, mean=_MEAN, stddev=_STDDEV)
INITIALIZERS.add(
    "random_uniform", "RandomUniform", _Seeded,
    minval=(Finite, _f(-0.05, "Lower bound.")), maxval=(Finite, _f(0.05, "Upper bound.")),
)  # fmt: skip
INITIALIZERS.add(
    "variance_scaling", "VarianceScaling", _Fan,
    scale=(Positive, _f(1.0, "Factor on the variance.")),
    mode=(Literal["fan_in", "fan_out", "fan_avg"], _f("fan_in", "Which fan scales it.")),
    distribution=(
        Literal["truncated_normal", "untruncated_normal", "uniform"],
        _f("truncated_normal", "The distribution drawn from."),
    ),
)  # fmt: skip
for _name in ("glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
              "lecun_uniform"):  # fmt: skip
    INITIALIZERS.add(_name, "".join(p.capitalize() for p in _name.split("_")), _Fan)
INITIALIZERS.add(
    "orthogonal", "Orthogonal", _Seeded, gain=(Finite, _f(1.0, "Factor on the matrix."))
)

with_arguments = INITIALIZERS.attribute
canonical = INITIALIZERS.canonical
from_keras = INITIALIZERS.from_keras
__all__ = ["INITIALIZERS", "MAX_SEED", "canonical", "from_keras", "names_of", "with_arguments"]
