"""Language features the keras.applications zoo needs, each against the Keras model a
person writes by hand: Keras's own names for unnamed layers (`auto_names: keras`), model
names with expressions, parameter choices, and nested `sequential` models."""

from __future__ import annotations

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archspec
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from tests.applications import config_differences
from tests.conftest import assert_equivalent
from tests.helpers import spec_error, write


def _load(tmp_path, text: str, **overrides) -> archspec.ArchSpec:
    return archspec.load(write(tmp_path, "spec.yaml", text), overrides)


def _error(tmp_path, text: str, **overrides) -> str:
    return spec_error(write(tmp_path, "spec.yaml", text), **overrides).format()


# ------------------------------------------------------------------ auto_names: keras

#: op -> (the step unnamed, the step with a name, the Keras layer a person writes;
#: None for the `+ 1.0` operator, which Keras names itself)
_OPS = {
    "dense": ("{dense: 4}", "{dense: {units: 4, name: %s}}", keras.layers.Dense, (4,)),
    "relu": ("relu", "{relu: {name: %s}}", keras.layers.ReLU, ()),
    "activation": (
        "{activation: relu}",
        "{activation: {activation: relu, name: %s}}",
        keras.layers.Activation,
        ("relu",),
    ),
    "bn": (
        "batch_normalization",
        "{batch_normalization: {name: %s}}",
        keras.layers.BatchNormalization,
        (),
    ),
    "plus": ("{ops.add: 1.0}", None, None, ()),
}


@st.composite
def _models(draw):
    """Top-level steps and block calls, each layer named or left to Keras."""
    items = []
    for _ in range(draw(st.integers(1, 6))):
        ops = st.tuples(st.sampled_from(sorted(_OPS)), st.booleans())
        in_block = draw(st.booleans())
        items.append((in_block, draw(st.lists(ops, min_size=1, max_size=4 if in_block else 1))))
    return items


@settings(max_examples=15, deadline=None, derandomize=True)
@given(items=_models())
def test_keras_auto_names_equal_a_fresh_keras_session(tmp_path_factory, items):
    lines, blocks = [], []
    keras.backend.clear_session()
    x = inputs = keras.Input((4,))
    for i, (in_block, ops) in enumerate(items):
        body = []
        for j, (op, named) in enumerate(ops):
            unnamed, with_name, cls, args = _OPS[op]
            if cls is None:
                body.append(unnamed)
                x = x + 1.0
                continue
            local = f"n{i}_{j}" if named else None
            body.append(unnamed if local is None else with_name % local)
            # a named layer in a block call takes the call's scope, as archspec names it
            full = None if local is None else f"c{i}_{local}" if in_block else local
            x = cls(*args, name=full)(x)
        if in_block:
            blocks.append(f"  b{i}:\n    layers: [{', '.join(body)}]\n")
            lines.append(f"  - b{i}: {{name: c{i}}}\n")
        else:
            lines.append(f"  - {body[0]}\n")
    hand = keras.Model(inputs, x, name="auto")
    text = (
        "archspec: 1\nname: auto\nauto_names: keras\ninput: [4]\n"
        + ("blocks:\n" + "".join(blocks) if blocks else "")
        + "layers:\n"
        + "".join(lines)
    )
    keras.backend.clear_session()
    compiled = _load(tmp_path_factory.mktemp("a"), text).build()
    assert config_differences(compiled.get_config(), hand.get_config()) == [], text


def test_scoped_names_stay_the_default(tmp_path):
    text = """
archspec: 1
name: scoped
input: [4]
blocks:
  b: {layers: [relu, {dense: 2}]}
layers: [b, b, relu]
"""
    assert list(_load(tmp_path, text).graph().nodes) == [
        "input_layer", "b_relu", "b_dense", "b_1_relu", "b_1_dense", "relu",
    ]  # fmt: skip
    keras_names = text.replace("name: scoped\n", "name: scoped\nauto_names: keras\n")
    assert list(_load(tmp_path, keras_names).graph().nodes) == [
        "input_layer", "re_lu", "dense", "re_lu_1", "dense_1", "re_lu_2",
    ]  # fmt: skip


