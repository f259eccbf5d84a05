"""archspec reads plain scalars by the YAML 1.2 core schema, as editors and YAML 1.2 tools do.

The expected reading is written here from the schema's own rules (YAML 1.2.2, 10.3.2),
independently of the loader, and compared with archspec's on generated scalars; the same
documents are compared with ruamel.yaml (check-jsonschema's reader) where it follows the
core schema, and, when ``ARCHSPEC_NODE_YAML`` names the folder of the npm package `yaml`
(the parser of yaml-language-server), with that parser too.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archspec.cli import parse_overrides
from archspec.errors import SpecError
from archspec.loader import yaml_source
from archspec.loader.yaml_source import parse_value, parse_yaml, read_yaml_file
from tests.conftest import SPECS


def core_schema(text: str) -> Any:
    """A plain scalar as the YAML 1.2 core schema resolves it."""
    match = re.fullmatch
    if match(r"null|Null|NULL|~|", text):
        return None
    if match(r"true|True|TRUE", text):
        return True
    if match(r"false|False|FALSE", text):
        return False
    if match(r"[-+]?[0-9]+", text):
        return int(text)
    if match(r"0o[0-7]+", text):
        return int(text[2:], 8)
    if match(r"0x[0-9a-fA-F]+", text):
        return int(text[2:], 16)
    if match(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", text):
        return float(text)
    if match(r"[-+]?\.(inf|Inf|INF)", text):
        return -math.inf if text.startswith("-") else math.inf
    if match(r"\.(nan|NaN|NAN)", text):
        return math.nan
    return text


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def archspec_reads(text: str) -> Any:
    """The value of ``a: TEXT``, or SpecError for an integer past 64 bits."""
    try:
        return parse_yaml(f"a: {text}\n", "f.yaml")["a"]
    except SpecError as exc:
        return exc


def is_plain_scalar(text: str) -> bool:
    """Whether ``a: TEXT`` holds TEXT as one plain scalar (not a list, a key, a quote...)."""
    try:
        events = list(yaml.parse(f"a: {text}\n", Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return False
    value = events[4]
    return isinstance(value, yaml.ScalarEvent) and value.style is None and value.value == text


NUMBERS = st.one_of(
    st.from_regex(r"[-+]?[0-9]{1,25}", fullmatch=True),
    st.from_regex(r"[-+]?0[oxbOX][0-9a-fA-F_]{0,6}", fullmatch=True),
    st.from_regex(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", fullmatch=True),
    st.from_regex(r"[-+]?\.(inf|Inf|INF|nan|NaN|NAN|iNf)", fullmatch=True),
    st.from_regex(r"[-+]?[0-9]{1,3}([_:][0-9]{1,3}){1,3}(\.[0-9]*)?", fullmatch=True),
)
WORDS = st.sampled_from([
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n",
    "N", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "null", "Null", "NULL",
    "nULL", "~", "=", "<<", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
])  # fmt: skip
SCALARS = NUMBERS | WORDS | st.text(alphabet="0123456789+-._:eEoxbabfnulTRUEFALSNtrs~", max_size=9)
SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@SETTINGS
@given(text=SCALARS)
def test_plain_scalars_read_as_the_core_schema_says(text):
    assume(is_plain_scalar(text))
    expected, found = core_schema(text), archspec_reads(text)
    if isinstance(expected, int) and not isinstance(expected, bool) and expected.bit_length() > 64:
        assert isinstance(found, SpecError) and "64 bits" in found.message
    else:
        assert same(found, expected), (text, found, expected)


def ruamel_extension(text: str) -> bool:
    """Where ruamel.yaml's YAML 1.2 reading leaves the core schema: digits with `_`,
    binary, signed hexadecimal and octal (YAML 1.1's), `=` and `<<` (errors), `.5e3` (text)."""
    return bool(
        "_" in text
        or text in ("=", "<<")
        or re.fullmatch(r"[-+]?0b[01]+|[-+]0[ox][0-9a-fA-F]+", text)
        or re.fullmatch(r"[-+]?\.[0-9]+[eE][-+]?[0-9]+", text)
    )


@SETTINGS
@given(text=SCALARS)
def test_ruamel_yaml_reads_the_same(text):
    ruamel = pytest.importorskip("ruamel.yaml")
    assume(is_plain_scalar(text) and not ruamel_extension(text))
    reader = ruamel.YAML(typ="safe", pure=True)
    # as check-jsonschema reads it: dates stay text, which JSON Schema formats expect
    reader.constructor.yaml_constructors["tag:yaml.org,2002:timestamp"] = (
        reader.constructor.yaml_constructors["tag:yaml.org,2002:str"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = reader.load(f"a: {text}\n")["a"]
    ours = archspec_reads(text)
    if isinstance(ours, SpecError):
        assert isinstance(theirs, int) and theirs.bit_length() > 64
    else:
        assert same(ours, theirs), (text, ours, theirs)


def _node_yaml() -> Path | None:
    folder = os.environ.get("ARCHSPEC_NODE_YAML")
    index = Path(folder) / "dist" / "index.js" if folder else None
    return index if index and index.is_file() and shutil.which("node") else None


@pytest.mark.skipif(_node_yaml() is None, reason="ARCHSPEC_NODE_YAML does not name npm's yaml")
def test_the_parser_of_yaml_language_server_reads_the_same():
    """Every sample at once through npm's `yaml` (numbers are one type in JavaScript)."""
    texts = [t for t in sorted(set(SAMPLES) | set(_samples())) if is_plain_scalar(t)]
    script = (
        f"import {{ parseDocument }} from {json.dumps(str(_node_yaml()))};\n"
        "let s = ''; process.stdin.on('data', d => s += d); process.stdin.on('end', () => {\n"
        "  const out = JSON.parse(s).map(t => {\n"
        "    const doc = parseDocument('a: ' + t + '\\n', { version: '1.2' });\n"
        "    const v = doc.toJS().a;\n"
        "    return [v === null ? 'null' : typeof v, typeof v === 'number' ? String(v) : v];\n"
        "  });\n"
        "  process.stdout.write(JSON.stringify(out));\n"
        "});\n"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for text, (kind, value) in zip(texts, json.loads(result.stdout), strict=True):
        ours = archspec_reads(text)
        if isinstance(ours, SpecError):
            assert kind == "number" and abs(float(value)) >= 2**64, text
        elif isinstance(ours, bool) or ours is None or isinstance(ours, str):
            assert (kind, value) == (_js_kind(ours), ours), text
        else:
            assert kind == "number" and same(float(value), float(ours)), (text, value)


def _js_kind(value: Any) -> str:
    return "null" if value is None else "boolean" if isinstance(value, bool) else "string"


def _samples() -> list[str]:
    """A fixed draw of generated scalars (the test above runs node once, on all of them)."""
    found: list[str] = []

    @settings(max_examples=300, database=None, derandomize=True)
    @given(text=SCALARS)
    def collect(text: str) -> None:
        found.append(text)

    collect()
    return found


#: the readings that differ between YAML 1.1 (PyYAML's) and 1.2 (archspec's, editors')
SAMPLES = {
    "no": "no", "yes": "yes", "on": "on", "off": "off", "y": "y", "n": "n", "Off": "Off",
    "010": 10, "0o17": 15, "0x1F": 31, "-0x1F": "-0x1F", "+12": 12, "-0": 0,
    "1_000": "1_000", "0b101": "0b101", "1:30": "1:30", "1:30.5": "1:30.5",
    "1e-4": 1e-4, "1E3": 1000.0, ".5": 0.5, "5.": 5.0, "-.inf": -math.inf, ".NaN": math.nan,
    "True": True, "FALSE": False, "tRue": "tRue", "~": None, "Null": None, "nULL": "nULL",
    "2001-12-14": "2001-12-14", "=": "=", "<<": "<<",
}  # fmt: skip


@pytest.mark.parametrize(("text", "value"), SAMPLES.items(), ids=list(SAMPLES))
def test_yaml_1_2_readings(text, value):
    assert same(archspec_reads(text), value)
    assert same(core_schema(text), value)


@pytest.mark.parametrize(
    ("given_text", "value"),
    [
        ("use_bias=no", "no"),
        ("n=010", 10),
        ("rate=1e-4", 1e-4),
        ("n=0x10", 16),
        ("x=1_000", "1_000"),
    ],
)
def test_set_values_are_read_as_yaml_1_2(given_text, value):
    (read,) = parse_overrides((given_text,)).values()
    assert same(read, value)
    name, _, text = given_text.partition("=")
    assert same(parse_value(text, what=f"--set {name}"), value)


def test_keys_that_are_one_value_in_yaml_1_2_are_duplicates():
    for text in ("1: a\n01: b\n", "0x10: a\n16: b\n", "true: a\nTrue: b\n", "~: a\nnull: b\n"):
        with pytest.raises(SpecError, match="duplicate key"):
            parse_yaml(text, "f.yaml")
    assert parse_yaml("no: a\nfalse: b\n", "f.yaml") == {"no": "a", False: "b"}


def test_merge_keys_still_merge_and_keep_positions():
    data = parse_yaml("base: &b {x: 1, y: 2.5}\nuse:\n  <<: *b\n  z: .inf\n", "f.yaml")
    assert data["use"] == {"x": 1, "y": 2.5, "z": math.inf}
    assert (data["use"].value_locs["z"].line, data["use"].value_locs["z"].col) == (4, 6)


def test_every_value_keeps_its_position():
    data = parse_yaml("a: [1e-4, no, ~, 010, .nan, true]\n", "f.yaml")
    assert [loc.col for loc in data["a"].item_locs] == [5, 11, 15, 18, 23, 29]


def test_the_c_parser_is_used_where_pyyaml_has_it():
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    assert issubclass(yaml_source._PositionLoader, yaml.CSafeLoader)


@pytest.mark.parametrize("path", sorted(SPECS.rglob("*.yaml")), ids=lambda p: p.name)
def test_bundled_files_read_as_ruamel_yaml_reads_them(path):
    ruamel = pytest.importorskip("ruamel.yaml")
    theirs = ruamel.YAML(typ="safe", pure=True).load(path.read_text())
    assert read_yaml_file(path) == theirs
