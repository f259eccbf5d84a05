"""Trained weights into edited architectures: what moves, what is reported, what is refused.

Sources are keras.applications models built with ``weights=None`` (nothing is
downloaded) and given random weights, so a transferred layer is told apart from a
freshly initialised one by its values.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import archspec
from archspec.cli import main
from archspec.errors import SpecError
from tests.conftest import SPECS, _randomise_statistics


def _source(constructor: str, tmp_path, **kwargs):
    import keras

    model = getattr(keras.applications, constructor)(weights=None, **kwargs)
    _randomise_statistics(model)
    path = tmp_path / f"{constructor}.weights.h5"
    model.save_weights(path)
    return model, path


def _prefix_output(model, layer: str, x):
    import keras

    return np.asarray(keras.Model(model.inputs, model.get_layer(layer).output)(x))


def _same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.fixture(scope="module")
def resnet50_source(tmp_path_factory):
    return _source("ResNet50", tmp_path_factory.mktemp("resnet50"))


def test_resnet50_weights_into_ten_classes(resnet50_source):
    source, path = resnet50_source
    spec = archspec.load("resnet50", classes=10)
    model = spec.build(weights=str(path), weights_model="keras.applications.ResNet50")
    report = spec.transfer_report
    changed = [item for item in report.layers if item.status != "transferred"]
    assert [(c.layer, c.status, c.source) for c in changed] == [
        ("predictions", "shape changed", "predictions")
    ]
    assert changed[0].shapes == ((2048, 10), (10,))
    assert changed[0].source_shapes == ((2048, 1000), (1000,))
    assert report.alignment == "names" and report.unused == []
    weighted = [layer for layer in source.layers if layer.weights]
    assert report.counts()["transferred"] == len(weighted) - 1
    x = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    np.testing.assert_array_equal(
        _prefix_output(model, "avg_pool", x), _prefix_output(source, "avg_pool", x)
    )
    assert not report.complete
    with pytest.raises(SpecError, match="--strict: 1 of 107 layers with weights"):
        spec.build(weights=source, strict=True)


def test_a_renamed_stage_is_paired_by_structure(resnet50_source, tmp_path):
    source, _ = resnet50_source
    text = (SPECS / "resnet50.yaml").read_text()
    renamed = text.replace(
        "name: conv${stage + 1}", "name: \"${['conv2', 'conv3', 'body4', 'conv5'][stage - 1]}\""
    )
    assert renamed != text
    (tmp_path / "lib").mkdir()
    for lib in ("resnet_blocks.yaml", "heads.yaml"):
        (tmp_path / "lib" / lib).write_text((SPECS / "lib" / lib).read_text())
    spec_path = tmp_path / "renamed.yaml"
    spec_path.write_text(renamed)
    spec = archspec.load(spec_path)
    model = spec.build(weights=source)
    report = spec.transfer_report
    assert report.complete, [i for i in report.layers if i.status != "transferred"]
    body4 = {i.layer: i.source for i in report.layers if i.layer.startswith("body4")}
    assert len(body4) == 38
    assert all(theirs == ours.replace("body4", "conv4", 1) for ours, theirs in body4.items())
    x = np.random.default_rng(1).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(model(x), source(x), atol=1e-6)


def test_a_block_added_to_a_densenet_stage_is_new(tmp_path):
    source, path = _source("DenseNet121", tmp_path)
    spec = archspec.load("densenet121", depths=[6, 13, 24, 16])
    model = spec.build(weights=source)
    report = spec.transfer_report
    new = [i.layer for i in report.layers if i.status == "new"]
    assert new == [
        "conv3_block13_0_bn",
        "conv3_block13_1_conv",
        "conv3_block13_1_bn",
        "conv3_block13_2_conv",
    ]
    # the unchanged prefix is filled and computes what the source computes
    for name in ("conv1_conv", "conv2_block6_2_conv", "pool2_conv", "conv3_block12_2_conv"):
        assert _same_weights(model.get_layer(name), source.get_layer(name)), name
    x = np.random.default_rng(2).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(
        _prefix_output(model, "conv3_block12_concat", x),
        _prefix_output(source, "conv3_block12_concat", x),
        atol=1e-5,
    )
    # what follows the wider stage changed shape, and is reported with both shapes
    pool3 = next(i for i in report.layers if i.layer == "pool3_conv")
    assert (pool3.status, pool3.shapes, pool3.source_shapes) == (
        "shape changed",
        ((1, 1, 544, 272),),
        ((1, 1, 512, 256),),
    )
    assert report.unused == []


def test_weights_that_fit_nowhere(tmp_path):
    import keras

    unrelated = keras.Sequential([keras.Input((7,)), keras.layers.Dense(3, name="d")])
    unrelated.save(tmp_path / "unrelated.keras")
    result = CliRunner().invoke(
        main,
        ["build", "lenet5", "--no-save", "--weights", str(tmp_path / "unrelated.keras"), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["weights"]
    assert report["totals"] == {"transferred": 0, "shape changed": 1, "new": 4, "unused": 0}
    assert report["complete"] is False and report["alignment"] == "structure"
    # its one dense layer pairs with the last dense layer by structure, and does not fit
    (changed,) = [item for item in report["layers"] if item["status"] == "shape changed"]
    assert (changed["layer"], changed["source"]) == ("dense_2", "d")
    assert (changed["shapes"], changed["source_shapes"]) == ([[84, 10], [10]], [[7, 3], [3]])
    result = CliRunner().invoke(
        main,
        [
            "build",
            "lenet5",
            "--no-save",
            "--weights",
            str(tmp_path / "unrelated.keras"),
            "--strict",
        ],
    )
    assert result.exit_code == 2
    assert "transferred 0 of 5 layers with weights" in result.stdout.splitlines()[1]
    assert result.stderr.startswith(f"error: {tmp_path / 'unrelated.keras'}: --strict: 5 of 5")


def test_the_command_line_report(resnet50_source, tmp_path):
    _, path = resnet50_source
    args = ["build", "resnet50", "--set", "classes=10", "--no-save", "--weights", str(path)]
    result = CliRunner().invoke(main, [*args, "--weights-model", "keras.applications.ResNet50"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith(
        f"weights from {path}: transferred 106 of 107 layers with weights, 1 shape changed, "
        "0 new in the spec, 0 unused from the source"
    )
    assert lines[2].split() == ["scope", "transferred", "shape", "changed", "new"]
    assert "conv4                38              0    0" in lines
    assert (
        "shape changed: predictions (2048, 10), (10,) <- predictions (2048, 1000), (1000,)" in lines
    )
    # a weights file without its model, and the model without weights, are one line each
    result = CliRunner().invoke(main, args)
    assert (
        result.exit_code == 2
        and "name the model it belongs to with --weights-model" in result.stderr
    )
    result = CliRunner().invoke(
        main, ["build", "lenet5", "--no-save", "--weights-model", "x.keras"]
    )
    assert result.exit_code == 2 and "--weights-model names the model" in result.stderr


def test_a_legacy_h5_weights_file(tmp_path):
    """keras.applications' published weights are legacy HDF5 weights files: one is written
    here the way Keras 2 wrote them, from a randomly initialised model."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    source = keras.applications.MobileNetV3Small(weights=None)
    _randomise_statistics(source)
    path = tmp_path / "mobilenet_v3_small.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    spec = archspec.load("mobilenet_v3_small", classes=5)
    model = spec.build(weights=str(path), weights_model="keras.applications.MobileNetV3Small")
    report = spec.transfer_report
    # MobileNetV3's classifier is a 1x1 convolution named `logits`
    assert [(i.layer, i.status) for i in report.layers if i.status != "transferred"] == [
        ("logits", "shape changed")
    ]
    x = np.random.default_rng(3).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    np.testing.assert_array_equal(
        _prefix_output(model, "conv_1_bn", x), _prefix_output(source, "conv_1_bn", x)
    )
    # a file that is not HDF5 at all is one line; weights of another model name the
    # model they were meant for
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(SpecError, match="bad.h5: not an HDF5 file"):
        spec.build(weights=str(bad), weights_model="keras.applications.MobileNetV3Small")
    with pytest.raises(SpecError, match="the weights do not load into MobileNetV3Large"):
        spec.build(weights=str(path), weights_model="keras.applications.MobileNetV3Large")


