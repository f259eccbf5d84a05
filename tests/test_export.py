"""`archspec export`: each format, read back by its own runtime, gives the Keras model's
outputs in the Keras model's order; every failure is one line and leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from archspec.cli import Terminated, main
from tests.conftest import ROOT
from tests.helpers import run_on_a_terminal, write

SEED = 1234
ATOL = 1e-4
FORMATS = ("savedmodel", "tflite", "onnx")
SUFFIX = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}


def needs(fmt: str) -> None:
    """ONNX export and its runtime come with the `export` extra; skip without them."""
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")


def export(*args: str):
    return CliRunner().invoke(main, ["export", *args])


def seeded_export(*args: str):
    """The command with the same initial weights a seeded ``build()`` in the test gets."""
    keras.utils.set_random_seed(SEED)
    return export(*args)


def seeded_build(spec: str | Path, **overrides):
    import archspec

    keras.utils.set_random_seed(SEED)
    return archspec.load(spec, **overrides).build()


def batch(model, size: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """A random batch for every input of ``model``, keyed by input name."""
    rng = np.random.default_rng(seed)
    return {
        t.name: (
            rng.integers(0, 50, (size, *t.shape[1:]), dtype=np.int32)  # token ids
            if "int" in str(t.dtype)
            else rng.standard_normal((size, *t.shape[1:])).astype(np.float32)
        )
        for t in model.inputs
    }


def keras_outputs(model, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    args = [inputs[t.name] for t in model.inputs]
    result = model(args[0] if len(args) == 1 else args, training=False)
    return [np.asarray(r) for r in (result if isinstance(result, list | tuple) else [result])]


# --------------------------------------------------------------------------- runtimes


def run_savedmodel(path: Path, inputs: dict[str, np.ndarray], count: int) -> list[np.ndarray]:
    """Outputs of the serving signature, mapped by name: ``output_i`` is Keras output i."""
    loaded = tf.saved_model.load(str(path))
    result = loaded.signatures["serving_default"](
        **{name: tf.constant(value) for name, value in inputs.items()}
    )
    assert sorted(result) == sorted(f"output_{i}" for i in range(count))
    return [result[f"output_{i}"].numpy() for i in range(count)]


def tflite_interpreter(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's own deprecation notice
        return tf.lite.Interpreter(model_path=str(path))


def run_tflite(path: Path, inputs: dict[str, np.ndarray], count: int) -> list[np.ndarray]:
    """Outputs by the signature's names, checked against the positional outputs: the input
    and output lists must be in the Keras order too, which the converter does not keep."""
    interpreter = tflite_interpreter(path)
    runner = interpreter.get_signature_runner("serving_default")
    by_name = runner(**inputs)
    assert sorted(by_name) == sorted(f"output_{i}" for i in range(count))
    named = [by_name[f"output_{i}"] for i in range(count)]

    interpreter = tflite_interpreter(path)
    details = interpreter.get_input_details()
    assert [d["name"] for d in details] == [f"serving_default_{n}:0" for n in inputs]
    for detail, value in zip(details, inputs.values(), strict=True):
        interpreter.resize_tensor_input(detail["index"], value.shape)
    interpreter.allocate_tensors()
    for detail, value in zip(details, inputs.values(), strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    positional = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    assert len(positional) == count
    for a, b in zip(named, positional, strict=True):
        np.testing.assert_array_equal(a, b)
    return named


def run_onnx(path: Path, inputs: dict[str, np.ndarray], count: int) -> list[np.ndarray]:
    """Outputs of an ONNX Runtime session, inputs fed by name, outputs in its order."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sorted(i.name for i in session.get_inputs()) == sorted(inputs)
    assert len(session.get_outputs()) == count
    return session.run(None, inputs)


RUNTIMES = {"savedmodel": run_savedmodel, "tflite": run_tflite, "onnx": run_onnx}


