"""Attention and the dot product of two nodes, with attributes named exactly as in Keras 3.

``multi_head_attention`` and ``attention`` take named input nodes, as Keras's calls do:
a ``query`` (default: the step before), a ``value`` (default: the query, which makes
self-attention) and an optional ``key`` (default: none, and Keras uses the value). The
call argument ``use_causal_mask`` is an attribute too. ``dot`` is a merge of two named
nodes, like ``subtract``.

What each layer accepts is what Keras builds *and runs* with the shape it declared; a
few things Keras takes silently are refused, each with its reason:

- ``attention_axes`` naming the batch axis, the query's last axis (Keras then attends
  across the heads or the channels of its projections) or one axis twice;
- a causal mask or ``sliding_window`` with attention over other axes than axis 1 alone:
  Keras builds those masks from the sizes of axis 1, whatever the attention runs over;
- ``attention`` on 1-D inputs (Keras attends across the examples of a batch), on inputs
  of different ranks, or broadcasting the axes before the last two (the output's
  declared shape would then be wrong);
- ``dot`` with a negative axis beyond the input's rank (Keras wraps it around);
- attention scores with more axes than TensorFlow normalises: 5 along one axis (the
  oneDNN CPU softmax), 8 along several (Keras's logsumexp);
- ``flash_attention: true``: TensorFlow has none (Keras fails where it would use it)
  and Keras leaves it out of the saved config.

Settings that make a layer return two tensors (``return_attention_scores``) are refused
with their reason: an archspec node has one output. Masks given as tensors
(``attention_mask``) are out of scope; a model calling a layer with one is refused by
the importer.

Weights are Keras's own: the query, key, value (and gate) projections of multi-head
attention as einsum kernels of shape (features, heads, size per head), its output
projection (heads, value size, *output shape), and the scalar ``scale`` and
``concat_score_weight`` of dot-product attention. MACs count the projections and the
two products of attention, query by key and scores by value, per example; the
additions, tanh and softmax count zero, as elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field, StrictBool, StrictInt, field_validator

from archspec.ops.constraints import Constraint
from archspec.ops.costs import Weight
from archspec.ops.initializers import with_arguments
from archspec.ops.layers import (
    MAX_SEED,
    BiasInitializer,
    InitializerName,
    PosInt,
    Rate,
    Regularizer,
    Seed,
    _f,
    _refusing,
)
from archspec.ops.registry import MAX_TENSOR_ELEMENTS, REGISTRY, Attrs, OpDef
from archspec.ops.shapes import Shape, ShapeError, fmt
from archspec.ops.wiring import CallError, NameOf, Ref, Wiring, is_tensor

#: The most axes (batch included) of attention scores normalised along one axis:
#: TensorFlow's oneDNN CPU softmax (on by default on x86) fails on more ("Input dims
#: must be <= 5").
MAX_SOFTMAX_AXES = 5
#: The most axes of scores normalised along several axes: Keras then computes a
#: logsumexp, whose TensorFlow kernel selects values by broadcasting, which TensorFlow
#: does for at most 8 axes ("Broadcast between ... is not supported yet").
MAX_SCORE_AXES = 8
#: the canonical form of a node reference: which node is a connection, compared apart
NODE = "<node>"
NodeName = Annotated[str, Field(min_length=1, description="A node's name.")]
#: mask arguments of MultiHeadAttention's call: tensors, which archspec does not take
MASK_ARGUMENTS = ("attention_mask", "query_mask", "value_mask", "key_mask")
#: why a layer returning its attention scores is refused (spec and importer alike)
SCORES_REASON = "gives the attention scores as a second output, and an archspec node has one output"
#: the projections' kernels are 3-D (features, heads, size per head)
NOT_FOR_PROJECTIONS = {
    "identity": "fills only 2-D weights (a dense kernel), not the 3-D projection kernels "
    "(features, heads, size per head)"
}
ProjectionInitializer = with_arguments(
    Annotated[
        Literal[tuple(n for n in get_args(InitializerName) if n not in NOT_FOR_PROJECTIONS)],  # type: ignore[misc]
        _refusing(NOT_FOR_PROJECTIONS),
    ]
)


def _only_false(reason: str) -> AfterValidator:
    """A validator refusing ``true`` for a Keras setting archspec cannot represent."""

    def check(value: bool | None) -> bool | None:
        if value:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


ReturnScores = Annotated[StrictBool, _only_false(SCORES_REASON)]
#: Keras leaves `flash_attention` out of the layer's config, and TensorFlow has none
FlashAttention = Annotated[
    StrictBool | None,
    _only_false(
        "is not available with the TensorFlow backend archspec builds for (Keras fails "
        "when the model runs it), and Keras does not save it; `false` and null leave it off"
    ),
]


# ---------------------------------------------------------------------------- attributes


class _QueryValueKeyAttrs(Attrs):
    """The inputs of an attention layer, named by node, and the call's causal mask."""

    query: NodeName | None = _f("The node that attends (default: the step before).", default=None)
    value: NodeName | None = _f(
        "The node attended to (default: the query, which makes self-attention).", default=None
    )
    key: NodeName | None = _f(
        "The node the query is compared with (default: none, and Keras uses the value).",
        default=None,
    )
    use_causal_mask: StrictBool = _f(
        "Mask so that position i attends to positions up to i only (a decoder's "
        "self-attention); a call argument in Keras.",
        default=False,
    )
    return_attention_scores: ReturnScores = _f(
        "Only `false`: a node has one output.", default=False
    )

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        out = Attrs.canonical(self, input_rank)
        # which nodes are connections, compared apart; only whether a key is given is not
        out["query"] = out["value"] = NODE
        out["key"] = None if self.key is None else NODE
        return out


