"""Small helpers for tests that write specs on the fly."""

from __future__ import annotations

import textwrap
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