def assert_same_outputs(fmt: str, out: Path, model, seed: int = 0, size: int = 3) -> None:
    inputs = batch(model, size=size, seed=seed)
    expected = keras_outputs(model, inputs)
    got = RUNTIMES[fmt](out, inputs, len(expected))
    for name, a, b in zip(model.output_names, got, expected, strict=True):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, atol=ATOL, err_msg=f"output {name}")


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def assert_document(result, fmt: str, out: Path, model) -> None:
    """The --json document: its members, the bytes written, the interface in Keras order."""
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sorted(doc) == ["bytes", "format", "inputs", "model", "output", "outputs"]
    assert doc["format"] == fmt and doc["output"] == str(out) and doc["model"] == model.name
    assert doc["bytes"] == tree_size(out) > 0
    assert doc["inputs"] == [
        {"name": t.name, "shape": list(t.shape), "dtype": str(t.dtype)} for t in model.inputs
    ]
    assert doc["outputs"] == [
        {"name": name, "shape": list(t.shape), "dtype": str(t.dtype)}
        for name, t in zip(model.output_names, model.outputs, strict=True)
    ]


# --------------------------------------------------------------------------- single output


@pytest.fixture(scope="module")
def lenet():
    return seeded_build(ROOT / "specs/lenet5.yaml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_spec_exports_to_each_format(tmp_path, lenet, fmt):
    needs(fmt)
    out = tmp_path / f"lenet{SUFFIX[fmt]}"
    result = seeded_export("specs/lenet5.yaml", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} ({fmt}, {tree_size(out):,} bytes)\n"
    assert result.stderr == ""
    assert_same_outputs(fmt, out, lenet)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


# --------------------------------------------------------------------------- many outputs


def heads_spec(folder: Path, seed: int) -> tuple[Path, list[str]]:
    """A two-input model with a dozen heads of different widths and activations, listed
    as outputs in a random order (so neither the graph's order nor the names' sort order
    is the Keras order; twelve of them make `output_10` sort before `output_2`)."""
    rng = np.random.default_rng(seed)
    count = 12
    units = rng.permutation(np.arange(1, count + 1))
    activations = rng.choice(["linear", "softmax", "sigmoid", "tanh"], size=count)
    branches = "".join(
        f"  h{i}:\n    from: trunk\n    layers: [dense: {{units: {units[i]}, "
        f"activation: {activations[i]}, name: head{i}}}]\n"
        for i in range(count)
    )
    order = [f"h{i}" for i in rng.permutation(count)]
    header = (
        "archspec: 1\n"
        "name: heads\n"
        "inputs: {a: [6], b: [4]}\n"
        "graph:\n"
        "  trunk:\n"
        "    - concatenate: [a, b]\n"
        "    - dense: {units: 16, activation: relu}\n"
    )
    path = write(folder, "heads.yaml", header + branches + f"outputs: [{', '.join(order)}]\n")
    return path, order


@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    path, order = heads_spec(tmp_path_factory.mktemp("heads"), seed=7)
    model = seeded_build(path)
    assert model.output_names == [f"head{name[1:]}" for name in order]
    return path, model


@pytest.mark.parametrize("fmt", FORMATS)
def test_many_outputs_keep_the_keras_order(tmp_path, heads, fmt):
    needs(fmt)
    spec, model = heads
    out = tmp_path / f"heads{SUFFIX[fmt]}"
    result = seeded_export(str(spec), "--format", fmt, "-o", str(out), "--json")
    assert_document(result, fmt, out, model)
    assert_same_outputs(fmt, out, model, seed=1)


# --------------------------------------------------------------------------- GoogLeNet


@pytest.fixture(scope="module")
def googlenet(tmp_path_factory):
    """GoogLeNet with its two auxiliary heads (three outputs), built once, and saved."""
    model = seeded_build(ROOT / "specs/googlenet.yaml", aux=True, classes=10)
    path = tmp_path_factory.mktemp("googlenet") / "googlenet.keras"
    model.save(path)
    return path, model


def test_googlenet_from_its_spec_as_a_savedmodel(tmp_path, googlenet):
    _, model = googlenet
    out = tmp_path / "googlenet"
    result = seeded_export(
        "specs/googlenet.yaml", "--set", "aux=true", "--set", "classes=10",
        "--format", "savedmodel", "-o", str(out), "--json",
    )  # fmt: skip
    assert_document(result, "savedmodel", out, model)
    assert [o["name"] for o in json.loads(result.stdout)["outputs"]] == [
        "predictions",
        "aux1_predictions",
        "aux2_predictions",
    ]
    assert_same_outputs("savedmodel", out, model)


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_googlenet_from_a_keras_file(tmp_path, googlenet, fmt):
    needs(fmt)
    path, model = googlenet
    out = tmp_path / f"googlenet{SUFFIX[fmt]}"
    result = export(str(path), "--format", fmt, "-o", str(out), "--json")
    assert_document(result, fmt, out, model)
    assert_same_outputs(fmt, out, model)


# --------------------------------------------------------------------------- recurrent


def test_a_recurrent_model_becomes_a_tflite_model_for_batches_of_one(tmp_path):
    """TFLite's built-in ops take an LSTM's loop only at a fixed batch size; the export
    says so, and the file runs on the plain TFLite runtime (no TensorFlow "select" ops)."""
    sets = {"vocabulary": 50, "steps": 8, "width": 4, "units": 3}
    args = [arg for name, value in sets.items() for arg in ("--set", f"{name}={value}")]
    model = seeded_build(ROOT / "specs/examples/bilstm_classifier.yaml", **sets)
    out = tmp_path / "bilstm.tflite"
    result = seeded_export(
        "examples/bilstm_classifier", *args, "-f", "tflite", "-o", str(out), "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["inputs"] == [{"name": "input_layer", "shape": [1, 8], "dtype": "int32"}]
    assert doc["outputs"] == [{"name": "predictions", "shape": [1, 1], "dtype": "float32"}]
    assert result.stderr.startswith("warning: the TFLite model takes batches of one")
    assert_same_outputs("tflite", out, model, size=1)


# --------------------------------------------------------------------------- output


def test_quiet_prints_nothing(tmp_path):
    out = tmp_path / "lenet.tflite"
    result = export("specs/lenet5.yaml", "--format", "tflite", "-o", str(out), "-q")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "")
    assert out.stat().st_size > 0


def test_the_converters_chatter_is_held_back(tmp_path):
    """TensorFlow, Keras and tf2onnx write to the process's descriptors and warn through
    Python; a person sees the result line only (unless --debug)."""
    needs("onnx")
    out = tmp_path / "lenet.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "archspec", "export", "lenet5", "-f", "onnx", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out} (onnx, {out.stat().st_size:,} bytes)\n"
    assert result.stderr == ""


def test_progress_shows_on_a_terminal_and_the_chatter_does_not(tmp_path):
    """With stderr on a terminal, the spinner keeps its way there while what TensorFlow
    prints meanwhile is held back."""

    out = tmp_path / "lenet.tflite"
    code, stdout, terminal = run_on_a_terminal(
        ["export", "lenet5", "-f", "tflite", "-o", str(out)], cwd=ROOT, env=ENV, timeout=240
    )
    assert code == 0, terminal
    assert "building lenet5 with Keras" in terminal and "converting to TFLite" in terminal
    for chatter in ("I0000", "W0000", "WARNING", "oneDNN", "Warning"):
        assert chatter not in terminal
    assert stdout == f"wrote {out} (tflite, {out.stat().st_size:,} bytes)\n"


def test_the_python_api(tmp_path, lenet):
    from archspec.export import export as export_api

    out = tmp_path / "sm"
    keras.utils.set_random_seed(SEED)
    exported = export_api(str(ROOT / "specs/lenet5.yaml"), out, "savedmodel")
    assert exported.to_json()["bytes"] == tree_size(out)
    assert [t.name for t in exported.outputs] == lenet.output_names
    assert_same_outputs("savedmodel", out, lenet)


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_the_python_api_takes_a_sequential_model(tmp_path, fmt):
    """A Sequential model never called (Keras's ONNX export refuses those), whose outputs
    have no ``output_names``."""
    from archspec.export import export_model

    needs(fmt)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(3, name="scores")]
    )
    out = tmp_path / f"seq{SUFFIX[fmt]}"
    exported = export_model(model, out, fmt)
    assert [t.to_json() for t in exported.outputs] == [
        {"name": "scores", "shape": [None, 3], "dtype": "float32"}
    ]
    inputs = batch(model)
    got = RUNTIMES[fmt](out, inputs, 1)
    np.testing.assert_allclose(got[0], np.asarray(model(inputs[model.inputs[0].name])), atol=ATOL)