class MultiHeadAttentionAttrs(_QueryValueKeyAttrs):
    num_heads: PosInt = _f("Number of attention heads.")
    key_dim: PosInt = _f("Size of each head for the query and key.")
    value_dim: PosInt | None = _f(
        "Size of each head for the value (null: `key_dim`).", default=None
    )
    dropout: Rate = _f("Fraction of the attention scores dropped in training.", default=0.0)
    use_bias: StrictBool = _f("Whether the projections add biases.", default=True)
    output_shape: PosInt | Annotated[list[PosInt], Field(min_length=1)] | None = _f(
        "Shape the output projection gives each position, e.g. `64` or `[4, 16]` "
        "(null: the query's last axis).",
        default=None,
    )
    attention_axes: StrictInt | Annotated[list[StrictInt], Field(min_length=1)] | None = _f(
        "Axes of the query attended over, counting the batch axis as 0 (null: every axis "
        "but the batch and the last).",
        default=None,
    )
    sliding_window: PosInt | None = _f(
        "Each position attends to positions less than this far from it (null: all).",
        default=None,
    )
    flash_attention: FlashAttention = _f(
        "Only `false` or null: the TensorFlow backend has no flash attention.", default=None
    )
    kernel_initializer: ProjectionInitializer = _f(
        "Initializer of the projection kernels.", default="glorot_uniform"
    )
    bias_initializer: BiasInitializer = _f("Initializer of the biases.", default="zeros")
    kernel_regularizer: Regularizer | None = _f(
        "Penalty on the kernels: `l1`, `l2`, `l1_l2` or factors such as `{l2: 1.0e-4}`.",
        default=None,
    )
    bias_regularizer: Regularizer | None = _f("Penalty on the biases.", default=None)
    kernel_constraint: Constraint | None = _f("Constraint on the projection kernels.", default=None)
    bias_constraint: Constraint | None = _f("Constraint on the biases.", default=None)
    use_gate: StrictBool = _f(
        "Gate the attention output by a sigmoid projection of the query.", default=False
    )
    seed: Seed | None = _f(f"Seed of the dropout, from 0 to {MAX_SEED:,}.", default=None)

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        """As Keras's config holds it after building: ``value_dim`` and ``attention_axes``
        filled in, axes counted from the batch axis (sorted: their order does not change
        the result), and ``flash_attention`` left out (Keras does not save it)."""
        out = super().canonical(input_rank)
        del out["flash_attention"]
        out["value_dim"] = self.value_dim or self.key_dim
        if isinstance(self.output_shape, int):
            out["output_shape"] = (self.output_shape,)
        axes = self.attention_axes
        if axes is None and input_rank is not None:
            axes = list(range(1, input_rank))
        elif isinstance(axes, int):
            axes = [axes]
        if axes is not None:
            if input_rank is not None:
                axes = [a + input_rank + 1 if a < 0 else a for a in axes]
            out["attention_axes"] = tuple(sorted(axes))
        return out


