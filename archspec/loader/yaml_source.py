"""YAML text to plain data that remembers where every value came from.

PyYAML's safe loader is used, never the full one: a spec is data and can never name
a Python object. On top of it this module rejects duplicate keys (PyYAML silently
keeps the last), bounds the file size and the size of the document once aliases are
expanded (a "billion laughs" file is a few hundred bytes), and records the line and
column of every mapping key and value and of every list item.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from archspec.errors import Loc, SpecError

#: Largest spec file read, in bytes.
MAX_FILE_BYTES = 1 << 20
#: Largest number of YAML nodes in a document once every alias is expanded.
MAX_DOCUMENT_NODES = 200_000


class PosDict(dict):
    """A mapping from YAML that knows its own position and those of its keys and values."""

    loc: Loc | None
    key_locs: dict[Any, Loc]
    value_locs: dict[Any, Loc]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loc = None
        self.key_locs = {}
        self.value_locs = {}

    def loc_of(self, key: Any) -> Loc | None:
        return self.value_locs.get(key) or self.key_locs.get(key) or self.loc

    def copy(self) -> PosDict:
        """A shallow copy that keeps every position."""
        out = PosDict(self)
        out.loc, out.key_locs, out.value_locs = self.loc, dict(self.key_locs), dict(self.value_locs)
        return out

    def put(self, key: Any, source: PosDict) -> None:
        """Set ``key`` to ``source[key]``, taking its positions along."""
        self[key] = source[key]
        self.key_locs[key] = source.key_locs.get(key)
        self.value_locs[key] = source.value_locs.get(key)


class PosList(list):
    """A sequence from YAML that knows its own position and that of each item."""

    loc: Loc | None
    item_locs: list[Loc]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.loc = None
        self.item_locs = []

    def loc_of(self, index: Any) -> Loc | None:
        if isinstance(index, int) and 0 <= index < len(self.item_locs):
            return self.item_locs[index]
        return self.loc


def loc_of(data: Any, key: Any = None) -> Loc | None:
    """Position of ``data[key]`` (or of ``data`` itself) when the loader recorded one."""
    if isinstance(data, PosDict | PosList):
        return data.loc if key is None else data.loc_of(key)
    return None


def locate(root: Any, path: tuple[Any, ...]) -> Loc | None:
    """The position of the deepest value along ``path`` that the loader recorded."""
    best = loc_of(root)
    node = root
    for key in path:
        here = None
        if (isinstance(node, PosDict) and key in node) or (
            isinstance(node, PosList) and isinstance(key, int) and 0 <= key < len(node)
        ):
            here = node.loc_of(key)
            node = node[key]
        else:
            break
        best = here or best
    return best


def _mark(file: str, mark: yaml.Mark | None) -> Loc | None:
    if mark is None:
        return None
    return Loc(file, mark.line + 1, mark.column + 1)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Number of nodes ``node`` stands for once aliases are expanded (memoised, so fast)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once instead of looping
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, memo)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo) + _expanded_size(v, memo)
    memo[key] = total
    return total


#: libyaml's parser where PyYAML was built with it (several times faster), else PyYAML's
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PositionLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that builds PosDict/PosList and refuses duplicate keys."""

    file_name = "<string>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> PosDict:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise SpecError(
                    "a mapping key must be a plain value, not a list or mapping",
                    loc=_mark(self.file_name, key_node.start_mark),
                ) from None
            if key in seen:
                first = seen[key].start_mark
                raise SpecError(
                    f"duplicate key `{key}` (first given at line {first.line + 1})",
                    loc=_mark(self.file_name, key_node.start_mark),
                )
            seen[key] = key_node
        self.flatten_mapping(node)
        result = PosDict()
        result.loc = _mark(self.file_name, node.start_mark)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            result[key] = self.construct_object(value_node, deep=deep)
            result.key_locs[key] = _mark(self.file_name, key_node.start_mark)
            result.value_locs[key] = _mark(self.file_name, value_node.start_mark)
        return result

    def construct_yaml_map(self, node: yaml.MappingNode):  # type: ignore[override]
        data = PosDict()
        yield data
        built = self.construct_mapping(node, deep=True)
        data.update(built)
        data.loc, data.key_locs, data.value_locs = built.loc, built.key_locs, built.value_locs

    def construct_yaml_seq(self, node: yaml.SequenceNode):  # type: ignore[override]
        data = PosList()
        yield data
        data.extend(self.construct_sequence(node, deep=True))
        data.loc = _mark(self.file_name, node.start_mark)
        data.item_locs = [_mark(self.file_name, child.start_mark) for child in node.value]


_PositionLoader.add_constructor("tag:yaml.org,2002:map", _PositionLoader.construct_yaml_map)
_PositionLoader.add_constructor("tag:yaml.org,2002:seq", _PositionLoader.construct_yaml_seq)


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if isinstance(exc, yaml.constructor.ConstructorError) and "could not determine" in str(problem):
        problem = f"{problem}; specs are plain data and YAML tags are not allowed"
    message = f"invalid YAML: {problem}"
    if context and "while" not in context:
        message += f" ({context})"
    hint = None
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and 0 <= mark.line < len(lines) else ""
    if "$" in line and any(c in str(problem) for c in ",}]"):
        hint = (
            "inside `{...}` or `[...]`, quote expressions that use brackets or commas: "
            '`kernel_size: "$sizes[0]"`'
        )
    elif "\t" in line:
        hint = "YAML does not allow tabs for indentation; use spaces"
    elif "expected key" in str(problem) or "block end" in str(problem):
        hint = "check this line's indentation against the lines above it"
    elif "mapping values are not allowed" in str(problem):
        hint = "a `key: value` stands where a plain value was expected; check the indentation"
    return SpecError(message, loc=_mark(file, mark), file=file, hint=hint)


def parse_yaml(text: str, file: str = "<string>", *, max_nodes: int = MAX_DOCUMENT_NODES) -> Any:
    """Parse one YAML document into PosDict/PosList/scalars, raising SpecError on any fault."""
    loader = _PositionLoader(text)
    loader.file_name = file
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError("the file is empty; a spec starts with `archspec: 1`", file=file)
        size = _expanded_size(node, {})
        if size > max_nodes:
            raise SpecError(
                f"the document expands to {size:,} YAML nodes, more than the limit of "
                f"{max_nodes:,} (are aliases nested too deep?)",
                loc=_mark(file, node.start_mark),
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Read and parse a spec file; any failure (missing, not text, too big) is a SpecError."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise SpecError("no such file", file=file)
    if p.is_dir():
        raise SpecError("is a directory, not a spec file", file=file)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise SpecError(
                f"the file is {size:,} bytes, more than the limit of {max_bytes:,}", file=file
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})", loc=Loc(file, line, col)
        ) from None
    return parse_yaml(text, file)
