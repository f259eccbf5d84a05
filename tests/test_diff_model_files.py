"""A `.keras` file is data: whatever it holds, diff reads a model or says why in one line."""

from __future__ import annotations

import copy
import json
import os
import random
import zipfile

import keras
import pytest
from click.testing import CliRunner
from keras import layers

from archspec.cli import main
from archspec.compare import model_file
from archspec.compare.sources import load_graph
from archspec.errors import SpecError


def small_model(units: int = 3) -> keras.Model:
    inputs = keras.Input((8,), name="x")
    hidden = layers.Dense(units, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, layers.Dense(2, name="out")(hidden), name="small")


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> bytes:
    """The bytes of a small saved model."""
    path = tmp_path_factory.mktemp("saved") / "small.keras"
    small_model().save(path)
    return path.read_bytes()


def error_line(path) -> str:
    with pytest.raises(SpecError) as info:
        load_graph(str(path))
    line = info.value.format()
    assert "\n" not in line and line.startswith(str(path))
    return line


def test_files_that_are_not_models(tmp_path):
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    text = tmp_path / "text.keras"
    text.write_text("not a zip")
    no_model = tmp_path / "no_model.keras"
    with zipfile.ZipFile(no_model, "w") as archive:
        archive.writestr("weights.txt", "x")
    bad_json = tmp_path / "bad_json.keras"
    with zipfile.ZipFile(bad_json, "w") as archive:
        archive.writestr("config.json", "[" * 100_000)  # nested past the recursion limit
    not_a_model = tmp_path / "list.keras"
    with zipfile.ZipFile(not_a_model, "w") as archive:
        archive.writestr("config.json", "[1, 2]")
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    for path, message in [
        (empty, "an empty file"),
        (text, "not a Keras model file (a `.keras` file is a zip archive)"),
        (no_model, "a zip archive without `config.json`"),
        (bad_json, "`config.json` is not valid JSON"),
        (not_a_model, "`config.json` holds no model"),
        (folder, "a directory, not a Keras model file"),
        (tmp_path / "missing.keras", "no such file"),
    ]:
        assert message in error_line(path), path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.keras"
    os.mkfifo(fifo)
    assert "not a regular file" in error_line(fifo)


def test_config_size_is_bounded_before_reading(tmp_path, saved, monkeypatch):
    path = tmp_path / "small.keras"
    path.write_bytes(saved)
    monkeypatch.setattr(model_file, "MAX_CONFIG_BYTES", 1000)
    assert "`config.json` is larger than archspec reads" in error_line(path)


def test_damaged_files_give_one_line(tmp_path, saved):
    """Truncated and bit-flipped copies of a saved model: a model or one error line."""
    rng = random.Random(0)
    variants = [saved[:cut] for cut in sorted(rng.sample(range(1, len(saved)), 12))]
    for _ in range(12):
        data = bytearray(saved)
        for position in rng.sample(range(len(data)), 8):
            data[position] ^= 1 << rng.randrange(8)
        variants.append(bytes(data))
    for k, data in enumerate(variants):
        path = tmp_path / f"damaged{k}.keras"
        path.write_bytes(data)
        try:
            graph, _ = load_graph(str(path))
        except SpecError as exc:
            assert "\n" not in exc.format()
        else:
            assert graph.outputs  # a flip in the weights leaves the architecture readable


def write_config(path, config) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))


