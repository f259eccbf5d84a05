"""Multi-head attention, dot-product attention and ``dot``, each checked against Keras.

For every op, hypothesis draws attribute values, call arguments (``use_causal_mask``)
and input shapes (self-attention, a named value and key, wrong ranks, sizes that do not
agree, unknown sizes), and the shared check of tests/ops_harness.py runs: archspec
accepts the layer exactly when Keras builds and runs it (or refuses on purpose, with a
located error), with Keras's output shape, parameter counts and config, and a model
around the hand-built layer imports back to the same IR. The reference is written as a
person writes it: ``mha(query, value, key=key, use_causal_mask=True)`` and
``Attention()([query, value, key])``.

Further tests: a Transformer-like block computes what the hand-written Keras model
computes, MACs, the messages of refusals, and how the importer reads and refuses calls.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from keras import layers

import archspec
from archspec.analysis.stats import analyse
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from archspec.errors import SpecError
from archspec.ops import REGISTRY
from tests.conftest import assert_equivalent
from tests.helpers import spec_error, write
from tests.ops_harness import (
    EXAMPLES,
    NAMES_1D,
    REGULARIZER,
    RUN_SIZES,
    SEEDS,
    SETTINGS,
    SIZES,
    attrs_of,
    check_layer,
    load,
    shape_of,
)

#: these layers build fast and take many attribute and shape combinations: twice the
#: examples of other ops (ARCHSPEC_OPS_EXAMPLES scales them alike)
MORE = settings(SETTINGS, max_examples=2 * EXAMPLES)


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy:
    """``common`` values, and about one time in six a ``rare`` one (most often one refused)."""
    return st.integers(0, 5).flatmap(lambda i: rare if i == 2 else common)


SMALL = st.integers(1, 3)
FLAGS = st.booleans()
RATES = st.sampled_from([0.0, 0.5])
#: query ranks: sequences most often, then images, and rarely a vector (refused)
RANKS = st.sampled_from([2, 2, 3, 2, 3, 4, 1])
#: for `attention`, whose scores are cheap: rarely 5 axes too (refused)
ATTENTION_RANKS = st.sampled_from([2, 2, 3, 2, 3, 4, 1, 5])
#: the most axes of scores TensorFlow's oneDNN CPU softmax takes along one axis, and
#: along several (through a logsumexp that broadcasts)
SOFTMAX_AXES, SCORE_AXES = 5, 8
#: attention axes: valid ones mostly; the batch axis, the last one and repeats rarely
ATTENTION_AXES = _mostly(
    st.sampled_from([1, -2, [1], [2], [1, 2], [2, 1], [-2, 1], -3]),
    st.sampled_from([0, -1, 3, [1, 1], 4, -5]),
)
CONSTRAINTS = st.sampled_from(["non_neg", "unit_norm", "max_norm", "min_max_norm"])
MHA_ATTRS: dict[str, st.SearchStrategy[Any]] = {
    "value_dim": st.none() | SMALL,
    "dropout": RATES,
    "use_bias": FLAGS,
    "output_shape": SMALL | st.lists(SMALL, min_size=1, max_size=2),
    "attention_axes": ATTENTION_AXES,
    "sliding_window": SMALL,
    "flash_attention": _mostly(st.sampled_from([None, False]), st.just(True)),
    "kernel_initializer": _mostly(NAMES_1D | st.just("orthogonal"), st.just("identity")),
    "bias_initializer": NAMES_1D,
    "kernel_regularizer": REGULARIZER,
    "bias_regularizer": REGULARIZER,
    "kernel_constraint": CONSTRAINTS,
    "bias_constraint": CONSTRAINTS,
    "use_gate": FLAGS,
    "seed": SEEDS,
}
ATTENTION_ATTRS: dict[str, st.SearchStrategy[Any]] = {
    "use_scale": FLAGS,
    "score_mode": st.sampled_from(["dot", "concat"]),
    "dropout": RATES,
    "seed": SEEDS,
}
#: keyword arguments of the Keras call, as attributes
CALL = st.fixed_dictionaries({}, optional={"use_causal_mask": FLAGS})


def _resolved(axes: Any, rank: int) -> list[int]:
    """Keras's attention axes for a query of ``rank`` axes (batch excluded)."""
    if axes is None:
        return list(range(1, rank))
    written = [axes] if isinstance(axes, int) else axes
    return [a + rank + 1 if a < 0 else a for a in written]


