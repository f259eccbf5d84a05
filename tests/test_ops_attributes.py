"""Attribute values Keras knows but cannot use are refused; every accepted value builds and runs.

Each accepted activation and initializer is built into a real layer and run, so a name
that fails or changes the shape inside Keras is caught here, not by a user.
"""

from __future__ import annotations

import typing

import numpy as np
import pytest

import archspec
from archspec.ops import REGISTRY
from archspec.ops.initializers import names_of
from archspec.ops.layers import (
    MAX_KERNEL_SPAN,
    MAX_SEED,
    NOT_FOR_BIASES,
    NOT_FOR_KERNELS,
    REFUSED_ACTIVATIONS,
    ActivationName,
    BiasInitializer,
    Initializer,
    KernelInitializer,
)
from archspec.ops.registry import MAX_TENSOR_ELEMENTS
from tests.helpers import spec_error, write

ACCEPTED_ACTIVATIONS = typing.get_args(typing.get_args(ActivationName)[0])


def _names(annotated: object) -> tuple[str, ...]:
    return names_of(annotated)


def _spec(tmp_path, shape, *layers: str):
    body = "".join(f"  - {layer}\n" for layer in layers)
    return write(tmp_path, "s.yaml", f"archspec: 1\nname: s\ninput: {shape}\nlayers:\n{body}")


def _run(model, batch: int = 2):
    data = np.random.default_rng(0).standard_normal((batch, *model.input_shape[1:]))
    return np.asarray(model(data.astype("float32")))


@pytest.fixture(autouse=True)
def _fresh_session():
    import keras

    keras.backend.clear_session(free_memory=False)


def test_every_accepted_activation_keeps_the_shape_and_runs(tmp_path):
    """As a layer, and as the `activation` of a convolution and of a dense layer."""
    layers = []
    for name in ACCEPTED_ACTIVATIONS:
        layers += [
            f"activation: {name}",
            f"conv2d: {{filters: 3, kernel_size: 1, activation: {name}}}",
        ]
    layers += ["flatten"] + [f"dense: {{units: 6, activation: {n}}}" for n in ACCEPTED_ACTIVATIONS]
    spec = archspec.load(_spec(tmp_path, "[2, 2, 3]", *layers))
    graph = spec.graph()
    model = spec.build()
    for node in graph.nodes.values():
        assert tuple(model.get_layer(node.name).output.shape[1:]) == node.shape
    out = _run(model)
    assert out.shape == (2, 6) and np.isfinite(out).all()


def test_keras_still_has_every_accepted_activation():
    import keras

    for name in (*ACCEPTED_ACTIVATIONS, *REFUSED_ACTIVATIONS):
        assert callable(keras.activations.get(name)), name


@pytest.mark.parametrize("name", sorted(REFUSED_ACTIVATIONS))
@pytest.mark.parametrize(
    "layer",
    ["activation: {name}", "conv2d: {{filters: 4, kernel_size: 1, activation: {name}}}"],
)
def test_an_activation_keras_cannot_use_here_is_refused(tmp_path, name, layer):
    error = spec_error(_spec(tmp_path, "[4, 4, 4]", layer.format(name=name)))
    assert f"`{name}` {REFUSED_ACTIVATIONS[name]}" in error.message


def test_glu_and_threshold_really_fail_in_keras():
    """Why they are refused: glu's output is not the shape Keras reports; threshold fails."""
    import keras

    x = keras.Input((4, 4, 4))
    glu = keras.layers.Activation("glu")
    assert tuple(glu(x).shape[1:]) == (4, 4, 4)
    assert glu(np.ones((1, 4, 4, 4), "float32")).shape == (1, 4, 4, 2)
    with pytest.raises(TypeError):
        keras.layers.Activation("threshold")(np.ones((1, 4), "float32"))


