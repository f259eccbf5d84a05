"""Layer settings in the language: input dtypes, `trainable` and `dtype` on steps, block
calls and stages, and a model-wide `dtype_policy`; each equal to the Keras model a
person writes by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.analysis.stats import analyse
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from tests.helpers import spec_error, write


def _load(tmp_path, text: str) -> archspec.ArchSpec:
    return archspec.load(write(tmp_path, "spec.yaml", text))


def _error(tmp_path, text: str) -> str:
    return spec_error(write(tmp_path, "spec.yaml", text)).format()


def test_integer_input_builds_a_keras_input_of_that_dtype(tmp_path):
    spec = _load(
        tmp_path,
        """
archspec: 1
name: tokens
inputs:
  ids: {shape: [12], dtype: int32}
  mask: [12]
graph:
  out:
    from: mask
    layers: [{ops.multiply: {y: ids}}]
""",
    )
    model = spec.build()
    ids = keras.Input((12,), dtype="int32", name="ids")
    mask = keras.Input((12,), name="mask")
    hand = keras.Model([ids, mask], mask * ids, name="tokens")
    assert model.inputs[0].dtype == "int32"
    assert diff(spec.graph(), to_ir(hand)).identical
    # an explicit float32 is what a plain input holds
    text = "archspec: 1\nname: p\ninput: {shape: [3], dtype: float32}\nlayers: [relu]\n"
    plain = _load(tmp_path, text)
    assert plain.graph().nodes["input_layer"].attrs == {"shape": (3,)}


def test_input_settings_are_checked_at_their_line(tmp_path):
    err = _error(
        tmp_path, "archspec: 1\nname: a\ninput: {shape: [3], dtype: int33}\nlayers: [relu]\n"
    )
    assert "input.dtype" in err and ":3:" in err
    err = _error(
        tmp_path, "archspec: 1\nname: a\ninput: {shape: [3], dtyp: int32}\nlayers: [relu]\n"
    )
    assert "unknown field `dtyp` (did you mean `dtype`?)" in err


FROZEN = """
archspec: 1
name: frozen
input: [8, 8, 3]
dtype_policy: mixed_float16
blocks:
  cb:
    params: {f: int}
    layers:
      - conv2d: {filters: $f, kernel_size: 3, padding: same, name: conv}
      - batch_norm: {name: bn}
layers:
  - cb: {f: 4, trainable: false, name: stem}
  - stages:
      block: cb
      repeats: [1, 1]
      args: {f: 8}
      trainable: [false, true]
      name: s${stage}
      block_name: b
  - global_avg_pool: {name: pool}
  - dense: {units: 10, dtype: float32, name: head}
  - ops.multiply: 2.0