def _mha_stricter(attrs: dict[str, Any], call: dict[str, Any], rank: int) -> bool:
    """Whether archspec refuses attention axes on purpose: the batch axis, the last axis
    or beyond (Keras then attends across the heads or channels of its projections), an
    axis twice, scores of more axes than TensorFlow normalises, `flash_attention`, or
    masks along axis 1 while attention runs over other axes."""
    axes = _resolved(attrs.get("attention_axes"), rank)
    if any(not 1 <= a < rank for a in axes) or len(set(axes)) < len(axes):
        return True
    scores = rank + 1 + len(axes)
    if scores > SCORE_AXES or (len(axes) == 1 and scores > SOFTMAX_AXES):
        return True  # TensorFlow's limits (oneDNN's on CPU: Keras builds without it)
    if attrs.get("flash_attention"):
        return True  # Keras builds it where it does not use it, and does not save it
    masked = call.get("use_causal_mask") or attrs.get("sliding_window") is not None
    return bool(masked) and axes != [1]


def _fillable(groups: list[list[int | None]]) -> bool:
    """Whether one size for every unknown axis makes each group of sizes that must agree
    agree, so the harness's run of the hand-built model can succeed."""
    needed = set()
    for sizes in groups:
        known = {d for d in sizes if d is not None}
        if None in sizes and len(known) == 1:
            needed |= known
    return len(needed) <= 1 and needed <= set(RUN_SIZES)


def _like(draw: st.DrawFn, shape: list[int | None]) -> list[int | None]:
    """A shape close to ``shape``: each axis but the last the same, unknown or another
    size; its own last axis; now and then another rank."""
    rank = draw(_mostly(st.just(len(shape)), st.integers(1, 4)))
    if rank != len(shape):
        return draw(shape_of(rank))
    axes = [draw(_mostly(st.just(d), st.sampled_from([None, 2, 5]))) for d in shape[:-1]]
    return [*axes, draw(_mostly(SIZES, st.none()))]


def _features_last(rank: int) -> st.SearchStrategy[list[int | None]]:
    """A shape whose last axis (the features, which size the weights) is mostly known."""
    return st.tuples(shape_of(rank - 1), _mostly(SIZES, st.none())).map(lambda t: [*t[0], t[1]])


QUERIES = RANKS.flatmap(_features_last)


@st.composite
def _cross(draw: st.DrawFn, queries: st.SearchStrategy = QUERIES) -> tuple[list, list, Any]:
    """Query, value and (or None) key shapes."""
    query = draw(queries)
    value = _like(draw, query)
    key = None
    if draw(st.booleans()):
        key = _like(draw, value)
        if len(key) == len(value) and draw(_mostly(st.just(True), st.just(False))):
            key[:-1] = value[:-1]  # what Keras asks of a key, most often given
    return query, value, key


def _cross_doc(op: str, attrs: dict[str, Any], shapes: list[list], named: str) -> dict:
    """Inputs `q`, `v` (and `k`); the query is the step before, or named."""
    attrs = {**attrs, "value": "v"}
    if len(shapes) == 3:
        attrs["key"] = "k"
    names = dict(zip(["q", "v", "k"], shapes, strict=False))
    start = "q"
    if named == "query":
        attrs["query"], start = "q", "v"
    return {
        "archspec": 1,
        "name": "t",
        "inputs": names,
        "graph": {"out": {"from": start, "layers": [{op: attrs}]}},
    }


def _one_input(op: str, attrs: Any, shape: list[int | None]) -> dict[str, Any]:
    return {"archspec": 1, "name": "t", "input": shape, "layers": [{op: attrs}]}


# ---------------------------------------------------------------------------- multi-head


def test_self_attention_matches_keras(ops_folder):
    @MORE
    @given(
        attrs=attrs_of({"num_heads": SMALL, "key_dim": SMALL}, MHA_ATTRS),
        call=CALL,
        shape=QUERIES,
    )
    def check(attrs, call, shape):
        def make():
            layer = layers.MultiHeadAttention(**attrs)
            return lambda t: layer(t, t, **call)

        stricter = _mha_stricter(attrs, call, len(shape))
        doc = _one_input("mha", {**attrs, **call}, shape)
        check_layer(ops_folder, doc, make, [shape], stricter)

    check()


