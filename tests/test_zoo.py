"""The bundled specs by name, `archspec list`, and the package that carries them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner

import archspec
from archspec import zoo
from archspec.cli import main
from tests.conftest import ROOT, SPECS
from tests.helpers import write

TOP_LEVEL = sorted(p.stem for p in SPECS.glob("*.yaml"))
EXAMPLES = sorted(f"examples/{p.stem}" for p in (SPECS / "examples").glob("*.yaml"))


def test_every_bundled_file_has_a_name_and_libraries_have_none():
    assert sorted(zoo.bundled()) == sorted(TOP_LEVEL + EXAMPLES)
    assert not any(name.startswith("lib/") for name in zoo.bundled())


@pytest.mark.parametrize("name", ["resnet50", "examples/vit_small", "mobilenet_v2"])
def test_a_name_loads_the_bundled_spec_from_any_folder(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    by_name = archspec.load(name)
    by_path = archspec.load(SPECS / f"{name}.yaml")
    assert by_name.name == by_path.name
    assert by_name.graph().layer_names() == by_path.graph().layer_names()


def test_a_path_wins_over_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        "resnet50",
        "archspec: 1\nname: mine\ninput: [8, 8, 3]\nlayers: [flatten]\n",
    )
    assert archspec.load("resnet50").name == "mine"


def test_an_unknown_name_says_what_is_close(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["info", "resnet5"])
    assert result.exit_code == 2
    assert result.output == (
        "error: resnet5: no such file, and no bundled spec has this name "
        "(`archspec list` shows them) (did you mean `resnet50`?)\n"
    )
    # a path is reported as a missing file, not matched against names
    result = CliRunner().invoke(main, ["info", "nets/resnet50.yaml"])
    assert result.output == "error: nets/resnet50.yaml: no such file\n"


def test_info_with_set_by_name_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["info", "mobilenet_v2", "--set", "alpha=0.5", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    direct = archspec.load(SPECS / "mobilenet_v2.yaml", alpha=0.5)
    from archspec.analysis.stats import analyse

    assert doc["totals"] == analyse(direct.graph()).totals.figures()


def test_diff_takes_names():
    result = CliRunner().invoke(main, ["diff", "resnet50", "specs/resnet50.yaml", "-q"])
    assert (result.exit_code, result.output) == (0, "")
    result = CliRunner().invoke(main, ["diff", "resnet50", "resnet101", "-q"])
    assert (result.exit_code, result.output) == (1, "")


def test_list_json_describes_every_spec_with_its_figures():
    from archspec.analysis.stats import analyse

    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 0, result.output
    entries = {e["name"]: e for e in json.loads(result.output)["specs"]}
    assert sorted(entries) == sorted(TOP_LEVEL + EXAMPLES)
    for name in ("resnet50", "googlenet", "examples/vit_small"):
        loaded = archspec.load(SPECS / f"{name}.yaml")
        totals = analyse(loaded.graph()).totals
        entry = entries[name]
        assert (entry["model"], entry["weights"], entry["macs"]) == (
            loaded.name,
            totals.params,
            totals.macs,
        )
        assert entry["layers"] == len(loaded.graph())
        assert [p["name"] for p in entry["params"]] == list(loaded.spec.params)
        assert entry["description"] == " ".join(loaded.spec.description.split())
    assert entries["resnet50"]["weights"] == 25_636_712
    pooling = next(p for p in entries["resnet50"]["params"] if p["name"] == "pooling")
    assert pooling["choices"] == [None, "avg", "max"]
    assert all("error" not in e for e in entries.values())


def test_list_text_has_one_row_per_spec_and_names_filter():
    result = CliRunner().invoke(main, ["list"])
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "weights", "MACs", "description"]
    assert [line.split()[0] for line in lines[1:]] == TOP_LEVEL + EXAMPLES
    row = next(line for line in lines if line.startswith("resnet50 "))
    assert row.split()[1:3] == ["25.6M", "3.9G"]
    result = CliRunner().invoke(main, ["list", "vgg16", "lenet5", "--long"])
    assert [line.split()[0] for line in result.output.splitlines()] == ["name", "vgg16", "lenet5"]
    assert "convs=[2, 2, 3, 3, 3]" in result.output and "pooling=null" in result.output
    result = CliRunner().invoke(main, ["list", "resnet5"])
    assert result.exit_code == 2
    assert "resnet5: no bundled spec has this name (did you mean `resnet50`?)" in result.output


def test_list_reports_a_broken_spec_and_goes_on(monkeypatch, tmp_path):
    good = SPECS / "lenet5.yaml"
    bad = write(tmp_path, "bad.yaml", "archspec: 1\nname: b\ninput: [8, 8, 3]\nlayers: [nope]\n")
    monkeypatch.setattr(zoo, "bundled", lambda: {"lenet5": good, "bad": bad})
    result = CliRunner().invoke(main, ["list", "--json"])
    entries = json.loads(result.output)["specs"]
    assert entries[0]["model"] == "lenet5"
    assert entries[1]["name"] == "bad" and "unknown op or block `nope`" in entries[1]["error"]


def test_the_wheel_carries_the_specs_and_the_schema(tmp_path):
    """Build the wheel as pip would, install it without dependencies into a bare folder
    and use it from elsewhere: names, imports of bundled libraries and the schema work."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("archspec-*.whl")
    files = set(zipfile.ZipFile(wheel).namelist())
    for spec in SPECS.rglob("*.yaml"):
        assert f"archspec/specs/{spec.relative_to(SPECS).as_posix()}" in files
    assert "archspec/schemas/archspec.schema.json" in files
    for module in (ROOT / "archspec").rglob("*.py"):  # the package list misses no module
        assert module.relative_to(ROOT).as_posix() in files
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sys; from archspec.cli import main; from archspec import zoo; "
        "print(zoo.specs_root(), zoo.schema_file()); main(sys.argv[1:])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "validate", "resnet101", "examples/vit_small"],
        capture_output=True, text=True, cwd=elsewhere, timeout=120,
        env={**os.environ, "PYTHONPATH": str(target)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first == f"{target}/archspec/specs {target}/archspec/schemas/archspec.schema.json"
    assert rest == [
        "resnet101: ok (resnet101, 347 layers)",
        "examples/vit_small: ok (vit_small, 36 layers)",
    ]


def _stdin_run(args: list[str], data: bytes, cwd) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "archspec", *args], input=data, capture_output=True, cwd=cwd,
        timeout=120,
    )  # fmt: skip


