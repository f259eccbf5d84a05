"""The op registry: every op builds its Keras layer, and unset attributes keep Keras defaults."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archspec
from archspec.ops import REGISTRY
from tests.helpers import weight_names, write

MINIMAL = {
    "conv2d": {"filters": 2, "kernel_size": 3},
    "separable_conv2d": {"filters": 2, "kernel_size": 3},
    "depthwise_conv2d": {"kernel_size": 3},
    "dense": {"units": 2},
    "activation": {"activation": "relu"},
    "dropout": {"rate": 0.1},
    "average_pooling1d": {"pool_size": 2},
    "average_pooling2d": {"pool_size": 2},
    "average_pooling3d": {"pool_size": 2},
    "add": {"inputs": ["a", "b"]},
    "multiply": {"inputs": ["a", "b"]},
    "concatenate": {"inputs": ["a", "b"]},
    "subtract": {"inputs": ["a", "b"]},
    "average": {"inputs": ["a", "b"]},
    "maximum": {"inputs": ["a", "b"]},
    "minimum": {"inputs": ["a", "b"]},
    "reshape": {"target_shape": [-1]},
    "permute": {"dims": [2, 1, 3]},
    "repeat_vector": {"n": 3},
    "group_normalization": {"groups": 2},
    "spatial_dropout1d": {"rate": 0.1},
    "spatial_dropout2d": {"rate": 0.1},
    "spatial_dropout3d": {"rate": 0.1},
    "gaussian_noise": {"stddev": 0.1},
    "gaussian_dropout": {"rate": 0.1},
    "alpha_dropout": {"rate": 0.1},
    "conv1d": {"filters": 2, "kernel_size": 3},
    "conv3d": {"filters": 2, "kernel_size": 3},
    "conv1d_transpose": {"filters": 2, "kernel_size": 3},
    "conv2d_transpose": {"filters": 2, "kernel_size": 3},
    "conv3d_transpose": {"filters": 2, "kernel_size": 3},
    "separable_conv1d": {"filters": 2, "kernel_size": 3},
    "depthwise_conv1d": {"kernel_size": 3},
    "time_distributed": {"layer": {"dense": 2}},
    "multi_head_attention": {"num_heads": 2, "key_dim": 4},
    "dot": {"inputs": ["a", "b"], "axes": 1},
    "bidirectional": {"layer": {"lstm": 2}},
    "rescaling": {"scale": 0.5},
    "resizing": {"height": 2, "width": 3},
    "center_crop": {"height": 2, "width": 3},
    "embedding": {"input_dim": 5, "output_dim": 3},
    "simple_rnn": {"units": 2},
    "lstm": {"units": 2},
    "gru": {"units": 2},
    "conv_lstm2d": {"filters": 2, "kernel_size": 3},
    "layer_scale": {"init_values": 0.1, "projection_dim": 4},
    "stochastic_depth": {"drop_path_rate": 0.1},
    "scaled_residual": {"inputs": ["a", "b"], "scale": 0.2},
    **{
        f"ops.{name}": {"y": 2.0}
        for name in (
            "add",
            "subtract",
            "multiply",
            "true_divide",
            "divide",
            "power",
            "maximum",
            "minimum",
        )
    },
    **{f"ops.{name}": {"axis": 1} for name in ("mean", "sum", "max")},
}


@pytest.mark.parametrize("op", REGISTRY.ops(), ids=lambda op: op.name)
def test_op_builds_the_keras_layer_with_keras_defaults(op):
    attrs = op.attrs.model_validate(MINIMAL.get(op.name, {}))
    if op.build is not None:  # a wrapper: built around the layer it wraps
        layer, default = op.make("x", attrs), op.make("x", attrs)
        assert type(layer) is op.keras_type()
        assert layer.get_config() == default.get_config()
        return
    kwargs = op.keras_kwargs(attrs)
    layer = op.keras_type()(**kwargs)
    default = op.keras_type()(**kwargs)
    assert type(layer).__name__ == op.keras_class
    # nothing but the given attributes is passed, so the config equals a hand-made layer's
    assert set(kwargs) == set(MINIMAL.get(op.name, {})) - op.internal
    expected = {k: v for k, v in default.get_config().items() if k != "name"}
    assert {k: v for k, v in layer.get_config().items() if k != "name"} == expected


def test_every_attribute_is_a_keras_constructor_argument():
    import inspect

    for op in REGISTRY.ops():
        cls = op.keras_type()
        accepted = set(inspect.signature(cls.__init__).parameters)
        for name in op.attrs.model_fields:
            if name in op.internal:
                continue
            assert name in accepted or "kwargs" in accepted, (op.name, name)


def test_aliases_and_shorthands(tmp_path):
    spec = write(
        tmp_path,
        "s.yaml",
        """
        archspec: 1
        name: s
        input: [16, 16, 3]
        layers:
          - conv: {filters: 4, kernel_size: 3}
          - bn
          - activation: relu
          - max_pool: 2
          - zero_pad: 1
          - avg_pool: {pool_size: 2}
          - dropout: 0.25
          - global_avg_pool
          - dense: 5
    """,
    )
    model = archspec.load(spec).build()
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        "Conv2D", "BatchNormalization", "Activation", "MaxPooling2D", "ZeroPadding2D",
        "AveragePooling2D", "Dropout", "GlobalAveragePooling2D", "Dense",
    ]  # fmt: skip
    assert model.get_layer("dropout").rate == 0.25
    assert model.get_layer("max_pooling2d").pool_size == (2, 2)


@pytest.mark.parametrize(
    ("shape", "axes", "window"), [("[12, 3]", 1, "3"), ("[8, 8, 8, 3]", 3, "[1, 2, 2]")]
)
def test_pooling_aliases_for_sequences_and_volumes(tmp_path, shape, axes, window):
    spec = write(
        tmp_path,
        "s.yaml",
        f"""
        archspec: 1
        name: s
        input: {shape}
        layers:
          - max_pool{axes}d
          - avg_pool{axes}d: {window}
          - global_max_pool{axes}d: {{keepdims: true}}
          - global_avg_pool{axes}d
        """,
    )
    model = archspec.load(spec).build()
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        f"MaxPooling{axes}D", f"AveragePooling{axes}D", f"GlobalMaxPooling{axes}D",
        f"GlobalAveragePooling{axes}D",
    ]  # fmt: skip
    assert model.get_layer(f"max_pooling{axes}d").pool_size == (2,) * axes
    strides = (3,) if axes == 1 else (1, 2, 2)
    assert model.get_layer(f"average_pooling{axes}d").strides == strides
    assert model.output.shape == (None, 3)


def _sample_inputs(op, attrs):
    """Input shapes (without the batch axis) each op can take."""
    if len(op.wires.refs(attrs)) > 1:
        return [(4, 4, 2)] * len(op.wires.refs(attrs))
    ranks = {
        "repeat_vector": 1, "spatial_dropout1d": 2, "spatial_dropout3d": 4, "simple_rnn": 2,
        "lstm": 2, "gru": 2, "conv_lstm2d": 4, "bidirectional": 2, "conv1d": 2,
        "conv1d_transpose": 2, "separable_conv1d": 2, "depthwise_conv1d": 2, "conv3d": 4,
        "conv3d_transpose": 4,
    }  # fmt: skip
    kinds = (
        "cropping", "zero_padding", "up_sampling", "max_pooling", "average_pooling",
        "global_average_pooling", "global_max_pooling",
    )  # fmt: skip
    for axes in (1, 3):
        ranks.update(dict.fromkeys([f"{kind}{axes}d" for kind in kinds], axes + 1))
    return [(6, 5, 4, 3)[: ranks.get(op.name, 3)]] if op.name in ranks else [(6, 6, 4)]


@pytest.mark.parametrize("op", REGISTRY.ops(), ids=lambda op: op.name)
def test_shape_and_weight_rules_match_the_built_layer(op):
    """Output shape, weight names and shapes: the registry's rules against Keras's layer."""
    attrs = op.attrs.model_validate(MINIMAL.get(op.name, {}))
    shapes = _sample_inputs(op, attrs)
    layer = op.make("x", attrs)
    tensors = [keras.Input(shape) for shape in shapes]
    out = op.wires.call(layer, tensors, attrs)
    expected = op.shape(attrs, shapes)
    assert tuple(out.shape[1:]) == expected
    weights = op.weights(attrs, shapes, expected)
    built = getattr(layer, "weights", [])  # a keras.ops operation has none
    names = weight_names(layer, [w.name for w in weights]) if built else []
    assert list(zip(names, [tuple(w.shape) for w in built], strict=True)) == [
        (w.name, w.shape) for w in weights
    ]
    assert [w.trainable for w in built] == [w.trainable for w in weights]
    trainable, non_trainable = op.params(attrs, shapes, expected)
    assert trainable + non_trainable == sum(int(np.prod(w.shape)) for w in built)


def test_the_family_index_lists_what_each_module_registers():
    import importlib

    from archspec.ops import FAMILIES

    for module, names in FAMILIES.items():
        ops = importlib.import_module(module)._OPS
        assert sorted(n for op in ops for n in (op.name, *op.aliases)) == sorted(names), module


def test_a_spec_of_core_layers_imports_no_other_family():
    import json
    import subprocess
    import sys

    code = (
        "import json, sys, archspec; archspec.load('specs/resnet50.yaml').graph(); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('archspec.ops.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    for family in ("recurrent", "attention", "wrappers", "preprocessing", "arithmetic"):
        assert f"archspec.ops.{family}" not in loaded
    assert "archspec.ops.layers" in loaded


def test_the_readme_op_table_names_every_op_and_alias():
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| op (aliases) | Keras layer | shorthand |") :]
    table = table[: table.index("\n\n")]
    missing = [n for n in REGISTRY.names() if f"`{n}`" not in table]
    assert not missing, f"add these to the README's op table: {missing}"