def _readme_recipe() -> str:
    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text()
    start = text.index("```yaml\n# pets.yaml\n") + len("```yaml\n")
    return text[start : text.index("```", start)]


def test_the_readme_fine_tuning_recipe(resnet50_source, tmp_path):
    """The README's variant, as printed there: bundled ResNet-50 by name, 10 classes, the
    backbone frozen; the weights fill all but the classifier, and training moves only it."""
    source, path = resnet50_source
    spec_path = tmp_path / "pets.yaml"
    spec_path.write_text(_readme_recipe())
    spec = archspec.load(spec_path)
    model = spec.build(weights=str(path), weights_model="keras.applications.ResNet50")
    report = spec.transfer_report
    assert report.counts() == {"transferred": 106, "shape changed": 1, "new": 0}
    assert [layer.name for layer in model.layers if layer.trainable and layer.weights] == [
        "predictions"
    ]
    before = {layer.name: layer.get_weights() for layer in model.layers if layer.weights}
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 255, (4, 224, 224, 3)).astype("float32")
    model.fit(x, rng.integers(0, 10, 4), epochs=1, verbose=0)
    moved = [
        name
        for name, weights in before.items()
        if not all(
            np.array_equal(a, b)
            for a, b in zip(weights, model.get_layer(name).get_weights(), strict=True)
        )
    ]
    assert moved == ["predictions"]
    np.testing.assert_array_equal(
        _prefix_output(model, "avg_pool", x[:1]), _prefix_output(source, "avg_pool", x[:1])
    )
