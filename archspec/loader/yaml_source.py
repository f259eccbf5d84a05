"""YAML text to plain data that remembers where every value came from.

Plain scalars are read by the YAML 1.2 core schema, as editors and other YAML 1.2
tools read them: ``no``, ``on`` and ``y`` are text, ``010`` is ten, ``0o17`` and ``0x1F``
are octal and hexadecimal, ``1e-4`` is a number, and ``1_000``, ``1:30`` and dates are
text. The one addition is the merge key ``<<``, which YAML 1.2 tools commonly keep.

PyYAML's safe loader is used, never the full one: a spec is data and can never name
a Python object. Before a document is composed, one pass over the parser's events
bounds its shape: no tags, at most :data:`MAX_NESTING` levels of lists and mappings,
and at most :data:`MAX_DOCUMENT_NODES` nodes once aliases are expanded (a "billion
laughs" file is a few hundred bytes), so nothing recursive or large is built from
hostile text. While constructing, this module rejects duplicate keys (PyYAML silently
keeps the last) and integers wider than expressions allow, and records the line and
column of every mapping key and value and list item.

A file named by an import may be anything, so no message here quotes a document's
text, except the keys of one that presents itself as a spec (an ``archspec`` key).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from archspec.errors import Loc, SpecError
from archspec.loader.files import read_bounded
from archspec.spec.expr import MAX_INT_BITS, int_fits

#: Largest spec file read, in bytes.
MAX_FILE_BYTES = 1 << 20
#: Largest number of YAML nodes in a document once every alias is expanded; a spec and
#: the files it extends or imports share this budget.
MAX_DOCUMENT_NODES = 200_000
#: Deepest nesting of lists and mappings, counting what aliases stand for. The bundled
#: specs need 9; composing and constructing a document recurse once per level.
MAX_NESTING = 64


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


@dataclass
class NodeBudget:
    """YAML nodes, aliases expanded, that the documents of one load may still use."""

    limit: int = MAX_DOCUMENT_NODES
    used: int = 0

    def spend(self, size: int, loc: Loc | None) -> None:
        if self.used + size <= self.limit:
            self.used += size
            return
        if self.used:
            message = (
                f"the document expands to {size:,} YAML nodes; with the {self.used:,} of the "
                f"files read before it, that is more than the limit of {self.limit:,}"
            )
        else:
            message = (
                f"the document expands to {size:,} YAML nodes, more than the limit of "
                f"{self.limit:,} (are aliases nested too deep?)"
            )
        raise SpecError(message, loc=loc)


#: libyaml's parser where PyYAML was built with it (several times faster), else PyYAML's
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_events(text: str, file: str, budget: NodeBudget) -> bool:
    """Bound the document's shape from the parser's events alone, before it is composed.

    libyaml parses without recursion, but composing and constructing recurse once per
    level of nesting (a few thousand levels crash the C composer), and an alias lets a
    few bytes stand for a huge or endless document. So this pass refuses tags, nesting
    deeper than :data:`MAX_NESTING` (an alias counts as deep as what it names), an alias
    inside the collection it names, and more nodes than ``budget`` holds. It stops at the
    first level too deep, which keeps libyaml's own cost on deep text small.

    Returns whether the document is a mapping with an ``archspec`` key, that is, whether
    it presents itself as an archspec file whose keys messages may quote.
    """
    # anchor -> (nodes, levels) of what it names; None while its collection is still open
    anchors: dict[str, tuple[int, int] | None] = {}
    # one entry per open collection: [anchor, nodes, levels below it]
    stack: list[list[Any]] = [[None, 0, 0]]
    root: Any = None  # the first node's event
    root_entries = 0  # keys and values met directly in a root mapping
    declared = False
    loader = _BaseLoader(text)
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is _SCALAR or kind is _ALIAS or kind in _OPEN:
                root = root or event
                if len(stack) == 2 and type(root) is yaml.MappingStartEvent:
                    declared |= root_entries % 2 == 0 and getattr(event, "value", 0) == "archspec"
                    root_entries += 1
            if kind is _ALIAS:
                named = anchors.get(event.anchor, (1, 0))  # an unknown alias: the composer says so
                if named is None:
                    raise _shape_error(_ENDLESS, event, file)
                nodes, levels = named
                if len(stack) - 1 + levels > MAX_NESTING:
                    raise _shape_error(_TOO_DEEP + " once this alias is expanded", event, file)
            elif kind is _SCALAR or kind in _OPEN:
                if event.tag is not None:
                    raise _shape_error(_TAGS, event, file)
                if kind is not _SCALAR:
                    if len(stack) > MAX_NESTING:
                        raise _shape_error(_TOO_DEEP, event, file)
                    if event.anchor is not None:
                        anchors[event.anchor] = None
                    stack.append([event.anchor, 1, 0])
                    continue
                nodes, levels = 1, 0
                if event.anchor is not None:
                    anchors[event.anchor] = (nodes, levels)
            elif kind in _CLOSE:
                anchor, nodes, levels = stack.pop()
                levels += 1
                if anchor is not None:
                    anchors[anchor] = (nodes, levels)
            elif kind is yaml.DocumentEndEvent or kind is yaml.StreamEndEvent:
                break
            else:
                continue
            parent = stack[-1]
            parent[1] += nodes
            parent[2] = max(parent[2], levels)
    finally:
        loader.dispose()
    budget.spend(stack[0][1], _mark(file, root and root.start_mark))
    return declared


_ENDLESS = "this alias stands inside the list or mapping it names (an endless document)"
_TAGS = "YAML tags are not allowed (`!name`, `!!python/...`); specs are plain data"
_TOO_DEEP = f"lists and mappings nest deeper than {MAX_NESTING} levels"


def _shape_error(message: str, event: yaml.Event, file: str) -> SpecError:
    return SpecError(message, loc=_mark(file, event.start_mark))


#: the tags of YAML 1.2's core schema and the plain scalars that have them (spec 10.3.2),
#: with the merge key; a plain scalar that matches none is text
CORE_SCHEMA: tuple[tuple[str, str], ...] = (
    ("null", r"(?:null|Null|NULL|~|)"),
    ("bool", r"(?:true|True|TRUE|false|False|FALSE)"),
    ("int", r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"),
    (
        "float",
        r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))",
    ),
    ("merge", r"<<"),
)


def _core_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit resolvers (by first character) for :data:`CORE_SCHEMA`."""
    firsts = {
        "null": "nN~",
        "bool": "tTfF",
        "int": "-+0123456789",
        "float": "-+0123456789.",
        "merge": "<",
    }
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {"": []}
    for name, pattern in CORE_SCHEMA:
        entry = (f"tag:yaml.org,2002:{name}", re.compile(pattern + r"\Z"))
        for first in firsts[name]:
            table.setdefault(first, []).append(entry)
    table[""].append(table["n"][0])  # an empty plain scalar is null
    return table


