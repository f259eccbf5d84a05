"""The wrappers `time_distributed` and `bidirectional`, each checked against Keras.

Hypothesis draws the wrapped layer (a selection of ops, written in the long form or
the shorthand), its attributes and the input shape, wrong ranks and unknown sizes
included; the shared check of tests/ops_harness.py then runs: archspec accepts the
wrapper exactly when Keras builds and runs it (or refuses on purpose, with a located
error), with Keras's output shape, parameter counts and config (inner layer names
included), and a model around the hand-written wrapper imports back to the same IR.

Further tests: nested wrappers, MACs, names of the wrapped layers, refusals and their
messages, and a diff naming the wrapped attribute that differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import layers

import archspec
from archspec.analysis.stats import analyse
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from archspec.errors import SpecError
from archspec.ops import REGISTRY
from archspec.ops.wrappers import NO_OUTPUT_SHAPE_RULE, recurrent_ops
from tests.helpers import spec_error, write
from tests.ops_harness import SETTINGS, SIZES, UNKNOWN, attrs_of, check_layer, shape_of

#: recurrent layers are slow to build: fewer examples for each of them
FEWER = settings(SETTINGS, max_examples=max(SETTINGS.max_examples * 3 // 5, 1))
SMALL = st.integers(1, 3)
FLAGS = st.booleans()


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy:
    """``common`` values, and about one time in six a ``rare`` one (most often refused)."""
    return st.integers(0, 5).flatmap(lambda i: rare if i == 2 else common)


def _inner_shape(rank: int) -> st.SearchStrategy[list[int | None]]:
    """One step's shape: most often of the wrapped op's rank, else of 0 to 3 axes."""
    return _mostly(shape_of(rank), st.integers(0, 3).flatmap(shape_of))


def _one(op: str, step: Any, shape: list[int | None]) -> dict[str, Any]:
    return {"archspec": 1, "name": "t", "input": shape, "layers": [{op: step}]}


# ---------------------------------------------------------------------------- time_distributed

#: wrapped op -> (attribute strategy, rank of one step, the Keras layer class)
WRAPPED: dict[str, tuple[st.SearchStrategy, int, Callable[..., Any]]] = {
    "dense": (
        attrs_of(
            {"units": SMALL}, {"activation": st.sampled_from(["relu", None]), "use_bias": FLAGS}
        ),
        1,
        layers.Dense,
    ),
    "conv2d": (
        attrs_of(
            {"filters": SMALL, "kernel_size": st.integers(1, 3)},
            {"strides": st.integers(1, 2), "padding": st.sampled_from(["valid", "same"])},
        ),
        3,
        layers.Conv2D,
    ),
    "conv1d": (
        attrs_of(
            {"filters": SMALL, "kernel_size": st.integers(1, 3)},
            {"padding": st.sampled_from(["valid", "same", "causal"])},
        ),
        2,
        layers.Conv1D,
    ),
    "max_pooling2d": (
        attrs_of(
            {}, {"pool_size": st.integers(1, 3), "padding": st.sampled_from(["valid", "same"])}
        ),
        3,
        layers.MaxPooling2D,
    ),
    "flatten": (st.just({}), 2, layers.Flatten),
    "batch_normalization": (
        attrs_of({}, {"axis": st.sampled_from([-1, 1]), "center": FLAGS, "scale": FLAGS}),
        2,
        layers.BatchNormalization,
    ),
    "dropout": (
        attrs_of({"rate": st.sampled_from([0.0, 0.5])}, {"seed": st.sampled_from([0, 7])}),
        2,
        layers.Dropout,
    ),
}


def _written(op: str, attrs: dict[str, Any], form: int) -> Any:
    """The wrapper's value as a person may write it: long form, shorthand, or bare name."""
    if form == 0:
        return {"layer": {op: attrs or None}}
    return {op: attrs} if attrs else op


