"""`archspec diff`: specs, .keras files and import paths; exit codes as diff(1)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from archspec.cli import main
from tests.test_cli import run


def test_specs_are_diffed_without_tensorflow():
    result = run("diff", "specs/resnet50.yaml", "specs/resnet101.yaml")
    assert result.returncode == 1, result.stderr
    assert "# conv4: block: 6 -> 23 (+17: block7 ... block23)" in result.stdout
    assert "+19,070,464" in result.stdout  # conv4's and the model's parameter delta
    same = run("diff", "specs/resnet50.yaml", "specs/resnet50.yaml")
    assert same.returncode == 0, same.stderr
    assert "identical" in same.stdout


def test_json_output():
    result = run("diff", "specs/resnet50.yaml", "specs/resnet152.yaml", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) >= {"identical", "totals", "changes"}
    assert data["identical"] is False
    assert data["totals"]["a"]["params"] == 25_636_712
    assert data["totals"]["b"]["params"] == 60_419_944
    assert sorted((c["where"], c["a"], c["b"]) for c in data["changes"]) == [
        ("conv3: block", 4, 8),
        ("conv4: block", 6, 36),
    ]


def test_overrides_per_side():
    result = CliRunner().invoke(
        main, ["diff", "specs/lenet5.yaml", "specs/lenet5.yaml", "--set-b", "classes=7", "--json"]
    )
    assert result.exit_code == 1
    change = json.loads(result.output)["changes"][0]
    assert (change["kind"], change["attribute"], change["a"], change["b"]) == (
        "attribute", "units", 10, 7,
    )  # fmt: skip
    both = CliRunner().invoke(
        main, ["diff", "specs/lenet5.yaml", "specs/lenet5.yaml", "--set", "classes=7"]
    )
    assert both.exit_code == 0


def test_against_keras_models(tmp_path):
    result = CliRunner().invoke(main, ["diff", "specs/vgg16.yaml", "keras.applications.VGG16"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "lenet.keras"
    assert CliRunner().invoke(main, ["build", "specs/lenet5.yaml", "-o", str(out)]).exit_code == 0
    assert CliRunner().invoke(main, ["diff", "specs/lenet5.yaml", str(out)]).exit_code == 0
    changed = CliRunner().invoke(
        main, ["diff", str(out), "specs/lenet5.yaml", "--set-b", "classes=3"]
    )
    assert changed.exit_code == 1
    assert "dense_2: units: 10 -> 3" in changed.output


def test_errors_exit_2(tmp_path):
    for args, message in [
        (["specs/lenet5.yaml", "nope.yaml"], "nope.yaml: no such file"),
        (["specs/lenet5.yaml", "model.onnx"], "not a spec (.yaml, or a bundled spec's name"),
        (
            ["specs/lenet5.yaml", "keras.applications.NoSuchNet"],
            "is not one of keras.applications' model functions",
        ),
        (["specs/lenet5.yaml", "os.system"], "refused to import `os.system`"),
        (
            ["specs/lenet5.yaml", "keras.applications.VGG16", "--set-b", "x=1"],
            "applies to specs only",
        ),
    ]:
        result = CliRunner().invoke(main, ["diff", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
