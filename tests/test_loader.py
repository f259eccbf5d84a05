"""YAML loading: positions, duplicate keys, tags, bombs, sizes, encodings."""

from __future__ import annotations

import pytest

from archspec.errors import SpecError
from archspec.loader.yaml_source import locate, parse_yaml, read_yaml_file


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
        parse_yaml("name: a\nlayers: []\nname: b\n", "f.yaml")
    assert info.value.format() == "f.yaml:3:1: duplicate key `name` (first given at line 1)"


def test_python_object_tags_are_refused():
    with pytest.raises(SpecError) as info:
        parse_yaml("a: !!python/object/apply:os.system ['echo hacked']\n", "f.yaml")
    assert "YAML tags are not allowed" in info.value.message
    assert info.value.loc.line == 1


def test_alias_bomb_is_refused_before_expansion():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(SpecError) as info:
        parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert "expands to" in info.value.message


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