def class_objects(config):
    """Paths (lists of keys) to every mapping in the config that names a class."""
    found, stack = [], [((), config)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            if "class_name" in item:
                found.append(where)
            stack.extend(((*where, k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in enumerate(item))
    return found


def at(config, where):
    for key in where:
        config = config[key]
    return config


@pytest.mark.parametrize(
    "replacement",
    [
        {"class_name": "function", "module": "builtins", "config": "print"},
        {"class_name": "__lambda__", "config": {"value": "abc"}},
        {"class_name": "system", "module": "os", "config": {}},
        {"class_name": "get_file", "module": "keras.utils", "config": {}},
        {"class_name": "Dense", "module": "keras.layers", "registered_name": "evil>Dense"},
        {"class_name": "Zeros", "module": "__main__", "config": {}},
    ],
    ids=["function", "lambda", "os", "keras-utils", "registered", "main"],
)
def test_code_anywhere_in_the_config_is_refused_before_keras_sees_it(
    tmp_path, saved, monkeypatch, replacement
):
    """Every object the config names, replaced by one that stands for code, is refused."""
    config = json.loads(zipfile.ZipFile(_file(tmp_path, saved)).read("config.json"))
    built = []
    from keras.src.saving import saving_lib, serialization_lib

    for module in (keras.saving, saving_lib, serialization_lib):  # every way Keras builds one
        monkeypatch.setattr(module, "deserialize_keras_object", lambda *a, **k: built.append(a))
    places = class_objects(config)
    assert len(places) > 10
    for k, where in enumerate(places):
        changed = copy.deepcopy(config)
        at(changed, where).update(replacement)
        path = tmp_path / f"code{k}.keras"
        write_config(path, changed)
        error_line(path)
    assert built == []


def _file(tmp_path, data):
    path = tmp_path / "source.keras"
    path.write_bytes(data)
    return path


def test_layers_archspec_cannot_read(tmp_path):
    inputs = keras.Input((4, 4, 3))
    flip = keras.Model(inputs, layers.RandomFlip(name="flip")(inputs))
    flat = keras.Input((4,))
    lam = keras.Model(flat, layers.Lambda(lambda t: t * 2, name="double")(flat))
    ops = keras.Model(flat, keras.ops.sin(layers.Dense(2, name="d")(flat)))
    for model, message in [
        (flip, "layer `flip` is a RandomFlip, which archspec has no op for"),
        (lam, "layer `double` is a Lambda, which archspec has no op for"),
        (ops, "is a keras.src.ops.numpy.Sin, which archspec has no op for"),
    ]:
        path = tmp_path / f"{model.layers[-1].name}.keras"
        model.save(path)
        assert message in error_line(path)


def test_custom_layers_and_subclassed_models(tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Twice(layers.Layer):
        def call(self, x):
            return x * 2

    @keras.saving.register_keras_serializable(package="tests")
    class Subclassed(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    inputs = keras.Input((4,))
    custom = keras.Model(inputs, Twice(name="twice")(inputs))
    custom.save(tmp_path / "custom.keras")
    assert "layer `twice` is a test_diff_model_files.Twice" in error_line(tmp_path / "custom.keras")
    subclassed = Subclassed()
    subclassed(keras.ops.ones((1, 4)))
    subclassed.save(tmp_path / "subclassed.keras")
    assert "not a functional or Sequential model" in error_line(tmp_path / "subclassed.keras")


def test_sequential_models_are_imported(tmp_path):
    sequential = keras.Sequential(
        [
            keras.Input((8,)),
            layers.Dense(3, activation="relu", name="hidden"),
            layers.Dense(2, name="out"),
        ],
        name="small",
    )
    sequential.save(tmp_path / "sequential.keras")
    graph, label = load_graph(str(tmp_path / "sequential.keras"))
    assert label.startswith("small (")
    assert [n.op for n in graph.nodes.values()] == ["input", "dense", "dense"]
    assert graph.nodes["out"].inputs == ["hidden"] and graph.outputs == ["out"]
    small_model().save(tmp_path / "functional.keras")
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "sequential.keras"), str(tmp_path / "functional.keras")]
    )
    assert result.exit_code == 0, result.output
    unbuilt = keras.Sequential([layers.Dense(2)])
    from archspec.compare.keras_import import to_ir

    with pytest.raises(SpecError, match="has no input shape yet"):
        to_ir(unbuilt)


def test_layer_limit_applies_to_model_files(tmp_path):
    small_model().save(tmp_path / "small.keras")
    with pytest.raises(SpecError, match="more than the limit of 2"):
        load_graph(str(tmp_path / "small.keras"), node_limit=2)


def test_command_line_errors_are_one_line(tmp_path):
    (tmp_path / "text.keras").write_text("x")
    result = CliRunner().invoke(main, ["diff", "specs/lenet5.yaml", str(tmp_path / "text.keras")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "internal error" not in result.output