def _core_int(text: str) -> int:
    """The value of a core-schema integer: ``-17``, ``010`` (ten), ``0o17``, ``0x1F``.

    Raises OverflowError when it has more digits than a number of :data:`MAX_INT_BITS`
    bits; digits are counted before anything is converted, so a literal of a million
    digits costs nothing.
    """
    if text.startswith("0o"):
        return _digits(text[2:], 8)
    if text.startswith("0x"):
        return _digits(text[2:], 16)
    sign = -1 if text.startswith("-") else 1
    return sign * _digits(text.lstrip("+-"), 10)


def _digits(text: str, base: int) -> int:
    significant = text.lstrip("0")
    if len(significant) > MAX_INT_BITS:
        raise OverflowError
    return int(significant or "0", base)


def _core_float(text: str) -> float:
    """The value of a core-schema float: ``1e-4``, ``.5``, ``-.inf``, ``.nan``."""
    body = text.lstrip("+-").lower()
    sign = -1.0 if text.startswith("-") else 1.0
    if body == ".inf":
        return sign * math.inf
    if body == ".nan":
        return math.nan
    return float(text)


class _PositionLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that builds PosDict/PosList and refuses duplicate keys."""

    file_name = "<string>"
    #: whether messages may quote keys: only once the text presents itself as a spec
    quote_keys = False
    yaml_implicit_resolvers = _core_resolvers()

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
                shown = f" `{key}`" if self.quote_keys else ""
                raise SpecError(
                    f"duplicate key{shown} (first given at line {first.line + 1})",
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

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
        try:
            value: int | None = _core_int(self.construct_scalar(node))
        except OverflowError:
            value = None
        if value is None or not int_fits(value):
            raise SpecError(
                f"this whole number does not fit in {MAX_INT_BITS} bits, the most archspec takes",
                loc=_mark(self.file_name, node.start_mark),
            )
        return value

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:  # type: ignore[override]
        return _core_float(self.construct_scalar(node))

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
_PositionLoader.add_constructor("tag:yaml.org,2002:int", _PositionLoader.construct_yaml_int)
_PositionLoader.add_constructor("tag:yaml.org,2002:float", _PositionLoader.construct_yaml_float)
# `<<` merges only as a key (flatten_mapping); as a value it is text, as YAML 1.2 reads it
_PositionLoader.add_constructor("tag:yaml.org,2002:merge", _PositionLoader.construct_scalar)


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> SpecError:
    if isinstance(exc, yaml.reader.ReaderError):
        return _reader_error(exc, file, text)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
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


def _reader_error(exc: yaml.reader.ReaderError, file: str, text: str) -> SpecError:
    """A character YAML does not accept (a control character), at its line and column.

    The reader stops at the first such character, so its first occurrence is where it
    stands (libyaml reports a byte offset, PyYAML a character index).
    """
    code = exc.character if isinstance(exc.character, int) else None
    at = max(text.find(chr(code)), 0) if code is not None else 0
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    shown = f" (U+{code:04X})" if code is not None else ""
    return SpecError(f"invalid YAML: {exc.reason}{shown}", loc=Loc(file, line, col), file=file)


_EMPTY = object()


def _load(text: str, file: str, budget: NodeBudget) -> Any:
    """The document in ``text``, or ``_EMPTY`` when there is none; any fault is a SpecError."""
    try:
        declared = _check_events(text, file, budget)
        loader = _PositionLoader(text)
        loader.file_name = file
        loader.quote_keys = declared
        try:
            node = loader.get_single_node()
            return _EMPTY if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    except UnicodeEncodeError:  # a lone surrogate, from text that did not come from a file
        raise SpecError("the text is not valid Unicode", file=file) from None


def parse_yaml(text: str, file: str = "<string>", *, budget: NodeBudget | None = None) -> Any:
    """Parse one YAML document into PosDict/PosList/scalars, raising SpecError on any fault.

    ``budget`` is shared by the documents of one load (a spec and the files it includes);
    by default the document has the whole of :data:`MAX_DOCUMENT_NODES` to itself.
    """
    data = _load(text, file, budget or NodeBudget())
    if data is _EMPTY:
        raise SpecError("the file is empty; a spec starts with `archspec: 1`", file=file)
    return data


def parse_value(text: str, *, what: str) -> Any:
    """A YAML value given outside any file (``--set NAME=VALUE``), under a spec file's limits.

    The same bounds apply as to a spec file (size, alias expansion, nesting, 64-bit
    integers, duplicate keys, no tags), so a value cannot do what a file may not. The
    result is plain data: dicts, lists and scalars; empty text is null, as in YAML.
    Errors are SpecErrors whose path is ``what`` (``--set classes``), with the line and
    column inside the value in the message.
    """
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise SpecError("the value is not valid Unicode text", path=what) from None
    if size > MAX_FILE_BYTES:
        raise SpecError(
            f"the value is {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}", path=what
        )
    try:
        data = _load(text, what, NodeBudget())
    except SpecError as exc:
        message = exc.message
        if exc.loc is not None:
            where = f"line {exc.loc.line}, " if "\n" in text else ""
            message += f" (at {where}column {exc.loc.col} of the value)"
        raise SpecError(message, path=what, hint=exc.hint) from None
    return None if data is _EMPTY else _plain(data, {})


def _plain(data: Any, done: dict[int, Any]) -> Any:
    """PosDict/PosList as plain dicts and lists; a value an alias shares is converted once."""
    if not isinstance(data, dict | list):
        return data
    key = id(data)
    if key not in done:
        if isinstance(data, dict):
            done[key] = {k: _plain(v, done) for k, v in data.items()}
        else:
            done[key] = [_plain(v, done) for v in data]
    return done[key]


def read_yaml_file(
    path: str | Path, *, max_bytes: int = MAX_FILE_BYTES, budget: NodeBudget | None = None
) -> Any:
    """Read and parse a spec file; any failure (missing, not text, too big) is a SpecError."""
    return read_yaml_bytes(read_bounded(path, max_bytes), str(path), budget=budget)


def read_yaml_bytes(raw: bytes, file: str, *, budget: NodeBudget | None = None) -> Any:
    """Parse a spec's bytes (a file's, or standard input's); ``file`` names it in errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})", loc=Loc(file, line, col)
        ) from None
    return parse_yaml(text, file, budget=budget)