@pytest.mark.parametrize("op", sorted(WRAPPED))
def test_time_distributed_matches_keras(ops_folder, op):
    attrs_strategy, rank, cls = WRAPPED[op]

    @SETTINGS
    @given(
        attrs=attrs_strategy,
        steps=UNKNOWN,
        inner=_inner_shape(rank),
        form=st.integers(0, 1),
    )
    def check(attrs, steps, inner, form):
        shape = [steps, *inner]
        doc = _one("time_distributed", _written(op, attrs, form), shape)
        check_layer(ops_folder, doc, lambda: layers.TimeDistributed(cls(**attrs)), [shape])

    check()


def test_time_distributed_of_bidirectional_matches_keras(ops_folder):
    """Keras wraps a wrapper: a bidirectional LSTM over each step of a sequence of sequences."""

    @FEWER
    @given(shape=st.tuples(UNKNOWN, SIZES, SIZES).map(list), units=SMALL, merge=st.booleans())
    def check(shape, units, merge):
        bi = {"layer": {"lstm": units}, "merge_mode": "sum"} if merge else {"lstm": units}
        doc = _one("time_distributed", {"bidirectional": bi}, shape)
        kwargs = {"merge_mode": "sum"} if merge else {}
        make = lambda: layers.TimeDistributed(  # noqa: E731
            layers.Bidirectional(layers.LSTM(units), **kwargs)
        )
        check_layer(ops_folder, doc, make, [shape])

    check()


def test_time_distributed_of_time_distributed_matches_keras(ops_folder):
    doc = _one("time_distributed", {"time_distributed": {"dense": 2}}, [3, 4, 5])
    make = lambda: layers.TimeDistributed(layers.TimeDistributed(layers.Dense(2)))  # noqa: E731
    check_layer(ops_folder, doc, make, [[3, 4, 5]])


# ---------------------------------------------------------------------------- bidirectional

RECURRENT: dict[str, Callable[..., Any]] = {
    "lstm": layers.LSTM,
    "gru": layers.GRU,
    "simple_rnn": layers.SimpleRNN,
}
MERGE_MODES = st.sampled_from(["concat", "sum", "mul", "ave"])
FORWARD = attrs_of(
    {"units": SMALL},
    {
        "return_sequences": FLAGS,
        "activation": st.sampled_from(["tanh", "relu"]),
        "go_backwards": _mostly(st.just(False), st.just(True)),
        "unroll": _mostly(st.just(False), st.just(True)),
    },
)


@st.composite
def backward_layers(draw: st.DrawFn, op: str, forward: dict[str, Any]) -> tuple[str, dict] | None:
    """Mostly none (Keras's copy of the forward layer); else a recurrent layer, mostly one
    Keras takes: reading backwards, as many units and the same `return_sequences`."""
    if draw(st.integers(0, 2)) != 0:
        return None
    other = draw(_mostly(st.just(op), st.sampled_from(sorted(RECURRENT))))
    attrs = {
        "units": draw(_mostly(st.just(forward["units"]), SMALL)),
        "go_backwards": draw(_mostly(st.just(True), st.just(False))),
    }
    sequences = forward.get("return_sequences", False)
    attrs["return_sequences"] = draw(_mostly(st.just(sequences), st.just(not sequences)))
    return other, attrs


@pytest.mark.parametrize("op", sorted(RECURRENT))
def test_bidirectional_matches_keras(ops_folder, op):
    cls = RECURRENT[op]

    @FEWER
    @given(
        data=st.data(),
        forward=FORWARD,
        merge=st.none() | MERGE_MODES,
        shape=_mostly(st.tuples(UNKNOWN, _mostly(SMALL, st.none())).map(list), shape_of(3)),
    )
    def check(data, forward, merge, shape):
        backward = data.draw(backward_layers(op, forward))
        value: dict[str, Any] = {"layer": {op: forward}}
        kwargs: dict[str, Any] = {}
        if merge is not None:
            value["merge_mode"] = kwargs["merge_mode"] = merge
        if backward is not None:
            value["backward_layer"] = {backward[0]: backward[1]}
        if backward is None and merge is None and data.draw(st.booleans()):
            value = {op: forward}  # the shorthand

        def make() -> Any:
            # as a person writes it: the forward layer first, so Keras numbers it first
            first = cls(**forward)
            if backward is not None:
                kwargs["backward_layer"] = RECURRENT[backward[0]](**backward[1])
            return layers.Bidirectional(first, **kwargs)

        # `unroll` over unknown steps fails in fit and export; a backward layer of
        # another width makes Keras record the wrong shape (`concat`)
        stricter = bool(forward.get("unroll") and shape[:1] == [None]) or (
            backward is not None and backward[1]["units"] != forward["units"]
        )
        check_layer(ops_folder, _one("bidirectional", value, shape), make, [shape], stricter)

    check()


