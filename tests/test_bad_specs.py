"""The error corpus: every bad input ends in one clear line, exit code 2, and no output.

`tests/bad_specs/expected*.yaml` list each bad spec with the exact line archspec must
answer with (one file per area: the language, the loader, the ops, ...). Each case
must also answer within a second, print no traceback, and leave no model file behind
when given to `build`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from archspec.cli import main
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "bad_specs"


def _expectations() -> dict[str, object]:
    merged: dict[str, object] = {}
    for path in sorted(CORPUS.glob("expected*.yaml")):
        entries = yaml.safe_load(path.read_text()) or {}
        clash = merged.keys() & entries.keys()
        assert not clash, f"{path.name} repeats {sorted(clash)}"
        merged.update(entries)
    return merged


EXPECTED = _expectations()


def _case(name: str) -> tuple[list[str], str]:
    entry = EXPECTED[name]
    if isinstance(entry, str):
        return [], entry.replace("{root}", str(ROOT))
    return list(entry["args"]), entry["error"].replace("{root}", str(ROOT))


def test_corpus_is_complete_and_large_enough():
    files = sorted(p.name for p in CORPUS.glob("*.yaml") if not p.name.startswith("expected"))
    assert files == sorted(EXPECTED)
    assert len(files) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_spec_gives_its_one_line(name):
    args, expected = _case(name)
    path = f"tests/bad_specs/{name}"
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", path, *args])
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {expected}\n"
    assert "Traceback" not in result.output
    assert elapsed < 1.0, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_spec_builds_nothing(name, tmp_path):
    args, expected = _case(name)
    out = tmp_path / "model.keras"
    result = CliRunner().invoke(main, ["build", f"tests/bad_specs/{name}", "-o", str(out), *args])
    assert result.exit_code == 2
    assert result.output == f"error: {expected}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["alias_bomb.yaml", "python_object_tag.yaml", "unknown_op.yaml"])
def test_real_process_prints_one_line_and_debug_shows_the_traceback(name):
    args, expected = _case(name)
    command = [sys.executable, "-m", "archspec", "validate", f"tests/bad_specs/{name}", *args]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {expected}\n")
    debug = subprocess.run([*command, "--debug"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr


def test_file_over_the_size_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("archspec: 1\n" + "# padding\n" * 120_000)
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", str(big)])
    assert result.exit_code == 2
    size = big.stat().st_size
    assert result.output == (
        f"error: {big}: the file is {size:,} bytes, more than the limit of 1,048,576\n"
    )
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests/bad_specs/no_such_spec.yaml", "no such file"),
        ("tests/bad_specs", "is a directory, not a spec file"),
    ],
)
def test_spec_path_missing_or_a_directory(target, message):
    for command in ("validate", "info", "build"):
        result = CliRunner().invoke(main, [command, target])
        assert result.exit_code == 2
        assert result.output == f"error: {target}: {message}\n"


def test_output_path_that_cannot_be_written(tmp_path):
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = [
        (tmp_path / "missing" / "m.keras",
         f"cannot write the model: folder `{tmp_path / 'missing'}` does not exist"),
        (folder, "cannot write the model there: the path is a directory, not the model"),
        (tmp_path / "m.h5", "the output file must end in `.keras`, got `m.h5`"),
    ]  # fmt: skip
    if os.geteuid() != 0:  # root may write anywhere
        cases.append((locked / "m.keras", "cannot write the model: permission denied"))
    try:
        for out, message in cases:
            result = CliRunner().invoke(main, ["build", "specs/lenet5.yaml", "-o", str(out)])
            assert result.exit_code == 2, result.output
            assert result.output == f"error: {out}: {message}\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.keras", "locked"]
        assert list(locked.iterdir()) == [] and list(folder.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_save_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    """A model that fails while being written leaves neither the target nor a temporary file."""
    import keras

    def broken_save(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    out = tmp_path / "lenet.keras"
    result = CliRunner().invoke(main, ["build", "specs/lenet5.yaml", "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.endswith(
        f"error: {out}: cannot write the model: No space left on device\n"
    )
    assert list(tmp_path.iterdir()) == []
