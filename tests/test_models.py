"""Every bundled spec outside the keras.applications catalogue (whose specs are checked
in tests/test_applications_*.py) compiles to a model equal to an independent reference.

Equal means: the same layer classes and configs in the same topology, the same
total / trainable / non-trainable parameter counts and output shapes, and outputs
equal within 1e-5 after copying the reference's weights into the compiled model.
"""

from __future__ import annotations

import pytest

import archspec
from tests.conftest import SPECS, assert_equivalent, assert_static_analysis_equals_keras


def _hand_written(module: str, name: str):
    def make():
        import importlib

        return getattr(importlib.import_module(f"tests.references.{module}"), name)()

    return make


def _seed(name: str):
    return _hand_written("seed_examples", name)


# spec (relative to specs/), its reference, and its parameter count
CASES = {
    "lenet5": (_hand_written("classic", "lenet5"), 62_006),
    "alexnet": (_hand_written("classic", "alexnet"), 62_378_344),
    "zfnet": (_hand_written("classic", "zfnet"), 62_357_608),
    "resnet18": (_hand_written("resnet_paper", "resnet18"), 11_699_112),
    "resnet34": (_hand_written("resnet_paper", "resnet34"), 21_814_696),
    "googlenet": (_hand_written("googlenet", "googlenet"), 6_998_552),
    "inception10": (_seed("inception10"), 121_418),
    "examples/inception_net": (_seed("inception_net"), 758_922),
    "examples/xception_seed": (_seed("xception_seed"), 22_817_480),
    "examples/vgg16_bn_cifar": (_seed("vgg16_bn_cifar"), 15_262_026),
    "examples/alexnet8_cifar": (_seed("alexnet8_cifar"), 9_639_178),
    "examples/resnet18_cifar": (_seed("resnet18_cifar"), 11_183_562),
    # the seed's building blocks, with the counts their printed summaries show
    "examples/vgg_block": (_seed("vgg_block"), 38_720),
    "examples/vgg_blocks": (_seed("vgg_blocks"), 2_325_568),
    "examples/naive_inception": (_seed("naive_inception"), 6_272),
    "examples/inception_modules": (_seed("inception_modules"), 513_120),
    "examples/residual_module": (_seed("residual_module"), 38_976),
    # today's nets: sequences, attention, an encoder-decoder with skips
    "examples/text_classifier": (_hand_written("modern", "text_classifier"), 2_786_370),
    "examples/transformer_encoder": (_hand_written("modern", "transformer_encoder"), 266_506),
    "examples/unet_small": (_hand_written("modern", "unet_small"), 118_338),
}


def test_every_bundled_spec_has_a_reference():
    from tests.applications import APPLICATIONS
    from tests.test_examples_extra import CASES as EXTRA_EXAMPLES

    bundled = sorted(
        str(p.relative_to(SPECS).with_suffix(""))
        for pattern in ("*.yaml", "examples/*.yaml")
        for p in SPECS.glob(pattern)
    )
    checked = {*CASES, *APPLICATIONS, *(f"examples/{name}" for name in EXTRA_EXAMPLES)}
    assert bundled == sorted(checked)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_model_equals_reference(name: str):
    make_reference, expected_params = CASES[name]
    spec = archspec.load(SPECS / f"{name}.yaml")
    compiled = spec.build()
    reference = make_reference()
    assert compiled.count_params() == expected_params
    assert_equivalent(compiled, reference, graph=spec.graph())
    # every layer's static shape and counts, as `info` shows them, equal Keras's own
    assert_static_analysis_equals_keras(spec.graph(), compiled)


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


def test_googlenet_auxiliary_classifiers():
    from tests.references.googlenet import googlenet

    spec = archspec.load(SPECS / "googlenet.yaml", aux=True)
    compiled = spec.build()
    assert [tuple(o.shape) for o in compiled.outputs] == [(None, 1000)] * 3
    assert compiled.count_params() == 13_378_280
    assert_equivalent(compiled, googlenet(aux=True), graph=spec.graph())


def test_seed_xception_matches_its_printed_summary():
    model = archspec.load(SPECS / "examples" / "xception_seed.yaml").build()
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    assert (model.count_params(), non_trainable) == (22_817_480, 11_632)
