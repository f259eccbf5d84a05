"""What every command shares: examples in --help, --json, -q, progress, completion, pipes."""

from __future__ import annotations

import json
import os
import subprocess

import click
import pytest
from click.testing import CliRunner

from archspec import zoo
from archspec.cli import main
from tests.conftest import ROOT
from tests.helpers import run_on_a_terminal, write
from tests.test_cli import run as run_without_frameworks

#: how to run each command cheaply; every registered command must be here
CHEAP_RUNS = {
    "validate": ["validate", "specs/lenet5.yaml", "lenet5"],
    "info": ["info", "lenet5", "--depth", "1"],
    "diff": ["diff", "lenet5", "specs/lenet5.yaml"],
    "list": ["list", "lenet5", "alexnet"],
    "schema": ["schema"],
    "build": ["build", "lenet5", "--no-save"],
    "draw": ["draw", "lenet5", "-o", "{tmp}/lenet5.svg"],
    "export": ["export", "lenet5", "--format", "tflite", "-o", "{tmp}/lenet5.tflite"],
}


def _cheap(name: str, tmp_path) -> list[str]:
    return [arg.format(tmp=tmp_path) for arg in CHEAP_RUNS[name]]


def _commands() -> dict[str, click.Command]:
    return dict(main.commands)


def test_every_command_shows_examples_in_its_help():
    for name in _commands():
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        text = result.output
        assert "Examples:" in text, f"`archspec {name} --help` shows no example"
        after = text.split("Examples:", 1)[1].splitlines()[1:]
        examples = [line.strip() for line in after if line.strip().startswith("archspec ")]
        assert 1 <= len(examples) <= 3, (name, examples)
        # each example names this command and is a command line click accepts
        for example in examples:
            words = example.split()
            assert words[1] == name, example
        assert "-q, --quiet" in text and "--debug" in text, name


def test_every_command_but_schema_has_json_and_documents_it():
    for name, command in _commands().items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if name != "schema":  # its output is a JSON document already
            assert "--json" in options, name
        assert "-q" in options, name


