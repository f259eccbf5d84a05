"""The command line as an attacker meets it: one line per failure, clean signals, safe text."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archspec import cli, safe_write
from archspec.cli import main
from tests.conftest import ROOT

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["frobnicate"],
        ["build", "specs/lenet5.yaml", "--nope"],
        ["info", "specs/lenet5.yaml", "--depth", "0"],
        ["validate", "--max-nodes", "x", "specs/lenet5.yaml"],
        ["diff", "specs/lenet5.yaml"],
        ["info"],
        ["schema", "--output"],
    ],
)
def test_usage_mistakes_are_one_line(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "--help`)" in lines[0]


def test_no_command_shows_the_help():
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0
    assert "Commands:" in result.stdout and "validate" in result.stdout


# --------------------------------------------------------------------------- signals

KILL_DURING_SAVE = """
import os, signal, sys, time
import keras
def save(self, path, *args, **kwargs):
    open(path, "wb").write(b"half a model")
    os.kill(os.getpid(), signal.{sig})
    time.sleep(30)  # the handler raises before this returns
keras.Model.save = save
from archspec.cli import main
main(["build", "specs/lenet5.yaml", "-o", sys.argv[1]])
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_termination_signal_during_build_leaves_no_file(tmp_path, sig):
    out = tmp_path / "lenet.keras"
    script = KILL_DURING_SAVE.format(sig=sig)
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=120,
    )
    signum = getattr(signal, sig)
    assert result.returncode == 128 + signum, result.stderr
    assert result.stderr.endswith(f"terminated by {sig}\n")
    assert list(tmp_path.iterdir()) == []


def test_the_model_is_flushed_before_the_rename(tmp_path, monkeypatch):
    import keras

    steps: list[tuple[str, str]] = []
    monkeypatch.setattr(safe_write, "fsync", lambda path: steps.append(("fsync", str(path))))
    real_replace = os.replace

    def replace(src, dst):
        steps.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    out = tmp_path / "m.keras"
    cli.write_atomically(model.save, out)
    assert [kind for kind, _ in steps] == ["fsync", "replace", "fsync"]
    assert steps[0][1] != str(out) and steps[1][1] == str(out) and steps[2][1] == str(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


# --------------------------------------------------------------------------- current folder


def test_python_dash_m_never_imports_from_the_current_folder(tmp_path):
    marker = tmp_path / "imported"
    (tmp_path / "keras.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "tiny.yaml").write_text(
        "archspec: 1\nname: tiny\ninput: [4]\nlayers: [{dense: 2}]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "archspec", "build", "tiny.yaml", "--no-save"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=ENV,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


# --------------------------------------------------------------------------- terminal text

HOSTILE = st.lists(
    st.sampled_from(["\x1b[2J", "\x1b]0;x\x07", "\x00", "\r", "\x9b", "\u202e", "a", "[b]"]),
    min_size=1,
    max_size=6,
).map("".join)
PLACES = [
    "archspec: 1\nname: m\ninput: [4]\nlayers: [{{dense: {{units: 2, {text}: 1}}}}]\n",
    "archspec: 1\nname: m\ninput: [4]\nlayers: [{{dense: {{units: 2, name: {text}}}}}]\n",
    "archspec: 1\nname: {text}\ninput: [4]\nlayers: [{{dense: 2}}]\n",
    "archspec: 1\nname: m\ninput: [4]\nlayers: [{text}]\n",
    "archspec: 1\nname: m\ninput: [4]\nparams: {{{text}: 1}}\nlayers: [{{dense: 2}}]\n",
    "archspec: 1\nname: m\ninput: [4]\nlayers: [{{dense: '${text}'}}]\n",
]


@given(text=HOSTILE, place=st.sampled_from(PLACES))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_control_characters_never_reach_the_terminal(tmp_path, text, place):
    quoted = '"' + text.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(place.format(text=quoted)))
    result = CliRunner().invoke(main, ["info", str(path)])
    shown = result.stdout + result.stderr
    assert not any(ord(c) < 0x20 and c != "\n" or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert "\u202e" not in shown
    if result.exit_code:
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
