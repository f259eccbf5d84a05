"""YAML loading: positions, duplicate keys, tags, bombs, nesting, integers, sizes, encodings."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archspec.errors import SpecError
from archspec.loader.yaml_source import (
    MAX_DOCUMENT_NODES,
    MAX_NESTING,
    NodeBudget,
    locate,
    parse_value,
    parse_yaml,
    read_yaml_file,
)


def test_positions_of_keys_values_and_items():
    data = parse_yaml("a: 1\nb:\n  - x: 2\n    y: [1, 2]\n  - z\n", "f.yaml")
    assert data == {"a": 1, "b": [{"x": 2, "y": [1, 2]}, "z"]}
    assert (data.key_locs["b"].line, data.key_locs["b"].col) == (2, 1)
    assert (data["b"].item_locs[1].line, data["b"].item_locs[1].col) == (5, 5)
    loc = locate(data, ("b", 0, "y", 1))
    assert (loc.file, loc.line, loc.col) == ("f.yaml", 4, 12)
    # a path that leaves the document stops at the deepest known position
    assert locate(data, ("b", 0, "missing", 3)).line == 3


def test_duplicate_keys_are_rejected_with_both_lines():
    with pytest.raises(SpecError) as info:
        parse_yaml("archspec: 1\nname: a\nlayers: []\nname: b\n", "f.yaml")
    assert info.value.format() == "f.yaml:4:1: duplicate key `name` (first given at line 2)"


def test_duplicate_keys_of_a_file_that_is_no_spec_are_not_quoted():
    with pytest.raises(SpecError) as info:
        parse_yaml("token: s3cr3t\ntoken: s3cr3t\n", "f.yaml")
    assert info.value.format() == "f.yaml:2:1: duplicate key (first given at line 1)"


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['echo hacked']",
        "!!binary aGk=",
        "!!timestamp 2001-13-45",
        "!!int s3cr3t",
        "!!set {a: 1}",
        "!!omap [a: 1]",
        "!!str 1",
        "!s3cr3t x",
        "!<tag:s3cr3t> x",
        "! x",
    ],
)
def test_every_tag_is_refused_unquoted(value):
    with pytest.raises(SpecError) as info:
        parse_yaml(f"a: {value}\n", "f.yaml")
    assert info.value.format() == (
        "f.yaml:1:4: YAML tags are not allowed (`!name`, `!!python/...`); specs are plain data"
    )
    assert "s3cr3t" not in info.value.format()


def test_dates_and_equals_signs_stay_text():
    data = parse_yaml("a: 2001-12-14\nb: 2001-13-45\nc: =\nd: 0b_\n", "f.yaml")
    assert data == {"a": "2001-12-14", "b": "2001-13-45", "c": "=", "d": "0b_"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("18446744073709551615", 2**64 - 1),
        ("-18446744073709551615", -(2**64) + 1),
        ("0x" + "0" * 5000 + "1F", 31),
        ("0o" + "0" * 5000 + "17", 15),
        ("-017", -17),
        ("+010", 10),
        ("-0", 0),
    ],
)
def test_integers_within_64_bits_keep_their_value(text, value):
    assert parse_yaml(f"a: {text}\n", "f.yaml")["a"] == value


@pytest.mark.parametrize(
    "text",
    [
        "18446744073709551616",
        "99999999999999999999999",
        "9" * 5000,
        "0x1" + "0" * 16,
        "0o2" + "0" * 22,
        "-" + "0" * 200_000 + "9" * 20,
    ],
)
def test_integers_past_64_bits_are_refused_at_their_position(text):
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse_yaml(f"archspec: 1\nparams:\n  seed: {text}\n", "f.yaml")
    assert info.value.format() == (
        "f.yaml:3:9: this whole number does not fit in 64 bits, the most archspec takes"
    )
    assert time.perf_counter() - start < 1.0


@settings(max_examples=300, deadline=None)
@given(
    value=st.integers(-(2**80), 2**80) | st.integers(-(2**66), 2**66),
    form=st.sampled_from(["{}", "+{}", "000{}", "0x{:x}", "0x{:X}", "0o{:o}"]),
)
def test_generated_integer_literals(value, form):
    """Any integer literal reads as its value within 64 bits and is refused beyond."""
    if form not in ("{}", "000{}"):
        value = abs(value)  # `+`, hexadecimal and octal forms: no minus sign in YAML 1.2
    text = ("-" if value < 0 else "") + form.format(abs(value))
    try:
        data = parse_yaml(f"a: {text}\n", "f.yaml")
    except SpecError as exc:
        assert abs(value).bit_length() > 64
        assert exc.loc is not None and (exc.loc.line, exc.loc.col) == (1, 4)
        return
    assert abs(value).bit_length() <= 64
    assert data["a"] == value


def _nested(levels: int) -> str:
    return "a: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"


def test_nesting_up_to_the_limit_is_read():
    data = parse_yaml(_nested(MAX_NESTING), "f.yaml")
    for _ in range(MAX_NESTING - 1):
        data = data[next(iter(data))] if isinstance(data, dict) else data[0]
    assert data == []


@pytest.mark.parametrize("levels", [MAX_NESTING + 1, 1_000, 25_000, 500_000])
def test_deeper_nesting_is_refused_at_once(levels):
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse_yaml(_nested(levels), "f.yaml")
    assert info.value.format() == "f.yaml:1:67: lists and mappings nest deeper than 64 levels"
    assert time.perf_counter() - start < 0.5


def test_block_style_nesting_is_bounded_too():
    text = "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 100))
    with pytest.raises(SpecError, match="nest deeper than 64 levels") as info:
        parse_yaml(text, "f.yaml")
    assert info.value.loc.line == 65


def test_nesting_counts_what_aliases_stand_for():
    # each line is 40 levels deep and names the previous one: 80 levels once expanded
    text = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 39 + "*a" + "]" * 39 + "\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.format() == (
        "f.yaml:2:43: lists and mappings nest deeper than 64 levels once this alias is expanded"
    )


def test_an_alias_inside_what_it_names_is_refused():
    with pytest.raises(SpecError) as info:
        parse_yaml("a: &a [1, {b: *a}]\n", "f.yaml")
    assert info.value.format() == (
        "f.yaml:1:15: this alias stands inside the list or mapping it names (an endless document)"
    )


def test_shared_aliases_are_read_once_and_counted_in_full():
    data = parse_yaml("a: &a [1, 2]\nb: [*a, *a]\n", "f.yaml")
    assert data["b"] == [[1, 2], [1, 2]] and data["b"][0] is data["b"][1]
    budget = NodeBudget()
    parse_yaml("a: &a [1, 2]\nb: [*a, *a]\n", "f.yaml", budget=budget)
    # the root, its keys a and b, [1, 2] (3 nodes) and [*a, *a] holding two copies of it
    assert budget.used == 1 + 2 + 3 + (1 + 2 * 3)


def test_alias_bomb_is_refused_before_expansion():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(SpecError) as info:
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert "expands to" in info.value.message


def test_files_of_one_load_share_the_node_budget():
    budget = NodeBudget(limit=100)
    parse_yaml("a: [" + ", ".join(["1"] * 60) + "]\n", "one.yaml", budget=budget)
    with pytest.raises(SpecError) as info:
        parse_yaml("b: [" + ", ".join(["1"] * 60) + "]\n", "two.yaml", budget=budget)
    assert info.value.format() == (
        "two.yaml:1:1: the document expands to 63 YAML nodes; with the 63 of the files read "
        "before it, that is more than the limit of 100"
    )
    assert NodeBudget().limit == MAX_DOCUMENT_NODES


@pytest.mark.parametrize(
    ("text", "where"), [("a: 1\nb: x\x07y\n", "2:5"), ("a: é\ncafé: x\x07y\n", "2:8")]
)
def test_control_characters_are_located(text, where):
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "f.yaml")
    assert info.value.format() == (
        f"f.yaml:{where}: invalid YAML: control characters are not allowed (U+0007)"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]{}:,-&*!? \n\tab01'\"#|>%@`\x07")), max_size=80))
def test_any_text_gives_data_or_one_error(text):
    """Whatever the text, parsing gives data or a SpecError, quickly."""
    start = time.perf_counter()
    try:
        parse_yaml(text, "f.yaml")
    except SpecError as exc:
        assert "\n" not in exc.format()
    assert time.perf_counter() - start < 0.5


def test_syntax_error_points_at_the_problem():
    with pytest.raises(SpecError) as info:
        parse_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    assert info.value.message.startswith("invalid YAML")
    assert info.value.loc is not None and info.value.loc.file == "f.yaml"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("   \n# only a comment\n")
    with pytest.raises(SpecError, match="the file is empty"):
        read_yaml_file(path)


def test_non_utf8_bytes_are_located(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"archspec: 1\nname: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        read_yaml_file(path)
    assert info.value.format() == f"{path}:2:10: the file is not UTF-8 text (byte 0xe9)"


def test_missing_file_directory_and_size_limit(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        read_yaml_file(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        read_yaml_file(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" * 10)
    with pytest.raises(SpecError, match="more than the limit of 20"):
        read_yaml_file(big, max_bytes=20)


# --------------------------------------------------------------------------- parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("0.5", 0.5),
        ("[1, 2]", [1, 2]),
        ("{a: [1, {b: 2}]}", {"a": [1, {"b": 2}]}),
        ("relu", "relu"),
        ("2001-12-14", "2001-12-14"),
        ("", None),
        ("# only a comment", None),
    ],
)
def test_parse_value_gives_plain_data(text, value):
    parsed = parse_value(text, what="--set x")
    assert parsed == value
    assert type(parsed) in (type(value), type(None))


def test_parse_value_shares_nothing_with_positions():
    parsed = parse_value("a: &a [1, [2]]\nb: [*a, *a]\n", what="--set x")
    assert type(parsed) is dict and type(parsed["a"]) is list and type(parsed["a"][1]) is list


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!python/object/apply:os.system [true]", "YAML tags are not allowed"),
        ("a: 1\na: 2", "duplicate key (first given at line 1) (at line 2, column 1 of the value)"),
        ("99999999999999999999999", "the most archspec takes (at column 1 of the value)"),
        ("[" * 100 + "]" * 100, "nest deeper than 64 levels (at column 65 of the value)"),
        ("&a [*a]", "an endless document"),
        ("[1, 2", "invalid YAML"),
        ("1\n---\n2", "invalid YAML"),
        ("\udcff", "the value is not valid Unicode text"),
        ("x" * (1 << 20) + "y", "more than the limit of 1,048,576"),
    ],
)
def test_parse_value_obeys_the_limits_of_a_file(text, message):
    with pytest.raises(SpecError) as info:
        parse_value(text, what="--set x")
    assert info.value.path == "--set x" and info.value.loc is None
    assert message in info.value.message


def test_parse_value_refuses_an_alias_bomb():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    with pytest.raises(SpecError, match="more than the limit of 200,000"):
        parse_value("\n".join(lines), what="--set x")
    assert time.perf_counter() - start < 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_value_gives_plain_data_or_one_error(text):
    def plain(value):
        if isinstance(value, dict):
            return type(value) is dict and all(plain(v) for v in value.values())
        if isinstance(value, list):
            return type(value) is list and all(plain(v) for v in value)
        return value is None or isinstance(value, bool | int | float | str)

    try:
        value = parse_value(text, what="--set x")
    except SpecError as exc:
        assert exc.path == "--set x" and "\n" not in exc.format()
        return
    assert plain(value)
