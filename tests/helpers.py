"""Small helpers for tests that write specs on the fly or run the command line."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

import archspec
from archspec.errors import SpecError


def write(tmp_path: Path, name: str, *parts: str) -> Path:
    """Write a spec made of parts, each dedented on its own (a header, then a body)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(textwrap.dedent(part).lstrip("\n") for part in parts)
    path.write_text(text, encoding="utf-8")
    return path


def spec_error(path: Path, **overrides) -> SpecError:
    with pytest.raises(SpecError) as info:
        archspec.load(path, **overrides)
    return info.value


def names(path: Path, **overrides) -> list[str]:
    return list(archspec.load(path, **overrides).graph().nodes)


def weight_names(layer, expected: list[str]) -> list[str]:
    """The layer's weight names as the registry's rules name them: the end of each
    weight's path that matches the rule's name (`query/kernel` for attention's query
    kernel, `kernel` for a convolution's), so sublayers are told apart where it matters."""
    names = []
    for weight, name in zip(layer.weights, [*expected, *[""] * len(layer.weights)], strict=False):
        path = weight.path
        names.append(name if path == name or path.endswith("/" + name) else path)
    return names


def run_on_a_terminal(
    args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 300
) -> tuple[int, str, str]:
    """``python -m archspec ARGS`` with stderr on a pseudo-terminal and stdout on a pipe, as
    a person at a terminal runs it piping the result on; returns (exit code, stdout, what
    the terminal showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "archspec", *args],
        stdout=subprocess.PIPE, stderr=follower, cwd=cwd, env=dict(env),
    )  # fmt: skip
    os.close(follower)
    seen = b""
    while select.select([leader], [], [], timeout)[0]:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    stdout = proc.stdout.read().decode()
    code = proc.wait(timeout=60)
    return code, stdout, seen.decode(errors="replace")