# ------------------------------------------------------------------ model names, choices

NAMED = """
archspec: 1
name: net_${fixed(alpha, 2)}_${size}
params: {alpha: 1.0, size: 32, tag: x}
input: [$size, 3]
layers: [{dense: 2}]
"""


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({}, "net_1.00_32"), ({"alpha": 0.35}, "net_0.35_32"), ({"size": 7}, "net_1.00_7")],
)
def test_a_model_name_embeds_expressions(tmp_path, overrides, expected):
    spec = _load(tmp_path, NAMED, **overrides)
    assert spec.name == spec.graph().name == expected
    assert spec.build().name == expected


def test_a_model_name_that_evaluates_to_a_bad_name_is_located(tmp_path):
    text = NAMED.replace("${size}", "${tag}")
    err = _error(tmp_path, text, tag="a b")
    assert ":2:7: name: a model name uses letters, digits" in err, err
    assert "'net_1.00_a b'" in err


def test_a_model_name_template_is_checked_before_evaluation(tmp_path):
    err = _error(tmp_path, NAMED.replace("name: net_", "name: net/"))
    assert "a model name uses letters, digits" in err, err


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("fixed(alpha, 21)", "`fixed` takes 0 to 20 decimals"),
        ("fixed(tag, 2)", "`fixed` takes a number and a whole number of decimals"),
        ("fixed(alpha, 1.5)", "`fixed` takes a number and a whole number of decimals"),
    ],
)
def test_fixed_refuses_what_it_cannot_format(tmp_path, expr, message):
    err = _error(tmp_path, NAMED.replace("fixed(alpha, 2)", expr))
    assert message in err, err


CHOICES = """
archspec: 1
name: head
params:
  pooling: {type: str, default: null, choices: [null, avg, max]}
input: [8, 8, 3]
layers:
  - global_average_pooling2d: {name: gap}
    if: $pooling == "avg"
  - flatten
"""


def test_a_parameter_takes_only_its_choices(tmp_path):
    for value in (None, "avg", "max"):
        _load(tmp_path, CHOICES, pooling=value).graph()
    err = _error(tmp_path, CHOICES, pooling="mean")
    assert "--set pooling" in err and "must be one of null, 'avg', 'max', got 'mean'" in err, err


def test_a_default_outside_the_choices_is_an_error(tmp_path):
    err = _error(tmp_path, CHOICES.replace("default: null", "default: sum"))
    assert "the default: must be one of null, 'avg', 'max', got 'sum'" in err, err


def test_choices_must_fit_the_type(tmp_path):
    err = _error(tmp_path, CHOICES.replace("[null, avg, max]", "[null, avg, 3]"))
    assert "choice 3 does not fit the type" in err, err


# ------------------------------------------------------------------ sequential

SEQUENTIAL = """
archspec: 1
name: seq
input: [16, 16, 3]
blocks:
  stem:
    params: {filters: int}
    layers:
      - conv2d: {filters: $filters, kernel_size: 4, strides: 4, name: conv}
      - layer_normalization: {epsilon: 1.0e-6, name: layernorm}
layers:
  - stem: {filters: 8, name: seq_stem}
    sequential: seq_stem
  - layer_normalization: {epsilon: 1.0e-6, name: down_ln}
    sequential: down
  - global_average_pooling2d: {name: pool}
"""


