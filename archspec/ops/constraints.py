"""Weight constraints: ``kernel_constraint: non_neg`` or ``{class: max_norm, max_value: 3}``.

Every ``*_constraint`` attribute takes Keras's name or a mapping of ``class`` and that
class's arguments (see :mod:`archspec.ops.keras_objects`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt

from archspec.ops.keras_objects import Catalogue

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
#: the axis or axes over which a norm is taken, counted as in Keras (0: the first axis)
Axes = StrictInt | list[StrictInt]

CONSTRAINTS = Catalogue("constraint")


def _f(default: Any, description: str) -> Any:
    return Field(default=default, description=description)


_AXIS = (Axes, _f(0, "Axis or axes of the weight the norm is taken over."))
CONSTRAINTS.add("non_neg", "NonNeg")
CONSTRAINTS.add("unit_norm", "UnitNorm", axis=_AXIS)
CONSTRAINTS.add(
    "max_norm", "MaxNorm", max_value=(NonNegative, _f(2.0, "The largest norm.")), axis=_AXIS
)
CONSTRAINTS.add(
    "min_max_norm", "MinMaxNorm",
    min_value=(NonNegative, _f(0.0, "The smallest norm.")),
    max_value=(NonNegative, _f(1.0, "The largest norm.")),
    rate=(Fraction, _f(1.0, "How far toward the bounds each update moves the norm.")),
    axis=_AXIS,
)  # fmt: skip

#: a constraint attribute: a name, or a mapping of a class and its arguments
Constraint = CONSTRAINTS.attribute(Literal["non_neg", "unit_norm", "max_norm", "min_max_norm"])
canonical = CONSTRAINTS.canonical
from_keras = CONSTRAINTS.from_keras
