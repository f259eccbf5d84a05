"""Tensor arithmetic as Keras 3 records it: ``x + 3.0``, ``inputs + x``, ``ops.mean(x, 1)``.

When a functional model is written with Python operators or ``keras.ops`` calls, Keras
records each as an operation node of its own (``keras.src.ops.numpy.Add``), not a layer.
MobileNetV3's hard sigmoid is ``ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`` and ConvNeXt's
residual is ``inputs + x``. These ops emit exactly those nodes, so a spec reproduces
such a model node for node, and the importer reads them back.

A binary op takes two operands, ``x`` and ``y``, each a number or a node name; the one
left out is the step before. ``ops.add: 3.0`` is ``x + 3.0``; ``ops.add: {x: shortcut}``
is ``shortcut + x``, the order ConvNeXt writes. Operands are broadcast as Keras
broadcasts them; two nodes must have the same number of axes, because Keras would
otherwise line one's batch axis up with an axis of the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from archspec.ops import shapes
from archspec.ops.registry import REGISTRY, Attrs, OpDef
from archspec.ops.shapes import Shape, ShapeError, feature_axes, fmt
from archspec.ops.wiring import CallError, NameOf, Ref, Wiring, is_tensor

#: where Keras defines the operations its tensors' operators record
NUMPY_OPS = "keras.src.ops.numpy"
#: a number operand: finite, as a constant in a model must be
Number = Annotated[StrictInt | StrictFloat, Field(allow_inf_nan=False)]
NodeName = Annotated[str, Field(min_length=1, description="A node's name.")]
Operand = Number | NodeName
#: the canonical form of a node operand: which node is a connection, compared apart
NODE = "<node>"


class BinaryAttrs(Attrs):
    """Two operands, numbers or node names; the one left out is the step before."""

    x: Operand | None = Field(
        default=None, description="First operand: a number or a node (default: the step before)."
    )
    y: Operand | None = Field(
        default=None, description="Second operand: a number or a node (default: the step before)."
    )

    @model_validator(mode="after")
    def _one_default(self) -> BinaryAttrs:
        if self.x is None and self.y is None:
            raise ValueError("give the other operand, `y` (a number or a node name)")
        if _is_number(self.x) and _is_number(self.y):
            raise ValueError(
                "both operands are numbers, which makes a constant, not a layer; "
                "leave one out to use the step before"
            )
        return self

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        return {k: NODE if not _is_number(v) else v for k, v in (("x", self.x), ("y", self.y))}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class UnaryAttrs(Attrs):
    """No attributes: the op applies to each value of the step before."""


class ReduceAttrs(Attrs):
    """A reduction over feature axes, as ``keras.ops.mean(x, axis, keepdims)``."""

    axis: StrictInt | list[StrictInt] = Field(
        description="Axis or axes reduced, counting the batch axis as 0 (e.g. `[1, 2]` "
        "over an image's height and width)."
    )
    keepdims: StrictBool = Field(default=False, description="Keep reduced axes with size 1.")

    @field_validator("axis")
    @classmethod
    def _axes(cls, value: int | list[int]) -> int | list[int]:
        if isinstance(value, list) and not value:
            raise ValueError("name at least one axis")
        return value

    def canonical(self, input_rank: int | None = None) -> dict[str, object]:
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        if input_rank is not None:
            axes = [a + input_rank + 1 if a < 0 else a for a in axes]
        return {"axis": tuple(sorted(axes)), "keepdims": self.keepdims}


@dataclass(frozen=True)
class OperandWiring(Wiring):
    """``x`` and ``y`` operands: the node ones are inputs, in that order."""

    attributes: tuple[str, ...] = ("x", "y")

    def refs(self, attrs: Any) -> list[tuple[str | None, Ref]]:
        out: list[tuple[str | None, Ref]] = []
        for key in self.attributes:
            value = getattr(attrs, key)
            if value is None:
                out.append((None, None))
            elif isinstance(value, str):
                out.append((key, value))
        return out

    def call(self, layer: Any, tensors: Sequence[Any], attrs: Any) -> Any:
        given = iter(tensors)
        values = [getattr(attrs, key) for key in self.attributes]
        operands = [v if _is_number(v) else next(given) for v in values]
        return layer(*operands)

    def read(self, args: Sequence[Any], kwargs: dict[str, Any], name_of: NameOf) -> dict[str, Any]:
        if len(args) != 2 or kwargs or not all(is_tensor(a) or _is_number(a) for a in args):
            raise CallError(
                f"called with ({', '.join(type(a).__name__ for a in args)}); archspec reads "
                "two operands, tensors or numbers"
            )
        return {
            key: name_of(value) if is_tensor(value) else value
            for key, value in zip(self.attributes, args, strict=True)
        }


OPERANDS = OperandWiring()


def broadcast(attrs: BinaryAttrs, inputs: Sequence[Shape]) -> Shape:
    """The shape of ``x op y`` by Keras's broadcasting rule (a number is a scalar).

    Keras's rule, which this follows to the letter: sizes are compared from the last
    axis; a size of 1 takes the other's, an unknown size takes the other's unless that
    is 1, and two different known sizes cannot be broadcast.
    """
    if len(inputs) == 1:
        return inputs[0]
    first, second = inputs
    if len(first) != len(second):
        raise ShapeError(
            f"the operands have {len(first) + 1} and {len(second) + 1} axes, batch included "
            f"({fmt(first)} and {fmt(second)}): Keras would line the batch axis of one up "
            "with an axis of the other; reshape one so both have the same number of axes"
        )
    out: list[int | None] = []
    for a, b in zip(first, second, strict=True):
        if a == 1:
            out.append(b)
        elif a is None:
            out.append(None if b == 1 else b)
        elif b in (1, None, a):
            out.append(a)
        else:
            raise ShapeError(f"cannot broadcast {fmt(first)} and {fmt(second)}: sizes {a} and {b}")
    return tuple(out)


def reduced(attrs: ReduceAttrs, inputs: Sequence[Shape]) -> Shape:
    """The shape after reducing ``axis``, which may not include the batch axis."""
    shape = inputs[0]
    rank = len(shape)
    axes = [attrs.axis] if isinstance(attrs.axis, int) else attrs.axis
    if any(a in (0, -(rank + 1)) for a in axes):
        raise ShapeError(
            "`axis` includes the batch axis (0), which would mix the examples of a batch"
        )
    indices = feature_axes(axes, rank)
    if len(set(indices)) < len(indices):
        raise ShapeError(f"`axis` names one axis twice: {axes}")
    if attrs.keepdims:
        return tuple(1 if i in indices else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in indices)


def _binary(name: str, cls: str, doc: str) -> OpDef:
    return OpDef(
        f"ops.{name}", cls, BinaryAttrs, broadcast, doc, shorthand="y",
        wiring=OPERANDS, keras_module=NUMPY_OPS, layer=False,
    )  # fmt: skip


def _unary(name: str, cls: str, doc: str, aliases: tuple[str, ...] = ()) -> OpDef:
    return OpDef(
        f"ops.{name}", cls, UnaryAttrs, shapes.same, doc, aliases=aliases, keras_module=NUMPY_OPS,
        layer=False,
    )  # fmt: skip


def _reduce(name: str, cls: str, doc: str) -> OpDef:
    return OpDef(
        f"ops.{name}", cls, ReduceAttrs, reduced, doc, shorthand="axis", keras_module=NUMPY_OPS,
        layer=False,
    )  # fmt: skip


_OPS = [
    _binary("add", "Add", "`x + y` (keras.ops.add), a number or a node with a node."),
    _binary("subtract", "Subtract", "`x - y` (keras.ops.subtract)."),
    _binary("multiply", "Multiply", "`x * y` (keras.ops.multiply)."),
    _binary("true_divide", "TrueDivide", "`x / y`, as Python's `/` records it."),
    _binary("divide", "Divide", "keras.ops.divide(x, y)."),
    _binary("power", "Power", "`x ** y` (keras.ops.power)."),
    _binary("maximum", "Maximum", "keras.ops.maximum(x, y), element-wise."),
    _binary("minimum", "Minimum", "keras.ops.minimum(x, y), element-wise."),
    _unary("negative", "Negative", "`-x` (keras.ops.negative)."),
    _unary("absolute", "Absolute", "keras.ops.abs(x).", aliases=("ops.abs",)),
    _unary("square", "Square", "keras.ops.square(x)."),
    _unary("sqrt", "Sqrt", "keras.ops.sqrt(x)."),
    _unary("exp", "Exp", "keras.ops.exp(x)."),
    _unary("log", "Log", "keras.ops.log(x)."),
    _unary("tanh", "Tanh", "keras.ops.tanh(x)."),
    _reduce("mean", "Mean", "Mean over feature axes (keras.ops.mean)."),
    _reduce("sum", "Sum", "Sum over feature axes (keras.ops.sum)."),
    _reduce("max", "Max", "Maximum over feature axes (keras.ops.max)."),
]

for _op in _OPS:
    REGISTRY.add(_op)