# --------------------------------------------------------------------------- errors


def one_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def nothing_built(monkeypatch):
    """Fails the test if a model is built or a model file loaded: errors come before that."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built before the arguments were checked")

    monkeypatch.setattr("archspec.api.ArchSpec.build", refuse)
    monkeypatch.setattr("archspec.export._load_model_file", refuse)


def test_an_unknown_format(tmp_path, nothing_built):
    line = one_error(export("specs/lenet5.yaml", "--format", "pb", "-o", str(tmp_path / "x")))
    assert "'pb' is not one of" in line and "'onnx'" in line


@pytest.mark.parametrize(
    ("fmt", "name", "expected"),
    [
        ("tflite", "lenet.onnx", "must end in `.tflite`"),
        ("onnx", "lenet.tflite", "must end in `.onnx`"),
        ("onnx", "lenet", "must end in `.onnx`"),
        ("savedmodel", "lenet.tflite", "a SavedModel is a directory"),
        ("tflite", "missing/lenet.tflite", "folder"),
        ("savedmodel", "missing/lenet", "folder"),
    ],
)
def test_a_wrong_destination_is_refused_first(tmp_path, nothing_built, fmt, name, expected):
    out = tmp_path / name
    line = one_error(export("specs/lenet5.yaml", "-f", fmt, "-o", str(out)))
    assert expected in line and str(out) in line
    assert list(tmp_path.iterdir()) == []


BLOCK_FRAMEWORKS = (
    "import sys\n"
    "for name in ('tensorflow', 'keras', 'tf2onnx', 'onnx'):\n"
    "    sys.modules[name] = None  # any import of them now fails\n"
    "from archspec.cli import main\n"
    "main(sys.argv[1:])\n"
)


def test_arguments_are_checked_before_tensorflow_is_imported(tmp_path):
    out = tmp_path / "lenet.onnx"
    args = ["export", "lenet5", "-f", "tflite", "-o", str(out)]
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_FRAMEWORKS, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    expected = f"error: {out}: the output file must end in `.tflite`, got `lenet.onnx`\n"
    assert result.stderr == expected


@pytest.mark.parametrize(
    ("fmt", "make", "expected"),
    [
        ("savedmodel", lambda p: p.write_text("a file"), "is a file"),
        ("savedmodel", lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")), "something"),
        ("tflite", lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_an_occupied_destination_is_left_alone(tmp_path, nothing_built, fmt, make, expected):
    out = tmp_path / f"taken{SUFFIX[fmt]}"
    make(out)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    line = one_error(export("specs/lenet5.yaml", "-f", fmt, "-o", str(out)))
    assert expected in line
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unwritable_folder(tmp_path, nothing_built, fmt):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        line = one_error(
            export("specs/lenet5.yaml", "-f", fmt, "-o", str(folder / f"m{SUFFIX[fmt]}"))
        )
    finally:
        folder.chmod(0o700)
    assert "permission denied" in line


def test_set_applies_to_specs_only(tmp_path, nothing_built):
    path = tmp_path / "trained.keras"
    path.write_bytes(b"not even read")
    out = tmp_path / "g.onnx"
    line = one_error(export(str(path), "--set", "classes=3", "-f", "onnx", "-o", str(out)))
    assert "`--set` applies to specs only" in line and str(path) in line


def test_neither_a_spec_nor_a_keras_file(tmp_path, nothing_built):
    model = tmp_path / "model.pt"
    model.write_bytes(b"x")
    line = one_error(export(str(model), "-f", "onnx", "-o", str(tmp_path / "m.onnx")))
    assert "not a spec" in line
    broken = tmp_path / "model.h5"
    broken.write_bytes(b"x")
    line = one_error(export(str(broken), "-f", "onnx", "-o", str(tmp_path / "m.onnx")))
    assert "not an HDF5 file" in line


def test_a_legacy_h5_model_file_is_exported_with_its_weights(tmp_path):
    """A model Keras 2 saved whole: the TFLite model computes what Keras 2 computed."""
    keras2 = ROOT / "tests" / "references" / "keras2"
    out = tmp_path / "small_cnn.tflite"
    result = export(str(keras2 / "small_cnn.h5"), "-f", "tflite", "-o", str(out))
    assert result.exit_code == 0, result.output
    expected = np.load(keras2 / "small_cnn.npz")
    (got,) = run_tflite(out, {"image": expected["x"]}, 1)
    np.testing.assert_allclose(got, expected["y"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("missing", ["tf2onnx", "onnx"])
def test_a_missing_converter_names_the_install_command(
    tmp_path, monkeypatch, nothing_built, missing
):
    monkeypatch.setitem(sys.modules, missing, None)  # `import` now fails as if absent
    out = tmp_path / "lenet.onnx"
    line = one_error(export("specs/lenet5.yaml", "-f", "onnx", "-o", str(out)))
    assert missing in line and "pip install 'archspec[export]'" in line
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- atomicity

FAILURES = [
    (RuntimeError("the converter has no rule for op Frobnicate\nmore detail"), 2),
    (KeyboardInterrupt(), 130),
    (Terminated(signal.SIGTERM), 128 + signal.SIGTERM),
]


@pytest.fixture
def broken_export(monkeypatch, tmp_path):
    """Keras's export writes part of its artefact, then fails as ``failure`` says; the
    system's temporary folder is one the test can inspect."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def install(failure: BaseException) -> None:
        def export_model(self, filepath, format="tf_saved_model", **kwargs):
            if format == "onnx":
                Path(filepath).write_bytes(b"half a model")
            else:
                os.makedirs(filepath)
                (Path(filepath) / "saved_model.pb").write_bytes(b"half a model")
            raise failure

        monkeypatch.setattr(keras.Model, "export", export_model)

    return scratch, install