def test_cross_attention_matches_keras(ops_folder):
    @MORE
    @given(
        attrs=attrs_of({"num_heads": SMALL, "key_dim": SMALL}, MHA_ATTRS),
        call=CALL,
        shapes=_cross(),
        named=st.sampled_from(["value", "query"]),
    )
    def check(attrs, call, shapes, named):
        query, value, key = shapes
        given = [s for s in shapes if s is not None]
        rank = len(query)
        if rank >= 2 and len(value) == rank:
            free = set(_resolved(attrs.get("attention_axes"), rank))
            groups = [[query[a - 1], value[a - 1]] for a in range(1, rank) if a not in free]
            assume(_fillable(groups))

        def make():
            layer = layers.MultiHeadAttention(**attrs)
            if key is None:
                return lambda ts: layer(ts[0], ts[1], **call)
            return lambda ts: layer(ts[0], ts[1], key=ts[2], **call)

        doc = _cross_doc("multi_head_attention", {**attrs, **call}, given, named)
        check_layer(ops_folder, doc, make, given, _mha_stricter(attrs, call, rank))

    check()


# ---------------------------------------------------------------------------- attention


def _attention_stricter(shapes: list[list]) -> bool:
    """Whether archspec refuses on purpose: a vector query (Keras attends across the
    batch), scores of more axes than oneDNN's softmax takes, inputs of different ranks,
    or sizes before the last two axes that differ (Keras broadcasts a size of 1, and
    then declares the query's)."""
    rank = len(shapes[0])
    if rank < 2 or rank + 1 > SOFTMAX_AXES or any(len(s) != rank for s in shapes):
        return True
    return any(len({s[i] for s in shapes} - {None}) > 1 for i in range(rank - 2))


def _attention_groups(query: list, value: list, key: list, attrs: dict) -> list[list]:
    groups = [[s[i] for s in (query, value, key)] for i in range(len(query) - 2)]
    return [*groups, [key[-2], value[-2]], [query[-1], key[-1]]]


def test_attention_matches_keras(ops_folder):
    @MORE
    @given(
        attrs=attrs_of({}, ATTENTION_ATTRS),
        call=CALL,
        shapes=_cross(ATTENTION_RANKS.flatmap(_features_last)),
        form=st.sampled_from(["self", "shorthand", "named"]),
    )
    def check(attrs, call, shapes, form):
        query, value, key = shapes
        if form == "self":
            given, doc = [query], _one_input("attention", {**attrs, **call} or None, query)
        elif form == "shorthand" and not attrs and not call and key is None:
            given = [query, value]
            doc = _cross_doc("attention", {}, given, "value")
            doc["graph"]["out"]["layers"] = [{"attention": "v"}]
        else:
            given = [s for s in shapes if s is not None]
            doc = _cross_doc("attention", {**attrs, **call}, given, "value")
        full = [*given, given[1]] if len(given) == 2 else given * 3 if len(given) == 1 else given
        if not _attention_stricter(full):
            assume(_fillable(_attention_groups(*full, attrs)))

        def make():
            layer = layers.Attention(**attrs)
            if len(given) == 1:
                return lambda t: layer([t, t], **call)
            return lambda ts: layer(list(ts), **call)

        check_layer(ops_folder, doc, make, given, _attention_stricter(full))

    check()


# ---------------------------------------------------------------------------- dot


def _index(axis: int, shape: list) -> int | None:
    """The axis's index counting the batch axis, None when it is none of the input's."""
    rank = len(shape) + 1
    index = axis + rank if axis < 0 else axis
    return index if 0 <= index < rank else None


def _axis_of(rank: int) -> st.SearchStrategy[int]:
    """An axis of an input of ``rank`` axes (batch excluded), counted from either end."""
    return st.integers(1, rank) | st.integers(-rank, -1)


@st.composite
def _dot_case(draw: st.DrawFn) -> tuple[Any, list, list]:
    """Axes (mostly of both inputs; now and then the batch axis or beyond), two shapes."""
    first = draw(st.integers(1, 3).flatmap(shape_of))
    second = draw(st.integers(1, 3).flatmap(shape_of))
    shared = min(len(first), len(second))
    anything = st.integers(-5, 4)
    axes = draw(
        _mostly(
            _axis_of(shared) | st.tuples(_axis_of(len(first)), _axis_of(len(second))).map(list),
            anything | st.lists(anything, min_size=2, max_size=2),
        )
    )
    a, b = (axes, axes) if isinstance(axes, int) else axes
    i, j = _index(a, first), _index(b, second)
    if i and j and draw(_mostly(st.just(True), st.just(False))):
        second[j - 1] = first[i - 1]  # sizes that agree, most often
    return axes, first, second


