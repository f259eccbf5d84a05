"""The command line: exit codes, one-line errors, atomic output, no TensorFlow where promised."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archspec.cli import main
from tests.conftest import ROOT, SPECS
from tests.helpers import write

BLOCK_FRAMEWORKS = (
    "import sys\n"
    "for name in ('tensorflow', 'keras'):\n"
    "    sys.modules[name] = None  # any import of them now fails\n"
    "from archspec.cli import main\n"
    "main(sys.argv[1:])\n"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_FRAMEWORKS, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_validate_all_bundled_specs_without_tensorflow():
    specs = sorted(str(p.relative_to(ROOT)) for p in SPECS.glob("*.yaml"))
    result = run("validate", *specs)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(specs)
    assert "specs/resnet50.yaml: ok (resnet50, 177 layers)" in result.stdout


def test_schema_without_tensorflow():
    result = run("schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schemas" / "archspec.schema.json").read_text()


def test_importing_archspec_does_not_import_keras():
    code = (
        "import sys, archspec; archspec.load('specs/resnet152.yaml'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


def test_invalid_spec_one_line_exit_2_no_traceback(tmp_path):
    bad = write(
        tmp_path,
        "bad.yaml",
        "archspec: 1\nname: b\ninput: [8, 8, 3]\nlayers: [{conv2: {filters: 1}}]\n",
    )
    result = run("validate", str(bad), "specs/lenet5.yaml")
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {bad}:4:10: layers[0]: unknown op or block `conv2` (did you mean `conv2d`?)\n"
    )
    assert "specs/lenet5.yaml: ok" in result.stdout  # the other spec is still checked


def test_debug_shows_a_traceback(tmp_path):
    bad = write(
        tmp_path, "bad.yaml", "archspec: 1\nname: b\ninput: [8, 8, 3]\nlayers: [{conv2: {}}]\n"
    )
    result = run("validate", "--debug", str(bad))
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "SpecError" in result.stderr


def test_unknown_set_parameter(tmp_path):
    result = CliRunner().invoke(main, ["validate", "specs/lenet5.yaml", "--set", "clases=3"])
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "--set clases: `lenet5` has no parameter `clases` (did you mean `classes`?)"
    )
    result = CliRunner().invoke(main, ["validate", "specs/lenet5.yaml", "--set", "classes"])
    assert result.exit_code == 2 and "needs the form NAME=VALUE" in result.output
    # a name computed from the parameters is not quoted unevaluated
    result = CliRunner().invoke(main, ["validate", "mobilenet_v2", "--set", "input_size=96"])
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "--set input_size: the spec has no parameter `input_size` (did you mean `input_shape`?)"
    )


def test_build_writes_the_model_and_honours_set(tmp_path):
    import keras

    out = tmp_path / "lenet.keras"
    result = CliRunner().invoke(
        main, ["build", "specs/lenet5.yaml", "--set", "classes=7", "-o", str(out), "--summary"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "lenet5: 9 layers, 61,751 parameters (61,751 trainable, 0 non-trainable)" in result.output
    )
    assert f"saved {out}" in result.output
    model = keras.saving.load_model(out)
    assert model.output_shape == (None, 7)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    assert oct(out.stat().st_mode & 0o777) != "0o600"


def test_build_failure_leaves_no_file(tmp_path):
    spec = write(
        tmp_path,
        "mismatch.yaml",
        """
        archspec: 1
        name: mismatch
        input: [8, 8, 3]
        graph:
          a: [{conv2d: {filters: 4, kernel_size: 1}}]
          b: [{conv2d: {filters: 5, kernel_size: 1}}]
          out: [{add: [a, b]}]
    """,
    )
    out = tmp_path / "mismatch.keras"
    result = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: {spec}:7:9: graph.out[0]: `add`: inputs have different shapes: "
        "(8, 8, 4), (8, 8, 5) [`conv2d` (8, 8, 4) from"
    )
    assert list(tmp_path.iterdir()) == [spec]


def test_keras_build_errors_are_reported_at_the_node(tmp_path, monkeypatch):
    """Should Keras refuse a layer the static rules accept, the error still names the node."""
    import dataclasses

    from archspec.ops import REGISTRY

    conv = REGISTRY.get("conv2d")
    lenient = dataclasses.replace(conv, output_shape=lambda attrs, inputs: (1, 1, attrs.filters))
    monkeypatch.setitem(REGISTRY._names, "conv2d", lenient)
    spec = write(
        tmp_path,
        "s.yaml",
        "archspec: 1\nname: s\ninput: [3, 3, 3]\n"
        "layers: [{conv2d: {filters: 2, kernel_size: 5}}]\n",
    )
    result = CliRunner().invoke(main, ["build", str(spec), "--no-save"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"error: {spec}:4:10: layers[0]: Keras cannot build `conv2d` (Conv2D): Computed output"
    )


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("missing_dir/m.keras", "folder `{tmp}/missing_dir` does not exist"),
        ("m.h5", "the output file must end in `.keras`"),
    ],
)
def test_unwritable_output_is_reported_before_building(tmp_path, output, message):
    result = CliRunner().invoke(main, ["build", "specs/lenet5.yaml", "-o", str(tmp_path / output)])
    assert result.exit_code == 2
    assert message.format(tmp=tmp_path) in result.output
    assert list(tmp_path.iterdir()) == []


def test_python_dash_m_and_missing_file():
    result = subprocess.run(
        [sys.executable, "-m", "archspec", "validate", "specs/nope.yaml"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == "error: specs/nope.yaml: no such file\n"


def test_build_in_a_fresh_process_prints_only_its_own_output(tmp_path):
    out = tmp_path / "lenet.keras"
    result = subprocess.run(
        ["archspec", "build", "specs/lenet5.yaml", "-o", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("TF_")},  # a user's shell
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # TensorFlow's native start-up lines are held back
    assert result.stdout.splitlines() == [
        "lenet5: 9 layers, 62,006 parameters (62,006 trainable, 0 non-trainable)",
        f"saved {out}",
    ]


def test_version_names_this_project():
    """Another `archspec` package (Spack's CPU-architecture library) installs the same
    command; `--version` says which one is installed."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "compiler of YAML neural-network architecture specs into Keras 3 models" in result.output
    assert "not Spack's CPU-architecture library" in result.output