class AttentionAttrs(_QueryValueKeyAttrs):
    use_scale: StrictBool = _f("Learn a scalar that scales the attention scores.", default=False)
    score_mode: Literal["dot", "concat"] = _f(
        "How scores are computed: `dot` (query . key) or `concat` (the sum of "
        "tanh(query + key) over the features).",
        default="dot",
    )
    dropout: Rate = _f("Fraction of the attention scores dropped in training.", default=0.0)
    seed: Seed | None = _f(f"Seed of the dropout, from 0 to {MAX_SEED:,}.", default=None)


class DotAttrs(Attrs):
    inputs: Annotated[
        list[str], Field(min_length=2, max_length=2, description="The two nodes multiplied.")
    ]
    axes: StrictInt | Annotated[list[StrictInt], Field(min_length=2, max_length=2)] = _f(
        "Axis summed over, counting the batch axis as 0: one for both inputs, or `[first, second]`."
    )
    normalize: StrictBool = _f(
        "L2-normalise both inputs along the axes first (the cosine similarity).", default=False
    )

    @field_validator("inputs", mode="before")
    @classmethod
    def _two(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) != 2:
            raise ValueError(f"takes exactly two nodes, not {len(value)}")
        return value

    @field_validator("axes", mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) != 2:
            raise ValueError(
                f"takes one axis or a list of two (one per input), not a list of {len(value)}"
            )
        return value

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        out = Attrs.canonical(self, input_rank)
        if isinstance(self.axes, int):
            out["axes"] = (self.axes, self.axes)  # what Keras does with one axis
        return out


# ---------------------------------------------------------------------------- wiring