def test_dot_matches_keras(ops_folder):
    @MORE
    @given(case=_dot_case(), normalize=st.none() | FLAGS)
    def check(case, normalize):
        axes, first, second = case
        attrs = {"inputs": ["a", "b"], "axes": axes}
        kwargs = {"axes": axes}
        if normalize is not None:
            attrs["normalize"] = kwargs["normalize"] = normalize
        doc = {
            "archspec": 1,
            "name": "t",
            "inputs": {"a": first, "b": second},
            "graph": {"out": [{"dot": attrs}]},
        }
        pair = (axes, axes) if isinstance(axes, int) else axes
        # the batch axis, or beyond the rank: Keras wraps a negative axis around
        stricter = any(not _index(a, s) for a, s in zip(pair, (first, second), strict=True))
        check_layer(ops_folder, doc, lambda: layers.Dot(**kwargs), [first, second], stricter)

    check()


def test_every_op_here_is_checked():
    ops = {"multi_head_attention", "attention", "dot"}
    assert {op.name for op in REGISTRY.ops() if op.name in ops} == ops
    assert REGISTRY.get("mha") is REGISTRY.get("multi_head_attention")


# ---------------------------------------------------------------------------- outputs

BLOCK = """\
archspec: 1
name: block
inputs: {tokens: [6, 8], memory: [5, 8]}
graph:
  attended:
    from: tokens
    layers:
      - mha: {num_heads: 2, key_dim: 4, use_causal_mask: true}
  mixed: [{add: [tokens, attended]}, layer_norm]
  keys:
    from: memory
    layers: [{dense: 6}]
  crossed:
    from: mixed
    layers:
      - mha: {num_heads: 3, key_dim: 2, value_dim: 5, value: memory, key: keys}
      - attention: {value: memory, use_scale: true}
  out: [{dot: {inputs: [crossed, memory], axes: 2}}]
"""


def _block_by_hand() -> keras.Model:
    tokens, memory = keras.Input((6, 8)), keras.Input((5, 8))
    attended = layers.MultiHeadAttention(2, 4)(tokens, tokens, use_causal_mask=True)
    mixed = layers.LayerNormalization()(layers.Add()([tokens, attended]))
    keys = layers.Dense(6)(memory)
    crossed = layers.MultiHeadAttention(3, 2, value_dim=5)(mixed, memory, key=keys)
    crossed = layers.Attention(use_scale=True)([crossed, memory])
    return keras.Model([tokens, memory], layers.Dot(axes=2)([crossed, memory]))


def test_a_block_computes_what_the_hand_written_model_computes(tmp_path):
    """Same layers and connections, and equal outputs once the weights are copied."""
    spec = archspec.load(write(tmp_path, "t.yaml", BLOCK))
    compiled = spec.build()
    reference = _block_by_hand()
    for layer in reference.layers:  # a scale other than 1, which the copy must carry
        if isinstance(layer, layers.Attention):
            layer.set_weights([np.array(0.7, dtype="float32")])
    assert_equivalent(compiled, reference, graph=spec.graph())


# ---------------------------------------------------------------------------- MACs


def _spec(tmp_path, shape: str, layer: str) -> archspec.ArchSpec:
    text = f"archspec: 1\nname: t\ninput: {shape}\nlayers:\n  - {layer}\n"
    return archspec.load(write(tmp_path, "t.yaml", text))


