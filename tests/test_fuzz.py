"""Fuzzing: whatever text a spec file holds, only archspec's own error type escapes.

Two sources of input, 2,400 examples in all: YAML documents generated from the spec
language's vocabulary, and the bundled specs with random mutations (lines dropped,
doubled or cut, numbers and words swapped, characters inserted). Every input goes
through loading, validation, expansion and static analysis.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archspec
from archspec.analysis.stats import analyse
from archspec.errors import SpecError
from tests.conftest import SPECS

KEYS = [
    "archspec", "name", "input", "inputs", "params", "blocks", "layers", "graph", "outputs",
    "imports", "extends", "conv2d", "dense", "add", "concatenate", "max_pooling2d",
    "batch_normalization", "flatten", "stages", "block", "repeats", "args", "first",
    "filters", "kernel_size", "strides", "padding", "units", "name", "if", "repeat", "from",
    "then", "else", "type", "default", "main", "out", "input", "index", "stage", "in_shape",
]  # fmt: skip
WORDS = [
    "same", "valid", "relu", "int", "int[3]", "float", "$filters", "$4 * width", "$index",
    "$in_shape[-1]", "$stage + 1", "${index}", "$$", "$1/0", "$x[", "main", "input", "conv2d",
    "lib/resnet_blocks.yaml", "../nowhere.yaml", "true", "", "!!python/object", "*a", "&a b",
]  # fmt: skip
SCALARS = (
    st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, 2, 3, -1, 32, 10**9])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
    | st.sampled_from(WORDS)
    | st.text(max_size=8)
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), children, max_size=6)
    ),
    max_leaves=40,
)
BUNDLED = sorted(str(p.relative_to(SPECS)) for p in SPECS.rglob("*.yaml"))


@pytest.fixture(scope="module")
def workdir():
    """A copy of specs/, so mutated files can import the block libraries beside them."""
    root = Path(tempfile.mkdtemp(prefix="archspec-fuzz-"))
    shutil.copytree(SPECS, root / "specs")
    yield root / "specs"
    shutil.rmtree(root)


def _check(path: Path, root: Path) -> None:
    try:
        # the copy of specs/ is not the bundled folder: allow its tree for `../lib` imports
        spec = archspec.load(path, node_limit=5_000, include_roots=[root])
        analyse(spec.graph())
    except SpecError as exc:
        assert exc.format()  # the error renders as its one line
        assert "\n" not in exc.format()


@settings(
    max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=DOCUMENTS, spec_like=st.booleans())
def test_generated_documents(workdir, document, spec_like):
    if spec_like and isinstance(document, dict):
        document = {"archspec": 1, "name": "fuzz", "input": [8, 8, 3], **document}
    path = workdir / "_generated.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _check(path, workdir)


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["drop", "double", "cut", "number", "word", "insert"]))
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        if kind == "drop":
            del lines[i]
        elif kind == "double":
            lines.insert(i, lines[i])
        elif kind == "cut":
            lines = lines[:i] + [lines[i][: data.draw(st.integers(0, len(lines[i])))]]
        elif kind in ("number", "word"):
            tokens = lines[i].split(" ")
            j = data.draw(st.integers(0, len(tokens) - 1))
            new = (
                str(data.draw(st.sampled_from([0, -1, 1, 7, 10**12, 2**40])))
                if kind == "number"
                else data.draw(st.sampled_from(WORDS + KEYS))
            )
            tokens[j] = new + (":" if tokens[j].endswith(":") else "")
            lines[i] = " ".join(tokens)
        else:
            at = data.draw(st.integers(0, len(lines[i])))
            junk = data.draw(
                st.sampled_from(["{", "}", "[", "]", ":", "- ", "\t", "$", "&", "*", "'"])
            )
            lines[i] = lines[i][:at] + junk + lines[i][at:]
    return "".join(lines)


@settings(
    max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=st.sampled_from(BUNDLED), data=st.data())
def test_mutated_bundled_specs(workdir, source, data):
    original = workdir / source
    mutated = original.with_name("_mutated.yaml")
    mutated.write_text(_mutate(original.read_text(), data), encoding="utf-8")
    _check(mutated, workdir)
