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