@pytest.mark.parametrize(
    ("shape", "layer", "macs"),
    [
        # projections: heads x positions x features x size per head (query, key, value),
        # output: positions x heads x value size x features; then query x key and scores
        # x value: positions x positions x heads x (key size + value size)
        ("[6, 8]", "mha: {num_heads: 2, key_dim: 4}", 2 * 3 * 6 * 8 * 4 + 6 * 2 * 4 * 8 + 36 * 16),
        (
            "[6, 8]",
            "mha: {num_heads: 2, key_dim: 4, value_dim: 3, output_shape: 5, use_gate: true}",
            2 * 6 * 8 * (4 + 4 + 3 + 3) + 6 * 2 * 3 * 5 + 36 * 2 * 7,
        ),
        # attention over axis 1 of a (4, 3, 8) query: each position meets 4 positions
        (
            "[4, 3, 8]",
            "mha: {num_heads: 1, key_dim: 2, attention_axes: 1}",
            3 * 12 * 8 * 2 + 12 * 2 * 8 + 12 * 4 * 4,
        ),
        ("[null, 8]", "mha: {num_heads: 2, key_dim: 4}", None),
        # query x key, then scores x value: steps x steps x (features + features)
        ("[6, 8]", "attention", 36 * 16),
        ("[6, 8]", "attention: {score_mode: concat}", 36 * 8),
        ("[2, 6, 8]", "attention", 2 * 36 * 16),
        ("[null, 8]", "attention", None),
    ],
)
def test_macs_count_projections_and_both_products(tmp_path, shape, layer, macs):
    stats = analyse(_spec(tmp_path, shape, layer).graph()).layers[-1]
    assert stats.macs == macs


def test_dot_macs_are_output_values_times_the_summed_size(tmp_path):
    text = """\
        archspec: 1
        name: t
        inputs: {a: [3, 4], b: [5, 4]}
        graph:
          out: [{dot: {inputs: [a, b], axes: 2}}]
        """
    stats = analyse(archspec.load(write(tmp_path, "t.yaml", text)).graph()).layers[-1]
    assert (stats.output_shape, stats.macs) == ((3, 5), 3 * 5 * 4)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("shape", "layer", "message"),
    [
        ("[8]", "mha: {num_heads: 2, key_dim: 4}", "needs a query of at least 2 axes"),
        ("[6, null]", "mha: {num_heads: 2, key_dim: 4}", "the query's last axis must have a"),
        ("[6, 8]", "mha: {num_heads: 2, key_dim: 4, attention_axes: 0}", "the batch axis"),
        ("[6, 8]", "mha: {num_heads: 2, key_dim: 4, attention_axes: -1}", "not a position axis"),
        ("[4, 6, 8]", "mha: {num_heads: 2, key_dim: 4, attention_axes: [1, 1]}", "twice"),
        (
            "[4, 6, 8]",
            "mha: {num_heads: 2, key_dim: 4, use_causal_mask: true}",
            "`use_causal_mask` masks along axis 1 alone",
        ),
        (
            "[4, 6, 8]",
            "mha: {num_heads: 2, key_dim: 4, sliding_window: 2, attention_axes: 2}",
            "set `attention_axes: [1]`",
        ),
        (
            "[6, 8]",
            "mha: {num_heads: 2, key_dim: 4, return_attention_scores: true}",
            "an archspec node has one output",
        ),
        (
            "[6, 8]",
            "mha: {num_heads: 2, key_dim: 4, flash_attention: true}",
            "not available with the TensorFlow backend",
        ),
        (
            "[6, 8]",
            "mha: {num_heads: 2, key_dim: 4, kernel_initializer: identity}",
            "not the 3-D projection kernels",
        ),
        (
            "[60000, 8]",
            "mha: {num_heads: 1, key_dim: 1}",
            "the attention scores would hold 3,600,000,000 values",
        ),
        ("[8]", "attention", "Keras would attend across the examples of a batch"),
        ("[6, 8]", "attention: {return_attention_scores: true}", "has one output"),
        ("[6, 8]", "attention: {score_mode: add}", "score_mode"),
        ("[6, 8]", "dot: {inputs: [x], axes: 1}", "takes exactly two nodes"),
    ],
)
def test_refusals_say_why_at_the_layer(tmp_path, shape, layer, message):
    text = f"archspec: 1\nname: t\ninput: {shape}\nlayers:\n  - {layer}\n"
    error = spec_error(write(tmp_path, "t.yaml", text))
    assert message in error.message
    assert (error.loc.line, error.path) == (5, "layers[0]")