def test_bidirectional_conv_lstm2d_matches_keras(ops_folder):
    doc = _one("bidirectional", {"conv_lstm2d": {"filters": 2, "kernel_size": 3}}, [2, 5, 5, 3])
    make = lambda: layers.Bidirectional(layers.ConvLSTM2D(2, 3))  # noqa: E731
    check_layer(ops_folder, doc, make, [[2, 5, 5, 3]])


def test_every_recurrent_op_can_be_wrapped():
    assert set(RECURRENT) | {"conv_lstm2d"} == set(recurrent_ops())


# ---------------------------------------------------------------------------- names


def test_wrapped_layers_are_named_as_keras_names_them(tmp_path):
    """Unnamed: as Keras names a layer made in a fresh session; named: that name. (A
    `name` beside the op in the shorthand, `time_distributed: {dense: 3, name: x}`, is
    the step's own, and names the wrapper.)"""
    text = """\
        archspec: 1
        name: t
        input: [5, 4]
        layers:
          - time_distributed: {layer: {dense: 3, name: proj}}
          - time_distributed: {layer: {dense: 3}}
          - bidirectional: {layer: {lstm: {units: 2, return_sequences: true}, name: enc}}
          - bidirectional: {layer: {gru: 2}, backward_layer: {gru: {units: 2, go_backwards: true}}}
    """
    model = archspec.load(write(tmp_path, "t.yaml", text)).build()
    td, td_1, bi, bi_1 = model.layers[1:]
    assert (td.layer.name, td_1.layer.name) == ("proj", "dense")
    assert (bi.forward_layer.name, bi.backward_layer.name) == ("forward_enc", "backward_enc")
    assert (bi_1.forward_layer.name, bi_1.backward_layer.name) == ("forward_gru", "gru_1")


def test_a_dtype_policy_applies_to_the_wrapped_layer(tmp_path):
    text = """\
        archspec: 1
        name: t
        input: [5, 4]
        layers:
          - {time_distributed: {dense: 3}, dtype: mixed_float16}
    """
    try:
        model = archspec.load(write(tmp_path, "t.yaml", text)).build()
    except SpecError as exc:  # pragma: no cover - before step dtypes exist
        pytest.skip(f"steps with a dtype are not in the spec language yet: {exc.message}")
    wrapper = model.layers[-1]
    assert wrapper.dtype_policy.name == wrapper.layer.dtype_policy.name == "mixed_float16"


# ---------------------------------------------------------------------------- costs


def _stats(tmp_path, shape: str, layer: str) -> Any:
    text = f"archspec: 1\nname: t\ninput: {shape}\nlayers:\n  - {layer}\n"
    return analyse(archspec.load(write(tmp_path, "t.yaml", text)).graph()).layers[-1]