def _hand_sequential():
    # in a fresh session: the nested models' input layers are `input_layer_1`, `_2`
    keras.backend.clear_session()
    inputs = keras.Input((16, 16, 3))
    stem = keras.Sequential(
        [
            keras.layers.Conv2D(8, 4, strides=4, name="seq_stem_conv"),
            keras.layers.LayerNormalization(epsilon=1e-6, name="seq_stem_layernorm"),
        ],
        name="seq_stem",
    )
    down = keras.Sequential(
        [keras.layers.LayerNormalization(epsilon=1e-6, name="down_ln")], name="down"
    )
    x = keras.layers.GlobalAveragePooling2D(name="pool")(down(stem(inputs)))
    return keras.Model(inputs, x, name="seq")


def test_sequential_emits_a_nested_keras_sequential(tmp_path):
    spec = _load(tmp_path, SEQUENTIAL)
    compiled = spec.build()
    hand = _hand_sequential()
    assert spec.graph().models == {"seq_stem": "input_layer_1", "down": "input_layer_2"}
    assert config_differences(compiled.get_config(), hand.get_config()) == []
    assert_equivalent(compiled, hand, graph=spec.graph())
    assert [n.model for n in spec.graph().nodes.values()] == [
        None, "seq_stem", "seq_stem", "down", None,
    ]  # fmt: skip
    # a nested model is a scope of its own, as `info` and diff's stage table show it
    assert [n.scopes for n in spec.graph().nodes.values()] == [
        (), ("seq_stem",), ("seq_stem",), ("down",), (),
    ]  # fmt: skip
    assert [n.scopes for n in to_ir(hand).nodes.values()] == [
        n.scopes for n in spec.graph().nodes.values()
    ]


def test_diff_tells_a_nested_sequential_from_a_flat_chain(tmp_path):
    flat = _load(tmp_path, SEQUENTIAL.replace("    sequential: seq_stem\n", ""))
    result = diff(flat.graph(), to_ir(_hand_sequential()))
    assert not result.identical
    assert {c.kind for c in result.changes} == {"nested model"}
    assert {c.where for c in result.changes} == {"seq_stem_conv", "seq_stem_layernorm"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      - layer_normalization: {epsilon: 1.0e-6, name: layernorm}\n",
            "      - ops.add: 1.0\n",
            "`seq_stem_add` is a tensor operation (`ops.add`); a `sequential` model holds "
            "layers only",
        ),
        ("sequential: down", "sequential: seq_stem", "`sequential` name `seq_stem` is already"),
        ("sequential: down", "sequential: pool", "layer name `pool` is already the name of a"),
        ("name: down_ln}", "name: seq_stem}", "layer name `seq_stem` is already the name of"),
        ("  - global_average_pooling2d: {name: pool}\n", "  - b2\n", "must form a chain"),
        ("  - global_average_pooling2d: {name: pool}\n", "  - b3\n", "do not nest"),
        ("sequential: down", "sequential: ${1 + 1}x", "layers[1]"),
    ],
)
def test_sequential_errors_are_located(tmp_path, old, new, message):
    text = SEQUENTIAL.replace(old, new).replace(
        "layers:\n  - stem",
        "  b2:\n"
        "    graph:\n"
        "      a: [{dense: 8}]\n"
        "      out: [{add: [input, a]}]\n"
        "  b3:\n"
        "    layers: [{dense: 3, sequential: inner}]\n"
        "layers:\n  - stem",
    )
    text = text.replace("  - b2\n", "  - b2: {}\n    sequential: outer\n")
    text = text.replace("  - b3\n", "  - b3: {}\n    sequential: outer\n")
    if "${1 + 1}x" in new:
        assert "2x" in [n.model for n in _load(tmp_path, text).graph().nodes.values()]
        return
    err = _error(tmp_path, text)
    assert message in err, err
    assert err.count("\n") <= 1


def test_sequential_is_refused_on_stages(tmp_path):
    text = SEQUENTIAL.replace(
        "  - global_average_pooling2d: {name: pool}\n",
        "  - stages: {block: stem, repeats: [1], args: {filters: 8}}\n    sequential: s\n",
    )
    err = _error(tmp_path, text)
    assert "`sequential` groups the layers of one call" in err, err