@pytest.mark.parametrize(
    ("shapes", "attrs", "message"),
    [
        ([[6, 8], [5, 8], [4, 3]], {"value": "b", "key": "c"}, "must agree on every axis but"),
        ([[6, 8], [5, 8], [None, 3]], {"value": "b", "key": "c"}, "only an unknown size"),
        ([[6, 8], [5, 4, 8]], {"value": "b"}, "need the same number of axes"),
        ([[3, 6, 8], [4, 5, 8]], {"value": "b", "attention_axes": 2}, "differ on axis 1"),
        ([[6, 8], [5, None]], {"value": "b"}, "the value's last axis must have a known size"),
    ],
)
def test_cross_attention_refusals_name_the_inputs(tmp_path, shapes, attrs, message):
    doc = {
        "archspec": 1,
        "name": "t",
        "inputs": dict(zip("abc", shapes, strict=False)),
        "graph": {
            "out": {"from": "a", "layers": [{"mha": {"num_heads": 2, "key_dim": 4, **attrs}}]}
        },
    }
    with pytest.raises(SpecError) as info:
        load(tmp_path, doc)
    assert message in info.value.message and info.value.path == "graph.out[0]"


@pytest.mark.parametrize(
    ("shapes", "axes", "message"),
    [
        ([[3, 4], [4, 5]], [0, 1], "the batch axis of the first input (0)"),
        ([[3, 4], [4, 5]], -3, "the batch axis of the first input (-3)"),
        ([[3, 4], [4]], [2, -3], "not an axis of the second input (4)"),
        ([[3, 4], [4, 5]], -5, "not an axis of the first input"),  # Keras wraps it around
        ([[3, 4], [5, 4]], 1, "the axes summed over differ: 3 in (3, 4) and 5 in (5, 4)"),
        ([[3, None], [5, 4]], 2, "an unknown size matches only an unknown size"),
    ],
)
def test_dot_refusals_name_the_axes(tmp_path, shapes, axes, message):
    doc = {
        "archspec": 1,
        "name": "t",
        "inputs": {"a": shapes[0], "b": shapes[1]},
        "graph": {"out": [{"dot": {"inputs": ["a", "b"], "axes": axes}}]},
    }
    with pytest.raises(SpecError) as info:
        load(tmp_path, doc)
    assert message in info.value.message and info.value.path == "graph.out[0]"


def test_an_unknown_value_node_is_named(tmp_path):
    doc = _cross_doc("attention", {}, [[6, 8], [5, 8]], "value")
    doc["graph"]["out"]["layers"] = [{"attention": {"value": "memory"}}]
    with pytest.raises(SpecError, match="refers to `memory`, which is not a node here"):
        load(tmp_path, doc)


# ---------------------------------------------------------------------------- attributes


def _canonical(op: str, attrs: dict[str, Any], rank: int) -> dict[str, Any]:
    return REGISTRY.get(op).attrs.model_validate(attrs).canonical(rank)


@pytest.mark.parametrize(
    ("op", "a", "b", "rank"),
    [
        # Keras fills in the attention axes and the value size when it builds
        ("mha", {"attention_axes": None}, {"attention_axes": [1]}, 2),
        ("mha", {"attention_axes": -2}, {"attention_axes": 1}, 2),
        ("mha", {}, {"attention_axes": [2, 1]}, 3),
        ("mha", {"value_dim": None}, {"value_dim": 4}, 2),
        ("mha", {"output_shape": 6}, {"output_shape": [6]}, 2),
        # Keras does not save it; false and null leave it off alike
        ("mha", {"flash_attention": False}, {}, 2),
        # node references are connections, compared apart
        ("mha", {"query": "a", "value": "b"}, {"value": "c"}, 2),
        ("attention", {"value": "b", "key": "c"}, {"key": "d"}, 2),
        ("dot", {"inputs": ["a", "b"], "axes": 1}, {"inputs": ["c", "d"], "axes": [1, 1]}, 2),
    ],
)
def test_canonical_forms_equal_where_keras_computes_alike(op, a, b, rank):
    base = {"num_heads": 2, "key_dim": 4} if op == "mha" else {}
    assert _canonical(op, {**base, **a}, rank) == _canonical(op, {**base, **b}, rank)


@pytest.mark.parametrize(
    ("op", "a", "b"),
    [
        ("mha", {"use_causal_mask": True}, {}),
        ("mha", {"key": "k"}, {}),
        ("mha", {"attention_axes": [1]}, {"attention_axes": [2]}),
        ("attention", {"use_causal_mask": True}, {}),
    ],
)
def test_canonical_forms_differ_where_keras_computes_otherwise(op, a, b):
    base = {"num_heads": 2, "key_dim": 4} if op == "mha" else {}
    assert _canonical(op, {**base, **a}, 3) != _canonical(op, {**base, **b}, 3)