def test_the_initializer_lists_follow_the_weights_they_fill():
    every = set(_names(Initializer))
    assert set(_names(KernelInitializer)) == every - set(NOT_FOR_KERNELS)
    assert set(_names(BiasInitializer)) == every - set(NOT_FOR_BIASES)


def test_every_accepted_initializer_fills_its_weight(tmp_path):
    layers = []
    for name in _names(KernelInitializer):
        layers.append(
            f"separable_conv2d: {{filters: 2, kernel_size: 1, depthwise_initializer: {name}, "
            f"pointwise_initializer: {name}}}"
        )
        layers.append(f"depthwise_conv2d: {{kernel_size: 1, depthwise_initializer: {name}}}")
        layers.append(f"conv2d: {{filters: 2, kernel_size: 1, kernel_initializer: {name}}}")
    for name in _names(BiasInitializer):
        layers.append(f"conv2d: {{filters: 2, kernel_size: 1, bias_initializer: {name}}}")
    layers.append("flatten")
    for name in _names(Initializer):
        layers.append(f"dense: {{units: 8, kernel_initializer: {name}}}")
    for name in _names(BiasInitializer):
        layers.append(f"dense: {{units: 8, bias_initializer: {name}}}")
    model = archspec.load(_spec(tmp_path, "[2, 2, 2]", *layers)).build()
    assert _run(model).shape == (2, 8)


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        ("conv2d: {filters: 2, kernel_size: 3, kernel_initializer: identity}", NOT_FOR_KERNELS),
        ("depthwise_conv2d: {kernel_size: 3, depthwise_initializer: identity}", NOT_FOR_KERNELS),
        (
            "separable_conv2d: {filters: 2, kernel_size: 3, pointwise_initializer: identity}",
            NOT_FOR_KERNELS,
        ),
        ("conv2d: {filters: 2, kernel_size: 3, bias_initializer: orthogonal}", NOT_FOR_BIASES),
        ("conv2d: {filters: 2, kernel_size: 3, bias_initializer: identity}", NOT_FOR_BIASES),
    ],
)
def test_an_initializer_that_cannot_fill_its_weight_is_refused(tmp_path, layer, reason):
    error = spec_error(_spec(tmp_path, "[8, 8, 2]", layer))
    name = layer.split(": ")[-1].rstrip("}")
    assert f"`{name}` {reason[name]}" in error.message


def test_named_regularizers_build_the_penalties_they_stand_for(tmp_path):
    """Keras 3 knows `l1` and `l2` by name but not `l1_l2`, which archspec passes as a config."""
    model = archspec.load(
        _spec(
            tmp_path,
            "[4]",
            "dense: {units: 2, kernel_regularizer: l1_l2, bias_regularizer: l1}",
            "dense: {units: 2, kernel_regularizer: l2, bias_regularizer: {l1: 0.5, l2: 0.25}}",
        )
    ).build()
    first, second = model.get_layer("dense"), model.get_layer("dense_1")
    assert type(first.kernel_regularizer).__name__ == "L1L2"
    assert first.kernel_regularizer.get_config() == pytest.approx({"l1": 0.01, "l2": 0.01})
    assert type(first.bias_regularizer).__name__ == "L1"
    assert type(second.kernel_regularizer).__name__ == "L2"
    assert second.bias_regularizer.get_config() == {"l1": 0.5, "l2": 0.25}
    model(np.ones((2, 4), "float32"))
    assert len(model.losses) == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{}", "give a factor, `l1`, `l2` or both, e.g. `{l2: 1.0e-4}`, got {}"),
        ("{l2: null}", "give a factor, `l1`, `l2` or both"),
        ("{l3: 0.1}", "`l3` is not a factor; give `l1`, `l2` or both"),
        ("{l2: -1}", "Input should be greater than or equal to 0, got -1"),
        ("l4", "Input should be 'l1', 'l2' or 'l1_l2', got 'l4'"),
    ],
)
def test_a_regularizer_without_a_valid_factor_is_refused(tmp_path, value, message):
    error = spec_error(_spec(tmp_path, "[4]", f"dense: {{units: 2, kernel_regularizer: {value}}}"))
    assert error.message.startswith("`dense` attribute `kernel_regularizer`: ")
    assert message in error.message