@dataclass(frozen=True)
class _QueryValueKeyWiring(Wiring):
    """Query, value and optional key nodes: inputs in that order."""

    attributes: tuple[str, ...] = ("query", "value", "key")

    def refs(self, attrs: Any) -> list[tuple[str | None, Ref]]:
        query: tuple[str | None, Ref] = (
            (None, None) if attrs.query is None else ("query", attrs.query)
        )
        value = query if attrs.value is None else ("value", attrs.value)
        key = [] if attrs.key is None else [("key", attrs.key)]
        return [query, value, *key]

    def _flags(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's flags as attributes; refuses the scores as a second output."""
        if kwargs.get("return_attention_scores"):
            raise CallError(f"called with `return_attention_scores=True`, which {SCORES_REASON}")
        causal = kwargs.get("use_causal_mask")
        if causal is None:
            return {}
        if not isinstance(causal, bool):
            raise CallError(
                f"called with `use_causal_mask` set to a {type(causal).__name__}; archspec "
                "reads `True` or `False`"
            )
        return {"use_causal_mask": causal}


def _causal(attrs: Any) -> dict[str, Any]:
    return {"use_causal_mask": True} if attrs.use_causal_mask else {}


def _named(role: str, value: Any, name_of: NameOf) -> str:
    if not is_tensor(value):
        raise CallError(
            f"called with a {type(value).__name__} as the {role}; archspec reads tensors"
        )
    return name_of(value)


@dataclass(frozen=True)
class MultiHeadAttentionWiring(_QueryValueKeyWiring):
    """``layer(query, value, key=key, use_causal_mask=True)``, as a person writes it."""

    call_arguments: tuple[str, ...] = (
        "query", "value", "key", "use_causal_mask", "return_attention_scores", *MASK_ARGUMENTS
    )  # fmt: skip

    def call(self, layer: Any, tensors: Sequence[Any], attrs: Any) -> Any:
        query, value, *key = tensors
        keyed = {"key": key[0]} if key else {}
        return layer(query, value, **keyed, **_causal(attrs))

    def read(self, args: Sequence[Any], kwargs: dict[str, Any], name_of: NameOf) -> dict[str, Any]:
        """Positional or keyword query, value and key (Keras records them as written)."""
        masks = [k for k in MASK_ARGUMENTS if k in kwargs]
        if masks:
            raise CallError(
                f"called with a mask tensor (`{masks[0]}`); masks given as tensors are out "
                "of archspec's scope: a node's inputs are its query, value and key (a mask "
                "from `embedding: {mask_zero: true}` passes without one)"
            )
        if len(args) > len(self.attributes):
            raise CallError(
                f"called with {len(args)} positional arguments; archspec reads the query, "
                "value and key"
            )
        given = dict(zip(self.attributes, args, strict=False))
        given.update({k: kwargs[k] for k in self.attributes if k in kwargs})
        if "query" not in given or "value" not in given:
            raise CallError("called without a query and a value; archspec reads both")
        out = {role: _named(role, tensor, name_of) for role, tensor in given.items()}
        return {**out, **self._flags(kwargs)}


@dataclass(frozen=True)
class AttentionWiring(_QueryValueKeyWiring):
    """``layer([query, value, key], use_causal_mask=True)``: Keras takes one list."""

    call_arguments: tuple[str, ...] = (
        "inputs", "use_causal_mask", "return_attention_scores", "mask"
    )  # fmt: skip

    def call(self, layer: Any, tensors: Sequence[Any], attrs: Any) -> Any:
        return layer(list(tensors), **_causal(attrs))

    def read(self, args: Sequence[Any], kwargs: dict[str, Any], name_of: NameOf) -> dict[str, Any]:
        if "mask" in kwargs:
            raise CallError(
                "called with mask tensors (`mask`); masks given as tensors are out of "
                "archspec's scope: a node's inputs are its query, value and key"
            )
        inputs = args[0] if len(args) == 1 and "inputs" not in kwargs else kwargs.get("inputs")
        if len(args) > 1 or not isinstance(inputs, list | tuple) or not 2 <= len(inputs) <= 3:
            raise CallError(
                f"called with ({', '.join(type(a).__name__ for a in args)}); archspec reads "
                "calls on a list [query, value] or [query, value, key]"
            )
        out = {
            role: _named(role, tensor, name_of)
            for role, tensor in zip(self.attributes, inputs, strict=False)
        }
        return {**out, **self._flags(kwargs)}


MHA_WIRING = MultiHeadAttentionWiring()
ATTENTION_WIRING = AttentionWiring()


# ---------------------------------------------------------------------------- shapes


def _query_value_key(inputs: Sequence[Shape]) -> tuple[Shape, Shape, Shape]:
    """The query, value and key shapes; without a key, Keras uses the value."""
    query, value, *rest = inputs
    return query, value, rest[0] if rest else value


def _same_rank(query: Shape, value: Shape, key: Shape, why: str) -> None:
    if len(value) != len(query) or len(key) != len(query):
        shown = ", ".join(fmt(s) for s in (query, value, key))
        raise ShapeError(
            f"the query, value and key need the same number of axes, got {shown}: {why}"
        )


def _differ(a: int | None, b: int | None) -> bool:
    """Two sizes known to differ (an unknown size is checked only when the model runs)."""
    return a is not None and b is not None and a != b


def attention_axes(attrs: Any, rank: int) -> tuple[int, ...]:
    """The axes multi-head attention runs over, counted from the batch axis, as Keras
    resolves them for a query of ``rank`` axes (without the batch axis).

    Keras counts a negative axis from the end of the query (-1: its last axis). It builds
    on the batch axis, the last axis (whose place the heads take in its projections) and
    one beyond (the size per head), and on an axis named twice, attending across the
    examples, the heads or the channels: each is refused here.
    """
    written = attrs.attention_axes
    if written is None:
        return tuple(range(1, rank))
    written = [written] if isinstance(written, int) else written
    axes = [a + rank + 1 if a < 0 else a for a in written]
    for a, given in zip(axes, written, strict=True):
        if a == 0:
            raise ShapeError(
                "`attention_axes` includes the batch axis (0), which would mix the examples "
                "of a batch"
            )
        if not 1 <= a < rank:
            raise ShapeError(
                f"`attention_axes` names axis {given}, which is not a position axis of the "
                f"{rank + 1}-D query (batch, positions, features): give axes from 1 to "
                f"{rank - 1}, or from {-rank} to -2"
            )
    if len(set(axes)) < len(axes):
        raise ShapeError(f"`attention_axes` names one axis twice: {written}")
    return tuple(axes)


def _output_dims(attrs: Any) -> tuple[int, ...] | None:
    shape = attrs.output_shape
    if shape is None:
        return None
    return (shape,) if isinstance(shape, int) else tuple(shape)


def mha_shape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """The query's shape, its last axis replaced by ``output_shape`` when given.

    Keras checks that the value and key agree on every axis but the last (an unknown
    size only matches another unknown size); when the model runs, the query's axes that
    attention does not run over must match the value's, and the ranks must be equal.
    """
    query, value, key = _query_value_key(inputs)
    rank = len(query)
    if rank < 2:
        raise ShapeError(
            f"needs a query of at least 2 axes (positions, features), got {fmt(query)}: "
            "Keras has no axis to attend over"
        )
    _same_rank(query, value, key, "Keras projects them alike")
    if value[:-1] != key[:-1]:
        raise ShapeError(
            f"the value {fmt(value)} and key {fmt(key)} must agree on every axis but the last "
            "(an unknown size matches only an unknown size, as Keras checks)"
        )
    axes = attention_axes(attrs, rank)
    for axis in range(1, rank):
        q, v = query[axis - 1], value[axis - 1]
        if axis not in axes and _differ(q, v):
            raise ShapeError(
                f"the query {fmt(query)} and value {fmt(value)} differ on axis {axis} "
                f"({q} and {v}), which attention does not run over (it runs over "
                f"{list(axes)}): they must agree there"
            )
    _masks_on_axis_1(attrs, axes)
    _scores_rank(rank, axes)
    _scores_fit(attrs.num_heads, query, key, axes)
    dims = _output_dims(attrs)
    return (*query[:-1], *dims) if dims else query


def _masks_on_axis_1(attrs: Any, axes: tuple[int, ...]) -> None:
    """Keras builds the causal and sliding-window masks from the sizes of axis 1."""
    for name, on in (
        ("use_causal_mask", attrs.use_causal_mask),
        ("sliding_window", attrs.sliding_window is not None),
    ):
        if on and axes != (1,):
            raise ShapeError(
                f"`{name}` masks along axis 1 alone (Keras builds the mask from the sizes "
                f"of axis 1), but attention runs over axes {list(axes)}: set "
                "`attention_axes: [1]`"
            )


def _scores_rank(rank: int, axes: tuple[int, ...]) -> None:
    """Refuses scores with more axes than TensorFlow normalises: the scores hold the
    batch, the axes not attended over, the heads, then the query's and key's attended
    axes."""
    scores = rank + 1 + len(axes)
    if len(axes) == 1 and scores > MAX_SOFTMAX_AXES:
        raise ShapeError(
            f"attention over one axis of a {rank + 1}-D query makes scores of {scores} "
            f"axes, and TensorFlow's CPU softmax (oneDNN) takes at most {MAX_SOFTMAX_AXES}: "
            "attend over more axes, or reshape the query to fewer"
        )
    if scores > MAX_SCORE_AXES:
        raise ShapeError(
            f"attention over {len(axes)} axes of a {rank + 1}-D query makes scores of "
            f"{scores} axes, and TensorFlow normalises scores of at most {MAX_SCORE_AXES}: "
            "attend over fewer axes, or reshape the query to fewer"
        )


def _scores_fit(heads: int, query: Shape, key: Shape, axes: tuple[int, ...]) -> None:
    """Refuses attention scores larger than any tensor may be, as for outputs."""
    size = heads
    for axis in axes:
        for d in (query[axis - 1], key[axis - 1]):
            size *= d or 1
    if size > MAX_TENSOR_ELEMENTS:
        raise ShapeError(
            f"the attention scores would hold {size:,} values per example, more than the "
            f"limit of {MAX_TENSOR_ELEMENTS:,}"
        )


def attention_shape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """The query's shape with the value's last axis.

    Keras multiplies the query by the key, then the scores by the value, as batched
    matrix products over the axes before the last two. What it refuses when the model
    runs is refused here: the key's features (``dot``) or steps differing from the
    query's or the value's. What it broadcasts is refused too (see the module's doc).
    """
    query, value, key = _query_value_key(inputs)
    if len(query) < 2:
        raise ShapeError(
            f"needs a query of at least 2 axes (steps, features), got {fmt(query)}: Keras "
            "would attend across the examples of a batch"
        )
    _same_rank(query, value, key, "Keras would broadcast one against the others")
    if len(query) + 1 > MAX_SOFTMAX_AXES:
        raise ShapeError(
            f"the scores of a {len(query) + 1}-D query have as many axes, and TensorFlow's "
            f"CPU softmax (oneDNN) takes at most {MAX_SOFTMAX_AXES}: reshape the inputs to "
            "fewer axes"
        )
    for axis in range(1, len(query) - 1):
        sizes = [s[axis - 1] for s in (query, value, key)]
        known = {d for d in sizes if d is not None}
        if len(known) > 1:
            raise ShapeError(
                f"the query, value and key differ on axis {axis} ({', '.join(map(str, sizes))}), "
                "one of the axes before the last two, which must agree"
            )
    if _differ(key[-2], value[-2]):
        raise ShapeError(
            f"the key {fmt(key)} and value {fmt(value)} need the same number of steps "
            "(their axis before the last)"
        )
    _features_match(attrs, query, key)
    return (*query[:-1], value[-1])


def _features_match(attrs: Any, query: Shape, key: Shape) -> None:
    """``dot`` multiplies the query's features by the key's; ``concat`` adds them, which
    broadcasts a size of 1."""
    q, k = query[-1], key[-1]
    if not _differ(q, k) or (attrs.score_mode == "concat" and 1 in (q, k)):
        return
    raise ShapeError(
        f"the query {fmt(query)} and key {fmt(key)} need the same last axis (features) "
        f"for `{attrs.score_mode}` scores, got {q} and {k}"
    )


def dot_axes(attrs: Any, inputs: Sequence[Shape]) -> tuple[int, int]:
    """The axis of each input summed over, as an index into its shape (without batch)."""
    written = (attrs.axes, attrs.axes) if isinstance(attrs.axes, int) else attrs.axes
    out = []
    for which, axis, shape in zip(("first", "second"), written, inputs, strict=True):
        rank = len(shape) + 1
        index = axis + rank if axis < 0 else axis
        if index == 0:
            raise ShapeError(
                f"`axes` names the batch axis of the {which} input ({axis}), which would mix "
                "the examples of a batch"
            )
        if not 0 < index < rank:
            raise ShapeError(
                f"`axes` names axis {axis}, which is not an axis of the {which} input "
                f"{fmt(shape)} ({rank}-D with the batch axis)"
            )
        out.append(index - 1)
    return out[0], out[1]


def dot_shape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """The first input's axes without the summed one, then the second's; ``(1,)`` when
    nothing is left, as Keras keeps a result of at least 2 axes with the batch."""
    first, second = inputs
    a, b = dot_axes(attrs, inputs)
    if first[a] != second[b]:
        unknown = " (an unknown size matches only an unknown size, as Keras checks)"
        raise ShapeError(
            f"the axes summed over differ: {first[a]} in {fmt(first)} and {second[b]} in "
            f"{fmt(second)}{unknown if None in (first[a], second[b]) else ''}"
        )
    out = (*first[:a], *first[a + 1 :], *second[:b], *second[b + 1 :])
    return out or (1,)


# ---------------------------------------------------------------------------- weights and MACs


def _features(shape: Shape, role: str) -> int:
    features = shape[-1]
    if features is None:
        raise ShapeError(
            f"the {role}'s last axis must have a known size: it sizes the {role} projection"
        )
    return features


def _head_sizes(attrs: Any) -> tuple[int, int, int]:
    """Heads, size per head of query and key, size per head of value."""
    return attrs.num_heads, attrs.key_dim, attrs.value_dim or attrs.key_dim


def mha_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    """Einsum kernels (features, heads, size) and biases (heads, size) per projection, in
    Keras's order, then the output projection (heads, value size, *output shape)."""
    query, value, key = _query_value_key(inputs)
    heads, key_dim, value_dim = _head_sizes(attrs)
    # the value first: without a key, Keras projects the value as the key
    features = _features(query, "query")
    values = _features(value, "value")
    projections = [("query", features, key_dim), ("key", _features(key, "key"), key_dim)]
    if attrs.use_gate:
        projections.append(("gate", features, value_dim))
    projections.append(("value", values, value_dim))
    out: list[Weight] = []
    for name, size, per_head in projections:
        out.append(Weight(f"{name}/kernel", (size, heads, per_head)))
        if attrs.use_bias:
            out.append(Weight(f"{name}/bias", (heads, per_head)))
    dims = _output_dims(attrs) or (features,)
    out.append(Weight("attention_output/kernel", (heads, value_dim, *dims)))
    if attrs.use_bias:
        out.append(Weight("attention_output/bias", dims))
    return out


def _product(sizes: Sequence[int | None]) -> int | None:
    total = 1
    for d in sizes:
        if d is None:
            return None
        total *= d
    return total


def mha_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    """The projections at every position, then query by key and scores by value: each
    query position meets every key position along the attention axes, per head."""
    query, value, key = _query_value_key(inputs)
    axes = attention_axes(attrs, len(query))
    positions, sources = _product(query[:-1]), _product(key[:-1])
    attended = _product([key[a - 1] for a in axes])
    if positions is None or sources is None or attended is None:
        return None
    heads, key_dim, value_dim = _head_sizes(attrs)
    features = _features(query, "query")
    projections = positions * features * key_dim + sources * key[-1] * key_dim  # type: ignore[operator]
    projections += sources * value[-1] * value_dim  # type: ignore[operator]
    if attrs.use_gate:
        projections += positions * features * value_dim
    projected = heads * projections
    outputs = positions * heads * value_dim * math.prod(_output_dims(attrs) or (features,))
    products = positions * attended * heads * (key_dim + value_dim)
    return projected + outputs + products


def attention_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    learned = [("scale", attrs.use_scale), ("concat_score_weight", attrs.score_mode == "concat")]
    return [Weight(name, ()) for name, on in learned if on]


def attention_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    """Scores by value, and for ``dot`` scores query by key: (steps of the query) x
    (steps of the key) x features, for each position of the axes before the last two.
    ``concat`` scores are additions and a tanh, which count zero."""
    query, value, key = _query_value_key(inputs)
    features = query[-1] if query[-1] is not None else key[-1]
    leading = [q if q is not None else v for q, v in zip(query[:-2], value[:-2], strict=True)]
    pairs = _product([*leading, query[-2], key[-2] if key[-2] is not None else value[-2]])
    if pairs is None or value[-1] is None:
        return None
    if attrs.score_mode == "dot":
        if features is None:
            return None
        return pairs * (features + value[-1])
    return pairs * value[-1]


def dot_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    """One multiply-accumulate per output value and summed position."""
    a, _ = dot_axes(attrs, inputs)
    return _product([*output, inputs[0][a]])


_OPS = [
    OpDef(
        "multi_head_attention", "MultiHeadAttention", MultiHeadAttentionAttrs, mha_shape,
        "Multi-head attention of a query over a value (and key), as in a Transformer.",
        aliases=("mha",), wiring=MHA_WIRING,
        internal=frozenset({"use_causal_mask", "return_attention_scores"}),
        weights=mha_weights, macs=mha_macs,
    ),
    OpDef(
        "attention", "Attention", AttentionAttrs, attention_shape,
        "Dot-product (Luong) attention of a query over a value, without projections.",
        shorthand="value", wiring=ATTENTION_WIRING,
        internal=frozenset({"use_causal_mask", "return_attention_scores"}),
        weights=attention_weights, macs=attention_macs,
    ),
    OpDef(
        "dot", "Dot", DotAttrs, dot_shape,
        "Dot product of two named nodes along an axis of each (keras.layers.Dot).",
        merge=True, macs=dot_macs,
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