@pytest.mark.parametrize(
    ("shape", "layer", "params", "macs"),
    [
        ("[10, 8]", "time_distributed: {dense: 4}", 8 * 4 + 4, 10 * 8 * 4),
        ("[null, 8]", "time_distributed: {dense: 4}", 8 * 4 + 4, None),
        (
            "[3, 6, 6, 2]",
            "time_distributed: {conv2d: {filters: 4, kernel_size: 3}}",
            3 * 3 * 2 * 4 + 4,
            3 * 16 * 9 * 2 * 4,
        ),
        ("[10, 8]", "bidirectional: {lstm: 4}", 2 * (4 * 4 * (8 + 4) + 16), 2 * 10 * 16 * 12),
        (
            "[10, 8]",
            "bidirectional: {lstm: 4, backward_layer: {gru: {units: 4, go_backwards: true}}}",
            4 * 4 * (8 + 4) + 16 + 3 * 4 * (8 + 4) + 2 * 12,
            10 * 16 * 12 + 10 * 12 * 12,
        ),
        ("[null, 8]", "bidirectional: {gru: 4}", 2 * (3 * 4 * (8 + 4) + 2 * 12), None),
    ],
)
def test_weights_and_macs_are_the_wrapped_layers(tmp_path, shape, layer, params, macs):
    stats = _stats(tmp_path, shape, layer)
    assert (stats.trainable_params, stats.macs) == (params, macs)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("shape", "layer", "message"),
    [
        ("[5, 4]", "time_distributed: {conv2: 3}", "unknown op `conv2` in `layer` (did you mean"),
        (
            "[5, 4]",
            "time_distributed: {layer: {dens: 3}}",
            "unknown op `dens` in `layer` (did you mean `dense`?)",
        ),
        (
            "[5, 6, 6, 3]",
            "time_distributed: {conv2d: {filters: 0, kernel_size: 3}}",
            "`time_distributed`: `conv2d` attribute `filters`: Input should be greater than 0",
        ),
        ("[5, 4]", "time_distributed: {dense: {unit: 3}}", "`dense` has no attribute `unit`"),
        ("[5, 4]", "time_distributed: conv2d", "`conv2d` needs the attribute `kernel_size`"),
        ("[5, 4]", "time_distributed: {layr: dense}", "no attribute `layr` (did you mean"),
        ("[5, 4]", "time_distributed: {add: [a, b]}", "`add` takes its inputs through `inputs`"),
        ("[5, 4]", "time_distributed: attention", "through `query`, `value`, `key`"),
        ("[5, 4]", "time_distributed: ops.exp", "Keras wraps only layers"),
        ("[5, 4]", "time_distributed: {layer: 3}", "`layer` takes one op, as a step is written"),
        ("[5, 4]", "time_distributed: {layer: {dense: 3, name: a/b}}", "holds `/`"),
        ("[5, 4]", "time_distributed: {layer: {dense: 3, repeat: 2}}", "`repeat` belongs to"),
        ("[5, 4]", "time_distributed: {stochastic_depth: 0.1}", "no output-shape rule"),
        ("[4]", "time_distributed: {dense: 3}", "needs an input of 2 or more axes (steps, ...)"),
        (
            "[5, 4]",
            "time_distributed: {conv2d: {filters: 2, kernel_size: 3}}",
            "`conv2d` on each step (4): ",
        ),
        ("[5, 4]", "time_distributed: {bidirectional: {lstm: 3}}", "on (4): needs a 2-D input"),
        ("[5, 4]", "bidirectional: dense", "`layer` must be a recurrent layer (`simple_rnn`"),
        ("[5, 4]", "bidirectional: {time_distributed: lstm}", "has no `go_backwards`"),
        ("[5, 4]", "bidirectional: {lstm: 3, merge_mode: null}", "an archspec node has one output"),
        (
            "[5, 4]",
            "bidirectional: {lstm: {units: 3, go_backwards: true}}",
            "Keras's backward copy of it reads backwards too",
        ),
        (
            "[5, 4]",
            "bidirectional: {lstm: 3, backward_layer: {lstm: 3}}",
            "both have `go_backwards: false`",
        ),
        (
            "[5, 4]",
            "bidirectional: {lstm: 3, backward_layer: {lstm: {units: 3, go_backwards: true, "
            "return_sequences: true}}}",
            "must agree on `return_sequences`",
        ),
        (
            "[5, 4]",
            "bidirectional: {lstm: 3, backward_layer: {lstm: {units: 4, go_backwards: true}}}",
            "the backward layer gives (4) and the forward one (3)",
        ),
        ("[5, 4]", "bidirectional: {lstm: {units: 3, seed: 5.5}}", "`lstm` attribute `seed`"),
    ],
)
def test_refusals_say_why_at_the_layer(tmp_path, shape, layer, message):
    text = f"archspec: 1\nname: t\ninput: {shape}\nlayers:\n  - {layer}\n"
    error = spec_error(write(tmp_path, "t.yaml", text))
    assert message in error.format()
    assert (error.loc.line, error.path) == (5, "layers[0]")