@pytest.mark.parametrize("name", ["validate", "info", "diff", "list", "build", "draw", "export"])
def test_json_output_is_one_document(name, tmp_path):
    result = CliRunner().invoke(main, [*_cheap(name, tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)  # the whole of stdout parses
    expected = {
        "validate": {"ok", "specs"},
        "info": {"name", "totals", "layers", "blocks"},
        "diff": {"identical", "a", "b"},
        "list": {"specs"},
        "build": {"model", "layers", "params", "inputs", "outputs", "output"},
        "draw": {"output", "format", "boxes", "edges"},
        "export": {"format", "output", "bytes", "model", "inputs", "outputs"},
    }[name]
    assert expected <= set(doc), (name, sorted(doc))


def test_validate_json_shape():
    result = CliRunner().invoke(
        main, ["validate", "lenet5", "specs/nope.yaml", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    good, bad = doc["specs"]
    assert good == {"spec": "lenet5", "ok": True, "model": "lenet5", "layers": 9}
    assert bad["ok"] is False and bad["error"]["message"] == "no such file"
    assert result.stderr == "error: specs/nope.yaml: no such file\n"


def test_an_error_under_json_is_a_document_too(tmp_path):
    bad = write(tmp_path, "bad.yaml", "archspec: 1\nname: b\ninput: [8, 8, 3]\nlayers: [conv2]\n")
    result = CliRunner().invoke(main, ["info", str(bad), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error == {
        "file": str(bad),
        "line": 4,
        "col": 10,
        "path": "layers[0]",
        "message": "unknown op or block `conv2`",
        "hint": "did you mean `conv2d`?",
        "text": f"{bad}:4:10: layers[0]: unknown op or block `conv2` (did you mean `conv2d`?)",
    }
    assert result.stderr == f"error: {error['text']}\n"


@pytest.mark.parametrize("name", sorted(CHEAP_RUNS))
def test_quiet_prints_nothing_but_errors(name, tmp_path):
    result = CliRunner().invoke(main, [*_cheap(name, tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    bad = write(tmp_path, "bad.yaml", "archspec: 1\nname: b\ninput: [8, 8, 3]\nlayers: [conv2]\n")
    if name not in ("schema", "list"):
        args = [name, str(bad), *_cheap(name, tmp_path)[2:]]
        result = CliRunner().invoke(main, [*args, "-q"])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "unknown op or block `conv2`" in result.stderr


def test_every_command_is_covered_here():
    assert set(_commands()) == set(CHEAP_RUNS)


def _run_with_stderr_on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}  # a user's shell
    return run_on_a_terminal(args, cwd=ROOT, env=env)


def test_build_shows_progress_on_a_terminal_only(tmp_path):
    out = tmp_path / "lenet.keras"
    code, stdout, terminal = _run_with_stderr_on_a_terminal(["build", "lenet5", "-o", str(out)])
    assert code == 0, terminal
    assert "building lenet5 with Keras" in terminal
    assert "building" not in stdout and stdout.splitlines()[-1] == f"saved {out}"
    code, stdout, terminal = _run_with_stderr_on_a_terminal(
        ["build", "lenet5", "-o", str(out), "-q"]
    )
    assert (code, stdout, terminal.strip()) == (0, "", "")


def _complete(words: str, shell: str = "bash", cwd=ROOT) -> list[tuple[str, str]]:
    env = {
        **os.environ,
        "_ARCHSPEC_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    result = subprocess.run(
        ["archspec"], env=env, capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [tuple(line.split(",", 1)) for line in result.stdout.splitlines()]


def test_completion_offers_commands_bundled_names_and_files(tmp_path):
    assert ("plain", "build") in _complete("archspec bu")
    items = _complete("archspec build resnet1")
    assert [v for _, v in items] == [
        "resnet101",
        "resnet101v2",
        "resnet152",
        "resnet152v2",
        "resnet18",
    ]
    assert ("plain", "examples/vit_small") in _complete("archspec info examples/vi")
    # no bundled name fits: the shell's own file completion takes over
    assert _complete("archspec validate specs/re") == [("file", "specs/re")]
    # both fit: the matching files and folders are listed with the names
    (tmp_path / "res_nets").mkdir()
    write(tmp_path, "resnet_mine.yaml", "archspec: 1\n")
    items = _complete("archspec diff resnet50 resnet", cwd=tmp_path)
    names = [n for n in zoo.bundled() if n.startswith("resnet")]
    assert items == [("plain", v) for v in ("resnet_mine.yaml", *names)]
    items = _complete("archspec build res", cwd=tmp_path)
    assert items[:2] == [("plain", "res_nets/"), ("plain", "resnet_mine.yaml")]


def test_completion_script_is_documented_and_generated():
    readme = (ROOT / "README.md").read_text()
    for shell in ("bash", "zsh", "fish"):
        assert f"_ARCHSPEC_COMPLETE={shell}_source archspec" in readme
        script = subprocess.run(
            ["archspec"], env={**os.environ, "_ARCHSPEC_COMPLETE": f"{shell}_source"},
            capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
        assert "_ARCHSPEC_COMPLETE" in script and "archspec" in script


def test_a_closed_pipe_ends_quietly():
    result = subprocess.run(
        "archspec list | head -n 1", shell=True, capture_output=True, text=True, cwd=ROOT,
        timeout=120,
    )  # fmt: skip
    assert result.stdout.split() == ["name", "weights", "MACs", "description"]
    assert result.stderr == ""


def test_list_and_validate_json_without_frameworks():
    result = run_without_frameworks("list", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["specs"]) > 40
    result = run_without_frameworks("validate", "resnet50", "--json")
    assert json.loads(result.stdout)["specs"][0]["layers"] == 177