def test_dropout_seeds_cover_the_range_keras_takes(tmp_path):
    model = archspec.load(
        _spec(
            tmp_path,
            "[4]",
            "dropout: {rate: 0.5, seed: 0}",
            f"dropout: {{rate: 0.5, seed: {MAX_SEED}}}",
        )
    ).build()
    assert model(np.ones((2, 4), "float32"), training=True).shape == (2, 4)
    for seed in (-1, MAX_SEED + 1, 2**63):
        error = spec_error(_spec(tmp_path, "[4]", f"dropout: {{rate: 0.5, seed: {seed}}}"))
        assert "`dropout` attribute `seed`" in error.message


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (
            "conv2d: {filters: 3, kernel_size: 3, groups: 2}",
            "`conv2d` attribute `groups`: 3 filters cannot be split into 2 groups, got 2",
        ),
        (
            "conv2d: {filters: 4, kernel_size: 3, strides: [1, 2], dilation_rate: [2, 1]}",
            "`conv2d` attribute `dilation_rate`: `strides` is [1, 2], and Keras cannot combine "
            "a dilation above 1 with strides above 1, got [2, 1]",
        ),
        (
            "depthwise_conv2d: {kernel_size: 3, strides: 2, dilation_rate: 2}",
            "`depthwise_conv2d` attribute `dilation_rate`: `strides` is 2",
        ),
        (
            "depthwise_conv2d: {kernel_size: 3, strides: [2, 1]}",
            "`depthwise_conv2d` attribute `strides`: a depthwise kernel needs the same stride "
            "along both axes (TensorFlow has no kernel for unequal ones), got [2, 1]",
        ),
        (
            "separable_conv2d: {filters: 4, kernel_size: 3, strides: [1, 3]}",
            "`separable_conv2d` attribute `strides`: a depthwise kernel needs the same stride",
        ),
        (
            f"conv2d: {{filters: 4, kernel_size: [1, {MAX_KERNEL_SPAN + 1}], padding: same}}",
            f"`conv2d` attribute `kernel_size`: the kernel spans {MAX_KERNEL_SPAN + 1} positions, "
            f"more than the limit of {MAX_KERNEL_SPAN}",
        ),
        (
            "conv2d: {filters: 4, kernel_size: 3, dilation_rate: 65, padding: same}",
            "`conv2d` attribute `dilation_rate`: the dilated kernel spans 131 positions",
        ),
        ("relu: {threshold: -0.1}", "`relu` attribute `threshold`: Input should be greater than"),
    ],
)
def test_attribute_combinations_keras_refuses_are_refused(tmp_path, layer, message):
    assert message in spec_error(_spec(tmp_path, "[16, 16, 4]", layer)).message


def test_equal_strides_and_dilations_on_their_own_build(tmp_path):
    spec = archspec.load(
        _spec(
            tmp_path,
            "[16, 16, 4]",
            "conv2d: {filters: 4, kernel_size: 3, strides: [1, 2], groups: 2}",
            "depthwise_conv2d: {kernel_size: 3, dilation_rate: [1, 2], padding: same}",
            "separable_conv2d: {filters: 4, kernel_size: 3, strides: 2, padding: same}",
            f"conv2d: {{filters: 2, kernel_size: [{MAX_KERNEL_SPAN}, 1], padding: same}}",
        )
    )
    model = spec.build()
    assert _run(model).shape == (2, 7, 4, 2)