def test_ops_without_an_output_shape_rule_are_the_refused_ones():
    """TimeDistributed asks the wrapped layer for its output shape: the ops refused for
    lacking the rule are exactly the layer ops whose Keras class does not define it."""
    lacking = {
        op.name
        for op in REGISTRY.ops()
        if op.layer
        and not op.wires.attributes
        and op.keras_type().compute_output_shape is keras.layers.Layer.compute_output_shape
    }
    assert lacking == NO_OUTPUT_SHAPE_RULE


# ---------------------------------------------------------------------------- diffs

TWO_CONVS = """\
    archspec: 1
    name: t
    input: [5, 8, 8, 3]
    layers:
      - time_distributed: {conv2d: {filters: %d, kernel_size: 3}}
      - time_distributed: flatten
      - bidirectional: {layer: {lstm: %d}, merge_mode: %s}
"""


def test_a_diff_names_the_wrapped_attribute_that_differs(tmp_path):
    a = archspec.load(write(tmp_path, "a.yaml", TWO_CONVS % (8, 4, "concat"))).graph()
    b = archspec.load(write(tmp_path, "b.yaml", TWO_CONVS % (16, 4, "concat"))).graph()
    result = diff(a, b)
    assert [(c.kind, c.attribute, c.a, c.b) for c in result.changes if c.kind == "attribute"] == [
        ("attribute", "layer.filters", 8, 16)
    ]


def test_an_explicit_backward_copy_equals_none(tmp_path):
    """Keras's config records the backward layer either way: a spec writing out Keras's
    copy of the forward layer is configured alike to one leaving it out."""
    text = """\
        archspec: 1
        name: t
        input: [5, 4]
        layers:
          - bidirectional: {lstm: 3%s}
    """
    a = archspec.load(write(tmp_path, "a.yaml", text % "")).graph()
    copy = ", backward_layer: {lstm: {units: 3, go_backwards: true}}"
    b = archspec.load(write(tmp_path, "b.yaml", text % copy)).graph()
    assert diff(a, b).identical


# ---------------------------------------------------------------------------- imports

NAMED = """\
    archspec: 1
    name: t
    input: [5, 4]
    layers:
      - {time_distributed: {dense: 3}%s}
      - bidirectional: {lstm: 2}
"""


def _hand_written(frozen: bool = False) -> Any:
    x = keras.Input((5, 4))
    wrapper = layers.TimeDistributed(layers.Dense(3, name="proj"), name="time_distributed")
    y = wrapper(x)
    wrapper.trainable = not frozen
    bi = layers.Bidirectional(layers.LSTM(2, name="enc"), name="bidirectional")
    return keras.Model(x, bi(y))


def test_a_model_naming_its_wrapped_layers_imports_as_its_spec(tmp_path):
    """Inner names are kept on import (the rebuilt wrapper's config must equal the
    original's), and not compared by a diff, as no layer's name is."""
    graph = archspec.load(write(tmp_path, "t.yaml", NAMED % "")).graph()
    imported = to_ir(_hand_written())
    assert diff(graph, imported).identical
    td, bi = (imported.nodes[n].attrs for n in ("time_distributed", "bidirectional"))
    assert (td.layer.name, bi.layer.name, bi.backward_layer.name) == (
        "proj",
        "forward_enc",
        "backward_enc",
    )


def test_a_frozen_wrapper_imports_frozen(tmp_path):
    """Freezing a wrapper freezes the layer it wraps, whose config records it."""
    graph = archspec.load(write(tmp_path, "t.yaml", NAMED % ", trainable: false")).graph()
    assert diff(graph, to_ir(_hand_written(frozen=True))).identical


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        (lambda: layers.Lambda(lambda t: t), "wraps a `keras.layers.Lambda`, which archspec has"),
        (lambda: layers.Dense(3, activity_regularizer="l2"), "cannot express: `layer`"),
    ],
)
def test_the_importer_refuses_a_wrapped_layer_it_cannot_express(inner, message):
    x = keras.Input((5, 4))
    model = keras.Model(x, layers.TimeDistributed(inner())(x))
    with pytest.raises(SpecError, match=message):
        to_ir(model)