def test_every_accepted_initializer_fills_the_projections(tmp_path):
    from typing import get_args

    from archspec.ops.attention import NOT_FOR_PROJECTIONS
    from archspec.ops.layers import NOT_FOR_BIASES, InitializerName

    every = get_args(InitializerName)
    kernels = [n for n in every if n not in NOT_FOR_PROJECTIONS]
    biases = [n for n in every if n not in NOT_FOR_BIASES]
    steps = [f"mha: {{num_heads: 2, key_dim: 3, kernel_initializer: {n}}}" for n in kernels]
    steps += [f"mha: {{num_heads: 2, key_dim: 3, bias_initializer: {n}}}" for n in biases]
    built = _spec(tmp_path, "[5, 4]", "\n  - ".join(steps)).build()
    assert built(np.ones((2, 5, 4), "float32")).shape == (2, 5, 4)


def test_an_initializer_with_arguments_reads_back(tmp_path):
    """BERT's projections: a truncated normal of standard deviation 0.02."""
    spec = _spec(
        tmp_path,
        "[6, 8]",
        "mha: {num_heads: 2, key_dim: 4, kernel_initializer: "
        "{class: truncated_normal, stddev: 0.02}}",
    )
    x = keras.Input((6, 8))
    init = keras.initializers.TruncatedNormal(stddev=0.02)
    hand = keras.Model(x, layers.MultiHeadAttention(2, 4, kernel_initializer=init)(x, x))
    result = diff(spec.graph(), to_ir(hand))
    assert result.identical, [(c.kind, c.attribute, c.a, c.b) for c in result.changes]


# ---------------------------------------------------------------------------- importing


def _imported(build) -> Any:
    q, v, k = keras.Input((6, 8)), keras.Input((5, 8)), keras.Input((5, 3))
    return to_ir(keras.Model([q, v, k], build(q, v, k)))


CROSS = """\
archspec: 1
name: t
inputs: {q: [6, 8], v: [5, 8], k: [5, 3]}
graph:
  out:
    from: q
    layers: [{mha: {num_heads: 2, key_dim: 4, value: v, key: k, use_causal_mask: true}}]
"""


@pytest.mark.parametrize(
    "call",
    [
        lambda mha, q, v, k: mha(q, v, key=k, use_causal_mask=True),
        lambda mha, q, v, k: mha(q, v, k, use_causal_mask=True),
    ],
    ids=["key-keyword", "positional"],
)
def test_calls_written_either_way_import_as_the_spec(tmp_path, call):
    graph = archspec.load(write(tmp_path, "t.yaml", CROSS)).graph()

    def build(q, v, k):
        return call(layers.MultiHeadAttention(2, 4), q, v, k)

    result = diff(graph, _imported(build))
    assert result.identical, [(c.kind, c.attribute, c.a, c.b) for c in result.changes]


def test_a_call_by_keywords_imports_as_the_spec(tmp_path):
    graph = archspec.load(write(tmp_path, "t.yaml", CROSS)).graph()

    def build(q, v, k):
        return layers.MultiHeadAttention(2, 4)(query=q, value=v, key=k, use_causal_mask=True)

    assert diff(graph, _imported(build)).identical


def test_the_importer_refuses_a_mask_given_as_a_tensor():
    q, v, mask = keras.Input((6, 8)), keras.Input((5, 8)), keras.Input((6, 5), dtype="bool")
    out = layers.MultiHeadAttention(2, 4)(q, v, attention_mask=mask)
    with pytest.raises(SpecError, match="masks given as tensors are out of archspec's scope"):
        to_ir(keras.Model([q, v, mask], out))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda q, v, k: layers.MultiHeadAttention(2, 4)(q, v, return_attention_scores=True)[0],
            "an archspec node has one output",
        ),
        (
            lambda q, v, k: layers.Attention()([q, v], return_attention_scores=True)[0],
            "an archspec node has one output",
        ),
    ],
    ids=["mha", "attention"],
)
def test_the_importer_refuses_what_a_node_cannot_hold(build, message):
    with pytest.raises(SpecError, match=message):
        _imported(build)
