"""The comparison engine finds real differences, so "no differences" means something."""

from __future__ import annotations

import keras
from keras import layers

from archspec.compare.keras_import import copy_weights, import_keras
from archspec.compare.structural import compare


def residual(order="shortcut_first", filters=8, kernel=3, epsilon=1e-3, bn=True):
    inputs = keras.Input((16, 16, 8))
    main = layers.Conv2D(filters, kernel, padding="same", name="c1")(inputs)
    if bn:
        main = layers.BatchNormalization(epsilon=epsilon, name="bn")(main)
    merged = [inputs, main] if order == "shortcut_first" else [main, inputs]
    out = layers.Add(name="add")(merged)
    return keras.Model(inputs, layers.Activation("relu", name="out")(out))


def kinds(a, b):
    return [d.kind for d in compare(import_keras(a), import_keras(b))]


def test_identical_models_have_no_differences_whatever_their_names():
    a = residual()
    b = residual()
    for layer in b.layers:
        layer.name = f"other_{layer.name}"  # names are not structure
    assert kinds(a, b) == []


def test_merge_input_order_is_structure():
    found = compare(import_keras(residual()), import_keras(residual(order="main_first")))
    assert [d.kind for d in found] == ["inputs"]
    assert found[0].where.startswith("add")


def test_config_and_count_differences_are_reported():
    found = compare(import_keras(residual()), import_keras(residual(filters=8, kernel=5)))
    assert [d.kind for d in found] == [
        "config `kernel_size`",
        "parameters (trainable, non-trainable)",
    ]
    assert (found[0].a, found[0].b) == ((3, 3), (5, 5))
    assert "config `epsilon`" in kinds(residual(), residual(epsilon=1e-5))


def test_missing_layer_is_reported():
    assert "layer count" in kinds(residual(), residual(bn=False))


def test_negative_and_positive_axis_are_the_same_layer():
    def with_axis(axis):
        inputs = keras.Input((4, 4, 3))
        return keras.Model(inputs, layers.BatchNormalization(axis=axis)(inputs))

    assert kinds(with_axis(-1), with_axis(3)) == []


def test_copy_weights_pairs_layers_by_structure():
    import numpy as np

    a, b = residual(), residual()
    for layer in b.layers:
        layer.name = f"x_{layer.name}"
    assert copy_weights(a, b) == 2
    x = np.random.default_rng(0).random((1, 16, 16, 8), dtype=np.float32)
    np.testing.assert_array_equal(a(x), b(x))