@pytest.mark.parametrize("op", ["conv2d", "separable_conv2d", "depthwise_conv2d"])
def test_unknown_channels_are_refused_where_they_size_a_weight(tmp_path, op):
    layer = {
        "conv2d": "conv2d: {filters: 2, kernel_size: 3}",
        "separable_conv2d": "separable_conv2d: {filters: 2, kernel_size: 3}",
        "depthwise_conv2d": "depthwise_conv2d: {kernel_size: 3}",
    }[op]
    error = spec_error(_spec(tmp_path, "[8, 8, null]", layer))
    assert error.loc.line == 5
    assert "the input's last axis must have a known size" in error.message


def test_unknown_sizes_pass_through_layers_without_weights(tmp_path):
    spec = archspec.load(
        _spec(
            tmp_path,
            "[null, null, null]",
            "max_pooling2d: 2",
            "activation: relu",
            "dropout: 0.5",
            "global_average_pooling2d",
        )
    )
    assert spec.graph().nodes["global_average_pooling2d"].shape == (None,)
    model = spec.build()
    assert model(np.ones((2, 6, 6, 3), "float32")).shape == (2, 3)


def test_batch_norm_needs_the_size_of_its_own_axis_only(tmp_path):
    assert archspec.load(_spec(tmp_path, "[null, 8, 3]", "batch_normalization"))
    error = spec_error(_spec(tmp_path, "[null, 8, 3]", "batch_normalization: {axis: 1}"))
    assert "`batch_normalization`: axis 1 must have a known size" in error.message


def test_the_size_bound_holds_for_weights_and_outputs(tmp_path):
    """Checked statically only: nothing near the bound is allocated here."""
    side = 46_340  # 46,340**2 is just below 2**31
    assert side**2 <= MAX_TENSOR_ELEMENTS < (side + 1) ** 2
    assert archspec.load(_spec(tmp_path, f"[{side}]", f"dense: {{units: {side}, use_bias: false}}"))
    error = spec_error(_spec(tmp_path, f"[{side + 1}]", f"dense: {side + 1}"))
    assert error.message == (
        f"`dense`: weight `kernel` ({side + 1}, {side + 1}) would hold {(side + 1) ** 2:,} "
        f"values, more than the limit of {MAX_TENSOR_ELEMENTS:,} (input `input_layer` is "
        f"({side + 1}))"
    )
    error = spec_error(_spec(tmp_path, "[8, 8, 1]", f"zero_padding2d: {side}"))
    assert "`zero_padding2d`: the output would hold" in error.message
    assert "values per example" in error.message
    # an unknown size is not counted: the known ones alone decide
    assert archspec.load(_spec(tmp_path, "[null, 8, 8]", f"zero_padding2d: [0, {side // 8}]"))


def test_parameter_counts_are_the_sizes_of_the_weights():
    conv = REGISTRY.get("conv2d")
    attrs = conv.attrs.model_validate({"filters": 8, "kernel_size": 3, "groups": 2})
    assert conv.params(attrs, [(8, 8, 4)], (6, 6, 8)) == (3 * 3 * 2 * 8 + 8, 0)
    bn = REGISTRY.get("batch_normalization")
    attrs = bn.attrs.model_validate({"center": False})
    assert [w.name for w in bn.weights(attrs, [(8, 8, 4)], (8, 8, 4))] == [
        "gamma", "moving_mean", "moving_variance",
    ]  # fmt: skip
    assert bn.params(attrs, [(8, 8, 4)], (8, 8, 4)) == (4, 8)


def test_regularizers_read_back_from_the_model_equal_the_spec(tmp_path):
    """Keras keeps an L1 factor in float32; the canonical form compares at that precision."""
    from archspec.compare.diff import diff
    from archspec.compare.keras_import import to_ir

    spec = archspec.load(
        _spec(
            tmp_path,
            "[4]",
            "dense: {units: 2, kernel_regularizer: l1, bias_regularizer: l1_l2}",
            "dense: {units: 2, kernel_regularizer: {l1: 0.3}, bias_regularizer: {l2: 0.1}}",
        )
    )
    result = diff(spec.graph(), to_ir(spec.build()))
    assert result.identical, result.changes
