"""Every bundled spec compiles to a model equal to an independent reference.

Equal means: the same layer classes and configs in the same topology, the same
total / trainable / non-trainable parameter counts and output shapes, and outputs
equal within 1e-5 after copying the reference's weights into the compiled model.
"""

from __future__ import annotations

import pytest

import archspec
from tests.conftest import SPECS, assert_equivalent


def _applications(name: str):
    def make():
        import keras

        return getattr(keras.applications, name)(weights=None)

    return make


def _hand_written(module: str, name: str):
    def make():
        import importlib

        return getattr(importlib.import_module(f"tests.references.{module}"), name)()

    return make


CASES = {
    "lenet5": (_hand_written("classic", "lenet5"), 62_006),
    "alexnet": (_hand_written("classic", "alexnet"), 62_378_344),
    "zfnet": (_hand_written("classic", "zfnet"), 62_357_608),
    "vgg16": (_applications("VGG16"), 138_357_544),
    "vgg19": (_applications("VGG19"), 143_667_240),
    "resnet18": (_hand_written("resnet_paper", "resnet18"), 11_699_112),
    "resnet34": (_hand_written("resnet_paper", "resnet34"), 21_814_696),
    "resnet50": (_applications("ResNet50"), 25_636_712),
    "resnet101": (_applications("ResNet101"), 44_707_176),
    "resnet152": (_applications("ResNet152"), 60_419_944),
}


def test_every_bundled_spec_has_a_reference():
    bundled = sorted(p.stem for p in SPECS.glob("*.yaml"))
    assert bundled == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_model_equals_reference(name: str):
    make_reference, expected_params = CASES[name]
    compiled = archspec.load(SPECS / f"{name}.yaml").build()
    reference = make_reference()
    assert compiled.count_params() == expected_params
    assert_equivalent(compiled, reference)


@pytest.mark.parametrize("name", sorted(CASES))
def test_static_shapes_equal_keras_shapes(name: str):
    spec = archspec.load(SPECS / f"{name}.yaml")
    model = spec.build()
    for node in spec.graph().nodes.values():
        keras_shape = tuple(model.get_layer(node.name).output.shape[1:])
        assert node.shape == keras_shape, node.name


@pytest.mark.parametrize("name", ["resnet50", "resnet101", "resnet152", "vgg16", "vgg19"])
def test_names_reproduce_keras_applications(name: str):
    compiled = archspec.load(SPECS / f"{name}.yaml").build()
    reference = CASES[name][0]()

    # input layers are left out: Keras renames them (`input_layer_3`) per process
    def names(model):
        return sorted(
            lay.name for lay in model.layers if not isinstance(lay, keras.layers.InputLayer)
        )

    import keras

    assert names(compiled) == names(reference)


def test_keras_applications_weights_load_by_name(tmp_path):
    """Weights saved from keras.applications.ResNet50 load into the compiled spec by name."""
    import keras
    import numpy as np

    reference = keras.applications.ResNet50(weights=None)
    rng = np.random.default_rng(0)
    for layer in reference.layers:
        if layer.weights:
            layer.set_weights(
                [rng.normal(0, 0.05, w.shape).astype("float32") for w in layer.weights]
            )
    for layer in reference.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, _ = layer.get_weights()
            layer.set_weights(
                [gamma, beta, mean, rng.uniform(0.5, 1.5, mean.shape).astype("float32")]
            )
    path = tmp_path / "resnet50_reference.h5"
    reference.save(path)  # the HDF5 format, the one Keras loads by layer name

    compiled = archspec.load(SPECS / "resnet50.yaml").build()
    compiled.load_weights(path, by_name=True)
    for layer in (lay for lay in reference.layers if lay.weights):
        for mine, theirs in zip(
            compiled.get_layer(layer.name).get_weights(), layer.get_weights(), strict=True
        ):
            np.testing.assert_array_equal(mine, theirs)
    x = rng.random((2, 224, 224, 3), dtype=np.float32)
    np.testing.assert_allclose(compiled(x), reference(x), atol=1e-5, rtol=0)


def test_classes_override_changes_only_the_classifier():
    compiled = archspec.load(SPECS / "resnet50.yaml", classes=10).build()
    assert compiled.output_shape == (None, 10)
    assert compiled.get_layer("predictions").units == 10