# ------------------------------------------------------------------ between, output

BETWEEN = """
archspec: 1
name: between
input: [16, 16, 4]
blocks:
  unit: {params: {f: int}, layers: [{conv2d: {filters: $f, kernel_size: 1, name: c}}]}
  down: {layers: [{max_pooling2d: 2, name: pool}]}
layers:
  - stages:
      block: unit
      repeats: [1, 2, 1]
      name: s${stage}
      args: {f: 4}
      between:
        - down: {name: "t${stage}"}
        - relu: {name: "t${stage}_relu"}
"""


def test_between_runs_after_every_stage_but_the_last(tmp_path):
    assert list(_load(tmp_path, BETWEEN).graph().nodes) == [
        "input_layer", "s1_block1_c", "t1_pool", "t1_relu",
        "s2_block1_c", "s2_block2_c", "t2_pool", "t2_relu", "s3_block1_c",
    ]  # fmt: skip


def test_a_between_step_error_is_located(tmp_path):
    err = _error(tmp_path, BETWEEN.replace("relu: {name", "relu: {nam: 1, name"))
    assert ":15:23: layers[0].stages.between[1]: `relu` has no attribute `nam`" in err, err


OUTPUT = """
archspec: 1
name: out
input: [4]
blocks:
  two:
    output: main
    graph:
      main: [{dense: 3, name: d}]
      side: {from: main, layers: [{dense: 2, name: s}]}
graph:
  body: [two]
  extra: {from: body, layers: [{dense: 1, name: e}]}
outputs: [extra]
"""


def test_a_block_names_its_output_branch(tmp_path):
    text = OUTPUT.replace(
        "      side: {from: main, layers: [{dense: 2, name: s}]}\n",
        "      side: {from: main, layers: [{dense: 2, name: s}]}\n"
        "      more: {from: side, layers: [{dense: 3, name: m}]}\n"
        "      sum: [{add: [main, more]}]\n",
    )
    graph = _load(tmp_path, text.replace("output: main", "output: sum")).graph()
    assert graph.nodes["e"].inputs == ["two_add"]
    err = _error(tmp_path, text)
    assert "layer `two_s` does not lead to any output" in err, err


def test_output_must_name_a_branch(tmp_path):
    err = _error(tmp_path, OUTPUT.replace("output: main", "output: mian"))
    assert "`output` names `mian`, which is not a branch of the graph (did you mean" in err, err


def test_last_overrides_the_last_repeat_of_each_stage(tmp_path):
    text = BETWEEN.replace(
        "      between:\n", "      first: {f: 2}\n      last: {f: [8, 6, 5]}\n      between:\n"
    )
    graph = _load(tmp_path, text).graph()
    filters = {n: node.attrs.filters for n, node in graph.nodes.items() if n.endswith("_c")}
    # a one-repeat stage is its own first and last: `last` wins
    assert filters == {"s1_block1_c": 8, "s2_block1_c": 2, "s2_block2_c": 6, "s3_block1_c": 5}


# ------------------------------------------------------------------ configs as Keras keeps them


def test_numbers_keep_their_type_and_activations_their_keras_name(tmp_path):
    """`offset: -1` stays the integer Keras keeps (EfficientNetV2's preprocessing); `swish`
    is the activation Keras saves as `silu`, so the spec diffs identical to its model."""
    text = """
archspec: 1
name: kept
input: [4]
layers:
  - rescaling: {scale: 0.0078125, offset: -1}
  - dense: {units: 3, activation: swish}
  - activation: hard_swish
"""
    spec = _load(tmp_path, text)
    model = spec.build()
    assert model.layers[1].get_config()["offset"] == -1
    assert type(model.layers[1].get_config()["offset"]) is int
    assert diff(spec.graph(), to_ir(model)).identical
    silu = _load(tmp_path, text.replace("swish", "silu"))
    assert diff(spec.graph(), silu.graph()).identical
