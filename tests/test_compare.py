"""The comparison engine finds real differences, so "identical" means something."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

import archspec
from archspec.compare.diff import diff
from archspec.compare.keras_import import copy_weights, to_ir
from archspec.errors import SpecError
from tests.conftest import SPECS


def residual(order="shortcut_first", filters=8, kernel=3, epsilon=1e-3, bn=True, prefix=""):
    inputs = keras.Input((16, 16, 8))
    main = layers.Conv2D(filters, kernel, padding="same", name=f"{prefix}c1")(inputs)
    if bn:
        main = layers.BatchNormalization(epsilon=epsilon, name=f"{prefix}bn")(main)
    merged = [inputs, main] if order == "shortcut_first" else [main, inputs]
    out = layers.Add(name=f"{prefix}add")(merged)
    return keras.Model(inputs, layers.Activation("relu", name=f"{prefix}out")(out))


def changes(a, b):
    return diff(to_ir(a), to_ir(b)).changes


def test_identical_models_whatever_their_names():
    result = diff(to_ir(residual()), to_ir(residual(prefix="other_")))
    assert result.identical and result.alignment == "structure"


def test_merge_input_order_is_structure():
    found = changes(residual(), residual(order="main_first"))
    assert [c.kind for c in found] == ["inputs"]
    assert found[0].where == "add"


def test_attribute_and_shape_differences():
    found = changes(residual(), residual(kernel=5))
    assert [(c.kind, c.attribute, c.a, c.b) for c in found] == [
        ("attribute", "kernel_size", (3, 3), (5, 5))
    ]
    found = changes(residual(), residual(epsilon=1e-5))
    assert [(c.attribute, c.a, c.b) for c in found] == [("epsilon", 1e-3, 1e-5)]


def test_missing_layer_is_reported_as_removed():
    found = changes(residual(), residual(bn=False))
    assert ("removed", "bn") in [(c.kind, c.where) for c in found]


def test_equivalent_spellings_compare_equal():
    def with_axis(axis):
        inputs = keras.Input((4, 4, 3))
        return keras.Model(inputs, layers.BatchNormalization(axis=axis, name="bn")(inputs))

    assert changes(with_axis(-1), with_axis(3)) == []

    def dense(**kw):
        inputs = keras.Input((4,))
        return keras.Model(inputs, layers.Dense(2, name="d", **kw)(inputs))

    assert (
        changes(
            dense(kernel_regularizer="l2"), dense(kernel_regularizer=keras.regularizers.L2(0.01))
        )
        == []
    )
    assert (
        changes(dense(kernel_initializer="uniform"), dense(kernel_initializer="random_uniform"))
        == []
    )
    assert changes(dense(activation=None), dense(activation="linear")) == []
    assert [c.attribute for c in changes(dense(), dense(use_bias=False))] == ["use_bias"]


def test_unrepresentable_settings_are_refused_not_ignored():
    inputs = keras.Input((4, 4, 3))
    conv = layers.Conv2D(2, 1, activity_regularizer="l2", name="c")
    model = keras.Model(inputs, conv(inputs))
    try:
        to_ir(model)
    except SpecError as exc:
        assert (
            exc.message
            == "layer `c` (Conv2D) uses settings archspec cannot express: `activity_regularizer`"
        )
    else:
        raise AssertionError("the constraint was silently dropped")


def test_repeat_counts_and_stage_deltas():
    a = archspec.load(SPECS / "resnet50.yaml").graph()
    b = archspec.load(SPECS / "resnet101.yaml").graph()
    result = diff(a, b)
    assert [(c.kind, c.where, c.a, c.b, c.attribute) for c in result.changes] == [
        ("repeats", "conv4: block", 6, 23, "block7 ... block23")
    ]
    stages = {name: (fa.params, fb.params) for name, fa, fb in result.stages}
    assert stages["conv3"][0] == stages["conv3"][1]
    assert stages["conv4"] == (7_129_088, 26_199_552)
    assert result.totals["b"].params - result.totals["a"].params == 44_707_176 - 25_636_712
    back = diff(b, a)
    assert [(c.kind, c.a, c.b) for c in back.changes] == [("repeats", 23, 6)]


def test_whole_scopes_and_outputs(tmp_path):
    base = archspec.load(SPECS / "googlenet.yaml").graph()
    aux = archspec.load(SPECS / "googlenet.yaml", aux=True).graph()
    found = diff(base, aux).changes
    kinds = [(c.kind, c.where) for c in found]
    assert ("added", "aux1") in kinds and ("added", "aux2") in kinds
    assert ("outputs", "model") in kinds
    assert next(c for c in found if c.where == "aux1").a == "scope with 6 layers"


def test_copy_weights_follows_the_alignment():
    a, b = residual(), residual(prefix="x_")
    result = diff(to_ir(a), to_ir(b))
    assert copy_weights(a, b, result.pairs) == 2
    x = np.random.default_rng(0).random((1, 16, 16, 8), dtype=np.float32)
    np.testing.assert_array_equal(a(x), b(x))
