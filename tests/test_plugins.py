"""Op plugins: installed packages add ops through the `archspec.ops` entry-point group.

tests/plugins holds an installed-looking example plugin (a package and its dist-info);
putting that folder on PYTHONPATH installs it for a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from archspec.ops import REGISTRY
from archspec.ops.registry import OpDef, Registry, load_plugins
from tests.conftest import ROOT

PLUGINS = ROOT / "tests" / "plugins"
SPEC = """\
archspec: 1
name: plug
input: [4, 4, 3]
layers:
  - conv2d: {filters: 5, kernel_size: 1}
  - channel_affine: {use_shift: false}
  - channel_affine
"""


def _run(*args: str, path: Path | None = PLUGINS, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run(
        [sys.executable, "-m", "archspec", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_a_plugin_op_works_like_a_built_in_one(tmp_path):
    (tmp_path / "plug.yaml").write_text(SPEC)
    info = _run("info", "plug.yaml", "--json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    layers = {layer["name"]: layer for layer in json.loads(info.stdout)["layers"]}
    assert layers["channel_affine"]["params"] == 5  # a scale per channel
    assert layers["channel_affine_1"]["params"] == 10  # and a shift
    build = _run("build", "plug.yaml", "-o", "plug.keras", cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    assert "35 parameters" in build.stdout
    same = _run("diff", "plug.yaml", "plug.keras", cwd=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr
    schema = _run("schema", cwd=tmp_path)
    assert "channel_affine" in schema.stdout and "use_shift" in schema.stdout


def test_without_the_plugin_its_op_is_unknown(tmp_path):
    (tmp_path / "plug.yaml").write_text(SPEC)
    result = _run("validate", "plug.yaml", path=None, cwd=tmp_path)
    assert result.returncode == 2
    assert "plug.yaml:6:5: layers[1]: unknown op or block `channel_affine`" in result.stderr


def test_a_broken_plugin_is_reported_and_left_out(tmp_path):
    dist = tmp_path / "site" / "broken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[archspec.ops]\nbroken = no_such_module:ops\n")
    (tmp_path / "ok.yaml").write_text("archspec: 1\nname: ok\ninput: [3]\nlayers: [relu]\n")
    result = _run("validate", "ok.yaml", path=tmp_path / "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("warning: op plugin `broken` (no_such_module:ops) failed")
    assert "Traceback" not in result.stderr


@dataclass
class _Entry:
    """An entry point as importlib.metadata gives it: a name, a value, and `load`."""

    name: str
    value: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def _op(name: str, aliases: tuple[str, ...] = ()) -> OpDef:
    relu = REGISTRY.get("relu")
    assert relu is not None
    return OpDef(name, "ReLU", relu.attrs, relu.output_shape, "a test op", aliases=aliases)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (ImportError("no module"), "failed to load: ImportError: no module"),
        (lambda: 1 / 0, "failed to load: ZeroDivisionError"),
        (lambda: ["not an op"], "gave a str, not an archspec OpDef"),
        (lambda: [_op("relu")], "defines `relu`, which is already an op"),
        (lambda: [_op("mine", aliases=("conv",))], "defines `conv`"),
        (lambda: [_op("twice"), _op("twice")], "defines `twice`"),
    ],
)
def test_a_plugin_is_refused_as_a_whole(target, message):
    registry = Registry()
    for op in REGISTRY.ops():
        registry.add(op)
    before = registry.names()
    entries = [_Entry("bad", "bad:ops", target), _Entry("good", "good:ops", lambda: [_op("mine2")])]
    loaded, refused = load_plugins(registry, entries)
    assert loaded == ["good"]
    (error,) = refused
    assert message in error.message and "op plugin `bad` (bad:ops)" in error.message
    assert registry.names() == sorted([*before, "mine2"])