def test_a_spec_from_standard_input(tmp_path):
    (tmp_path / "lib").mkdir()
    write(tmp_path / "lib", "blocks.yaml", "archspec: 1\nblocks:\n  act: {layers: [relu]}\n")
    spec = b"archspec: 1\nname: piped\nimports: [lib/blocks.yaml]\ninput: [4]\n"
    result = _stdin_run(["info", "-", "--json"], spec + b"layers: [{dense: {units: 2}}, act]\n",
                        tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["name"] == "piped" and doc["totals"]["params"] == 10
    # errors point into standard input
    result = _stdin_run(["validate", "-"], spec + b"layers: [{dense: {unit: 2}}]\n", tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "error: <stdin>:5:25: layers[0]: `dense` has no attribute `unit` (did you mean `units`?)\n"
    )
    # imports are relative to the current folder, and confined to it as for a file
    outside = spec.replace(b"lib/blocks", b"../outside") + b"layers: [act]\n"
    result = _stdin_run(["validate", "-"], outside, tmp_path / "lib")
    assert b"outside the folders a spec may include from" in result.stderr


def test_standard_input_is_read_with_a_bound(tmp_path):
    from archspec.loader.yaml_source import MAX_FILE_BYTES

    result = _stdin_run(["validate", "-"], b"#" * (MAX_FILE_BYTES + 10), tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"error: <stdin>: standard input is more than the limit of {MAX_FILE_BYTES:,} bytes\n"
    )
