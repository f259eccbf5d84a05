"""Legacy HDF5 model files as a weights source, and diff's input: read as data first.

``references/keras2/small_cnn.h5`` was saved whole by Keras 2 (see the script beside
it); its outputs for a fixed input are kept with it, so the weights that moved are
checked against what Keras 2 computed. Keras 2 before 2.13 wrote its configs without
``module`` keys; those files are rendered here from the Keras 2 one.
"""

from __future__ import annotations

import copy
import json
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import archspec
from archspec.cli import main
from archspec.compare import legacy_h5
from archspec.compare.sources import load_graph
from archspec.errors import SpecError
from tests.conftest import ROOT
from tests.test_diff_model_files import at, class_objects

KERAS2 = ROOT / "tests" / "references" / "keras2"
SPEC = KERAS2 / "small_cnn.yaml"


def _config(path) -> dict:
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["model_config"])


def _with_config(tmp_path, config, name="edited.h5"):
    """The Keras 2 file with its model config replaced."""
    path = tmp_path / name
    shutil.copyfile(KERAS2 / "small_cnn.h5", path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = json.dumps(config)
    return path


def _without_modules(config):
    """``config`` as Keras 2 before 2.13 wrote it: no ``module`` or ``registered_name``."""
    config = copy.deepcopy(config)
    for where in class_objects(config):
        obj = at(config, where)
        obj.pop("module", None)
        obj.pop("registered_name", None)
    return config


def _output(model, x):
    return np.asarray(model(x, training=False))


def test_a_keras2_model_file_fills_a_spec_paired_by_structure():
    """Keras 2's names are not the spec's: every layer pairs by structure and the spec
    computes what Keras 2 computed."""
    expected = np.load(KERAS2 / "small_cnn.npz")
    spec = archspec.load(str(SPEC))
    model = spec.build(weights=str(KERAS2 / "small_cnn.h5"), strict=True)
    report = spec.transfer_report
    assert report.alignment != "names"
    assert report.counts() == {"transferred": 8, "shape changed": 0, "new": 0}
    assert report.unused == []
    np.testing.assert_allclose(_output(model, expected["x"]), expected["y"], rtol=1e-5, atol=1e-6)

    wider = archspec.load(str(SPEC), classes=10)
    wider.build(weights=str(KERAS2 / "small_cnn.h5"))
    layers = wider.transfer_report.layers
    changed = [(i.status, i.source) for i in layers if i.status != "transferred"]
    assert changed == [("shape changed", "predictions")]


def test_keras2_configs_without_modules_load(tmp_path):
    path = _with_config(tmp_path, _without_modules(_config(KERAS2 / "small_cnn.h5")))
    assert "module" not in json.dumps(_config(path))
    expected = np.load(KERAS2 / "small_cnn.npz")
    spec = archspec.load(str(SPEC))
    model = spec.build(weights=str(path), strict=True)
    np.testing.assert_allclose(_output(model, expected["x"]), expected["y"], rtol=1e-5, atol=1e-6)
    graph, label = load_graph(str(path))
    assert label.startswith("small_cnn") and len(graph.nodes) == len(spec.graph().nodes)


def test_a_keras3_h5_model_file(tmp_path):
    """``model.save("x.h5")`` in Keras 3: the spec's own model, saved whole, then moved
    into the same spec with more classes."""
    from tests.conftest import _randomise_statistics

    source = archspec.load(str(SPEC)).build()
    _randomise_statistics(source)
    path = tmp_path / "small_cnn_keras3.h5"
    source.save(path)
    spec = archspec.load(str(SPEC), classes=7)
    model = spec.build(weights=str(path))
    report = spec.transfer_report
    assert report.alignment == "names"
    assert [(i.layer, i.status) for i in report.layers if i.status != "transferred"] == [
        (source.layers[-1].name, "shape changed")
    ]
    x = np.random.default_rng(5).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    gap = [layer.name for layer in source.layers if "pooling" in type(layer).__name__.lower()]
    import keras

    def features(m):
        return np.asarray(keras.Model(m.inputs[0], m.get_layer(gap[-1]).output)(x))

    np.testing.assert_array_equal(features(model), features(source))


REPLACEMENTS = [
    {"class_name": "function", "config": "print"},
    {"class_name": "__lambda__", "config": {"code": "abc"}},
    {"class_name": "Lambda", "config": {"function": ["4wEAAAAAAAA=", None, None]}},
    {"class_name": "tests>Evil", "config": {}},
    {"class_name": "system", "module": "os", "config": {}},
    {"class_name": "get_file", "config": {}},
    {"class_name": "Zeros", "module": "__main__", "config": {}},
]


@pytest.mark.parametrize(
    "replacement",
    REPLACEMENTS,
    ids=["function", "lambda-code", "lambda-layer", "registered", "os", "keras-utils", "main"],
)
def test_code_in_a_legacy_config_is_refused_before_keras_sees_it(
    tmp_path, monkeypatch, replacement
):
    """Every object a module-less config names, replaced by one that stands for code or
    for something that is not Keras's own, is refused before Keras builds anything."""
    from keras.src.legacy.saving import legacy_h5_format

    built = []
    monkeypatch.setattr(legacy_h5_format, "load_model_from_hdf5", lambda *a, **k: built.append(a))
    config = _without_modules(_config(KERAS2 / "small_cnn.h5"))
    places = class_objects(config)
    assert len(places) > 20
    for k, where in enumerate(places):
        changed = copy.deepcopy(config)
        target = at(changed, where)
        target.clear()
        target.update(replacement)
        path = _with_config(tmp_path, changed, f"code{k}.h5")
        with pytest.raises(SpecError) as info:
            legacy_h5.load_model(str(path), 10_000)
        assert "\n" not in info.value.format()
    assert built == []


def test_files_that_are_not_legacy_models(tmp_path):
    not_hdf5 = tmp_path / "text.h5"
    not_hdf5.write_text("not hdf5")
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    weights_only = tmp_path / "weights_only.h5"
    with h5py.File(weights_only, "w") as f:
        f.attrs["layer_names"] = []
    no_json = _with_config(tmp_path, {}, "x.h5")
    with h5py.File(no_json, "r+") as f:
        f.attrs["model_config"] = "{" * 10
    spec = archspec.load(str(SPEC))
    for path, message in [
        (not_hdf5, "not an HDF5 file"),
        (empty, "an empty file"),
        (tmp_path / "missing.h5", "no such file"),
        (weights_only, "a file of weights only, with no model config; name the model it"),
        (no_json, "`model_config` is not valid JSON"),
    ]:
        with pytest.raises(SpecError, match=message):
            spec.build(weights=str(path))


def test_links_into_other_files_are_refused(tmp_path):
    """An HDF5 file that reads another file (an external link, a dataset stored outside,
    a virtual dataset) is refused before Keras opens it."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(16, dtype="float32").tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.zeros(4)
    linked = _with_config(tmp_path, _config(KERAS2 / "small_cnn.h5"), "linked.h5")
    with h5py.File(linked, "r+") as f:
        f["model_weights/elsewhere"] = h5py.ExternalLink(str(other), "/data")
    external = _with_config(tmp_path, _config(KERAS2 / "small_cnn.h5"), "external.h5")
    with h5py.File(external, "r+") as f:
        f.create_dataset("stolen", shape=(16,), dtype="float32", external=[(str(secret), 0, 64)])
    virtual = _with_config(tmp_path, _config(KERAS2 / "small_cnn.h5"), "virtual.h5")
    with h5py.File(virtual, "r+") as f:
        layout = h5py.VirtualLayout(shape=(4,), dtype="float64")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(4,))
        f.create_virtual_dataset("model_weights/virtual", layout)
    spec = archspec.load(str(SPEC))
    for path, message in [
        (linked, "`model_weights/elsewhere` links into another file"),
        (external, "dataset `stolen` keeps its data in another file"),
        (virtual, "dataset `model_weights/virtual` keeps its data in another file"),
    ]:
        with pytest.raises(SpecError, match=message):
            spec.build(weights=str(path))
        # so is a weights file read into a named model
        with pytest.raises(SpecError, match=message):
            spec.build(weights=str(path), weights_model=str(SPEC))


def test_the_command_line(tmp_path):
    runner = CliRunner()
    h5 = str(KERAS2 / "small_cnn.h5")
    args = ["build", str(SPEC), "--weights", h5, "--strict", "--no-save", "--json"]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    document = json.loads(ok.output)
    assert document["weights"]["totals"]["transferred"] == 8

    # a weights file read into a model named by an import path of one's own
    weights = tmp_path / "small.weights.h5"
    from tests.references.small_cnn import small_cnn

    small_cnn().save_weights(weights)
    args = ["build", str(SPEC), "--no-save", "--weights", str(weights)]
    args += ["--weights-model", "tests.references.small_cnn:small_cnn"]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 2
    assert "refused to import `tests.references.small_cnn:small_cnn`" in refused.output
    allowed = runner.invoke(main, [*args, "--allow-import", "--strict"])
    assert allowed.exit_code == 0, allowed.output
    alone = runner.invoke(main, ["build", str(SPEC), "--no-save", "--allow-import"])
    assert alone.exit_code == 2
    assert "--allow-import lets --weights-model name an import path" in alone.output

    diff = runner.invoke(main, ["diff", h5, str(SPEC)])
    assert diff.exit_code == 0, diff.output
    assert "identical" in diff.output


def test_a_config_keras3_cannot_rebuild_names_the_way_round(tmp_path):
    """A Keras 2 MobileNet's DepthwiseConv2D carries `groups`, which Keras 3 refuses: the
    error says to name the architecture, and the weights are then read alone."""
    config = _config(KERAS2 / "small_cnn.h5")
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Conv2D":
            layer["config"]["depth_multiplier"] = 1  # an argument Conv2D does not take
    path = _with_config(tmp_path, config, "keras2_only.h5")
    spec = archspec.load(str(SPEC))
    with pytest.raises(SpecError) as info:
        spec.build(weights=str(path))
    line = info.value.format()
    assert "Keras cannot rebuild this model:" in line and "depth_multiplier" in line
    assert line.endswith(
        "name the model it belongs to with --weights-model (a spec, a .keras "
        "file or an import path such as keras.applications.ResNet50)"
    )
    model = spec.build(weights=str(path), weights_model=str(SPEC), strict=True)
    expected = np.load(KERAS2 / "small_cnn.npz")
    np.testing.assert_allclose(_output(model, expected["x"]), expected["y"], rtol=1e-5, atol=1e-6)