"""


def _hand_frozen() -> keras.Model:
    """FROZEN written by hand: frozen layers, a mixed policy, a float32 head."""
    policy = "mixed_float16"
    x = inputs = keras.Input((8, 8, 3), name="input_layer")
    for prefix, filters, frozen in (("stem", 4, True), ("s1_b", 8, True), ("s2_b", 8, False)):
        conv = keras.layers.Conv2D(filters, 3, padding="same", name=f"{prefix}_conv", dtype=policy)
        bn = keras.layers.BatchNormalization(name=f"{prefix}_bn", dtype=policy)
        conv.trainable = bn.trainable = not frozen
        x = bn(conv(x))
    x = keras.layers.GlobalAveragePooling2D(name="pool", dtype=policy)(x)
    x = keras.layers.Dense(10, name="head", dtype="float32")(x)
    return keras.Model(inputs, x * 2.0, name="frozen")


def test_trainable_and_dtype_equal_a_hand_written_model(tmp_path):
    spec = _load(tmp_path, FROZEN)
    model, hand = spec.build(), _hand_frozen()
    result = diff(spec.graph(), to_ir(hand))
    assert result.identical, result.changes
    assert diff(to_ir(model), to_ir(hand)).identical
    assert model.count_params() == hand.count_params()
    assert len(model.trainable_weights) == len(hand.trainable_weights)
    stats = analyse(spec.graph())
    trained = sum(int(np.prod(w.shape)) for w in hand.trainable_weights)
    assert stats.totals.trainable_params == trained
    labels = {s.name: s.label for s in stats.layers}
    assert labels["stem_conv"] == "conv2d, frozen, mixed_float16"
    assert labels["s2_b_conv"] == "conv2d, mixed_float16"
    assert labels["head"] == "dense"


def test_a_frozen_or_retyped_layer_shows_in_a_diff(tmp_path):
    a = _load(tmp_path, FROZEN).graph()
    b = _load(tmp_path, FROZEN.replace("trainable: [false, true]", "trainable: true")).graph()
    kinds = {(c.kind, c.where) for c in diff(a, b).changes}
    assert kinds == {("trainable", "s1_b_conv"), ("trainable", "s1_b_bn")}
    c = _load(tmp_path, FROZEN.replace("dtype: float32, ", "")).graph()
    (change,) = diff(a, c).changes
    assert (change.kind, change.where, change.a, change.b) == (
        "dtype",
        "head",
        "float32",
        "mixed_float16",
    )


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("- ops.add: {y: 1.0, trainable: false}", "tensor operation, not a layer"),
        ("- relu: {dtype: float8}", "layers[0].dtype: Input should be"),
        ("- relu: {trainable: 1}", "layers[0].trainable"),
        ("- stages: {block: b, repeats: [1, 2], trainable: [true]}", "a list of 2"),
        ("- stages: {block: b, repeats: [1]}\n    trainable: false", "inside its mapping"),
    ],
)
def test_setting_errors_are_located(tmp_path, step, message):
    text = (
        "archspec: 1\nname: a\ninput: [4]\nblocks:\n  b:\n    layers: [relu]\nlayers:\n  "
        + step
        + "\n"
    )
    err = _error(tmp_path, text)
    assert message in err and ":8:" in err, err


@st.composite
def _nesting(draw: st.DrawFn) -> tuple[str, list[bool | None]]:
    """Blocks b0 -> b1 -> ... -> a dense layer, each call with a random `trainable`."""
    flags = draw(st.lists(st.sampled_from([None, True, False]), min_size=1, max_size=5))
    blocks = []
    for i, flag in enumerate(flags):
        callee = f"b{i + 1}" if i + 1 < len(flags) else "dense"
        args = "{units: 2" if callee == "dense" else "{"
        if flag is not None:
            args += (", " if callee == "dense" else "") + f"trainable: {str(flag).lower()}"
        blocks.append(f"  b{i}:\n    layers: [{{{callee}: {args}}}}}]\n")
    text = "archspec: 1\nname: n\ninput: [3]\nblocks:\n" + "".join(blocks) + "layers: [b0]\n"
    return text, flags


@settings(max_examples=40, deadline=None, derandomize=True)
@given(case=_nesting())
def test_a_layer_is_frozen_when_any_call_around_it_is(tmp_path_factory, case):
    text, flags = case
    spec = _load(tmp_path_factory.mktemp("n"), text)
    (node,) = [n for n in spec.graph().nodes.values() if n.op == "dense"]
    # Keras: a frozen container freezes everything inside it, whatever inner layers say
    assert node.trainable == (False not in flags)


CELLS = """
archspec: 1
name: cells
input: [16, 16, 8]
blocks:
  cell:
    params: {filters: int}
    inputs: [prev]
    graph:
      left: [{conv2d: {filters: $filters, kernel_size: 1, name: l}}]
      right: {from: prev, layers: [{conv2d: {filters: $filters, kernel_size: 1, name: r}}]}
      out: [{add: [left, right]}]
graph:
  stem: [{conv2d: {filters: 8, kernel_size: 3, padding: same}}]
  c1: {from: stem, layers: [{cell: {filters: 8, prev: input}}]}
  c2: {from: c1, layers: [{cell: {filters: 8, prev: stem}}]}
  c3: {from: c2, layers: [{cell: {filters: 8, prev: c1}}]}