@pytest.mark.parametrize(("failure", "code"), FAILURES, ids=["error", "interrupt", "sigterm"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failed_export_leaves_nothing(tmp_path, broken_export, fmt, failure, code):
    needs(fmt)
    scratch, install = broken_export
    install(failure)
    folder = tmp_path / "out"
    folder.mkdir()
    descriptors = [os.fstat(fd) for fd in (1, 2)]
    result = export("specs/lenet5.yaml", "-f", fmt, "-o", str(folder / f"lenet{SUFFIX[fmt]}"))
    assert result.exit_code == code, result.output
    # the converters' output was held back, and is let through again
    assert [(s.st_dev, s.st_ino) for s in map(os.fstat, (1, 2))] == [
        (s.st_dev, s.st_ino) for s in descriptors
    ]
    if code == 2:
        line = one_error(result)
        assert line.endswith(
            f"cannot convert the model to {fmt}: the converter has no rule for op Frobnicate"
        )
    assert list(folder.iterdir()) == []
    assert list(scratch.iterdir()) == []


def test_an_earlier_savedmodel_is_replaced_whole(tmp_path, broken_export, lenet):
    out = tmp_path / "lenet"
    out.mkdir()
    (out / "saved_model.pb").write_bytes(b"an earlier export")
    (out / "stale.txt").write_text("from the earlier export")
    result = seeded_export("specs/lenet5.yaml", "-f", "savedmodel", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists()
    assert_same_outputs("savedmodel", out, lenet)
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    _, install = broken_export
    install(RuntimeError("no"))
    one_error(export("specs/lenet5.yaml", "-f", "savedmodel", "-o", str(out)))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet", "scratch"]


KILL_DURING_EXPORT = """
import os, signal, sys, time
from pathlib import Path
import keras
def export(self, path, *args, **kwargs):
    os.makedirs(path)
    Path(path, "saved_model.pb").write_bytes(b"half a model")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)  # the handler raises before this returns
keras.Model.export = export
from archspec.cli import main
main(["export", "specs/lenet5.yaml", "-f", "savedmodel", "-o", sys.argv[1]])
"""


def test_sigterm_during_a_savedmodel_export_keeps_the_earlier_one(tmp_path):
    out = tmp_path / "lenet"
    out.mkdir()
    (out / "saved_model.pb").write_bytes(b"an earlier export")
    result = subprocess.run(
        [sys.executable, "-c", KILL_DURING_EXPORT, str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**ENV, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=240,
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert result.stderr.endswith("terminated by SIGTERM\n")
    assert [p.name for p in tmp_path.iterdir()] == ["lenet"]
    assert [p.name for p in out.iterdir()] == ["saved_model.pb"]
    assert (out / "saved_model.pb").read_bytes() == b"an earlier export"


def test_a_converter_message_is_quoted_without_its_graph_location():
    from archspec.export import _detail

    location = 'loc(callsite(fused["TensorListReserve:", "m/lstm/TensorArrayV2@f"] at "g"))'
    message = "'tf.TensorListReserve' op requires element_shape to be static"
    error = RuntimeError(f"<unknown>:0: error: {location}: {message}\n<unknown>:0: note: called")
    assert _detail(error) == message
    assert _detail(RuntimeError("x" * 1000)) == "x" * 297 + "..."
    assert _detail(RuntimeError("first\nsecond")) == "first"