"""


def test_a_block_with_two_inputs_takes_the_previous_two_outputs(tmp_path):
    spec = _load(tmp_path, CELLS)
    layers = keras.layers
    x = inputs = keras.Input((16, 16, 8), name="input_layer")
    stem = layers.Conv2D(8, 3, padding="same", name="conv2d")(x)
    outs = [inputs, stem]
    for scope in ("cell", "cell_1", "cell_2"):
        left = layers.Conv2D(8, 1, name=f"{scope}_l")(outs[-1])
        right = layers.Conv2D(8, 1, name=f"{scope}_r")(outs[-2])
        outs.append(layers.Add(name=f"{scope}_add")([left, right]))
    hand = keras.Model(inputs, outs[-1], name="cells")
    result = diff(spec.graph(), to_ir(hand))
    assert result.identical and result.alignment == "names", result.changes
    assert diff(to_ir(spec.build()), to_ir(hand)).identical


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("prev: c1}", "prev: c9}", "input `prev` of block `cell` is 'c9', which is not a node"),
        ("prev: c1}", "pre: c1}", "block `cell` takes the input `prev`"),
        ("prev: c1}", "prev: ^3}", "'^3', which is not a node here (known: `input_layer`"),
        ("inputs: [prev]", "inputs: [filters]", "both a parameter and an input"),
        (
            "blocks:\n",
            "blocks:\n  tower: {params: {}, layers: [{stages: {block: cell, repeats: [1]}}]}\n",
            "block `cell` takes the input `prev`: name a node for it",
        ),
    ],
)
def test_block_input_errors_are_located(tmp_path, old, new, message):
    text = CELLS.replace(old, new)
    if "tower" in new:
        text = text.replace("{cell: {filters: 8, prev: c1}}", "tower")
    err = _error(tmp_path, text)
    assert message in err, err


# ---------------------------------------------------------------- back-references


@st.composite
def _back_references(draw):
    """A sequence of dense layers and `add` merges whose inputs are `^k` references."""
    steps, nodes = [], ["input_layer"]
    for i in range(draw(st.integers(1, 8))):
        if draw(st.booleans()) and len(nodes) >= 2:
            a, b = draw(st.integers(1, len(nodes))), draw(st.integers(1, len(nodes)))
            steps.append(f'  - add: ["^{a}", "^{b}"]\n    name: m{i}\n')
            expected = [nodes[-a], nodes[-b]]
        else:
            k = draw(st.integers(1, len(nodes)))
            steps.append(f'  - ops.add: {{x: "^{k}", y: 1.0}}\n    name: m{i}\n')
            expected = [nodes[-k]]
        nodes.append(f"m{i}")
        steps[-1] = (steps[-1], expected)
    return steps


@settings(max_examples=40, deadline=None, derandomize=True)
@given(steps=_back_references())
def test_back_references_name_the_nodes_before_a_step(tmp_path_factory, steps):
    # a final merge of every node, so each leads to the output
    every = ", ".join(f'"^{k}"' for k in range(1, len(steps) + 2))
    text = (
        "archspec: 1\nname: back\ninput: [4]\nlayers:\n"
        + "".join(s for s, _ in steps)
        + f"  - concatenate: [{every}]\n"
    )
    graph = _load(tmp_path_factory.mktemp("b"), text).graph()
    for i, (_, expected) in enumerate(steps):
        assert graph.nodes[f"m{i}"].inputs == expected


def test_back_references_count_repeats_and_stages_per_call(tmp_path):
    text = CELLS.split("graph:\n  stem")[0] + (
        "layers:\n"
        "  - conv2d: {filters: 8, kernel_size: 1, name: stem}\n"
        "  - cell: {filters: 8, prev: ^1}\n"
        "  - cell: {filters: 8, prev: ^2}\n"
        "    repeat: 2\n"
        "  - stages: {block: cell, repeats: [2], args: {filters: 8, prev: ^2}}\n"
    )
    graph = _load(tmp_path, text).graph()
    right = {
        n.name.removesuffix("_r"): n.inputs[0]
        for n in graph.nodes.values()
        if n.name.endswith("_r")
    }
    assert right == {
        "cell": "stem",  # ^1: its own input
        "cell_1": "stem",  # ^2: the input of the step before
        "cell_2": "cell_add",
        "stage1_block1": "cell_1_add",
        "stage1_block2": "cell_2_add",
    }


def test_a_back_reference_past_the_start_of_its_sequence_is_an_error(tmp_path):
    text = CELLS.replace("prev: c1}", "prev: ^2}")
    err = _error(tmp_path, text)
    assert "'^2', which is not a node here" in err and "`^1`)" in err, err
