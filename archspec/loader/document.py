"""Spec files to one validated :class:`Spec`: following ``extends`` and ``imports``.

A variant file names its base with ``extends``; its keys replace the base's, except
``params`` and ``blocks``, which are merged name by name, so a variant only says what
differs (``params: {depths: [3, 4, 23, 3]}``). ``imports`` pulls blocks from block
library files. Paths are relative to the file that names them. Every merged value
keeps the position of the file it came from, so errors point at the right file.

A spec may come from anyone, so what it can include is confined: relative paths only,
inside the folder of the spec named by the user, archspec's bundled spec folder, or a
folder the caller allows (``include_roots``), with symbolic links resolved before the
check. Until a file shows itself to be an archspec file, no message quotes its text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from archspec.errors import Loc, SpecError, did_you_mean, yaml11_hint
from archspec.loader.files import STDIN_NAME, path_problem, read_stdin
from archspec.loader.yaml_source import (
    MAX_FILE_BYTES,
    NodeBudget,
    PosDict,
    PosList,
    loc_of,
    locate,
    read_yaml_bytes,
    read_yaml_file,
)
from archspec.spec.models import BlockLibrary, Spec
from archspec.zoo import STDIN, bundled, specs_root

MAX_INCLUDE_DEPTH = 16
#: most files one load reads: the spec, its bases and its block libraries
MAX_INCLUDED_FILES = 64
#: archspec's own specs (in the package, or ``specs/`` beside it in a checkout), which any
#: spec may include
BUNDLED_SPECS = specs_root()
_OUTSIDE_HINT = (
    "`imports` and `extends` stay within the spec's folder, archspec's bundled specs and "
    "folders allowed with --include-root"
)
#: what each kind of file is, and how one starts
_FILE_KINDS = {
    False: ("a spec", "`archspec: 1`, `name: ...`, ..."),
    True: ("a block library", "`archspec: 1`, `blocks: ...`"),
}


def format_path(path: tuple[Any, ...]) -> str:
    """``('layers', 2, 'stages')`` -> ``layers[2].stages``."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += ("." if out else "") + str(key)
    return out


def _is_path_key(key: Any) -> bool:
    # pydantic puts union member and validator tags into error locations; they are
    # not keys of the document
    return isinstance(key, int) or (
        isinstance(key, str)
        and not any(c in key for c in "[](),")
        and key not in ("function-wrap", "function-after", "function-before", "str", "int")
    )


def _alias(key: Any) -> Any:
    return {"if_": "if", "else_": "else", "from_": "from"}.get(key, key)


def first_error(exc: ValidationError) -> Any:
    """The most telling error: an unknown key (a typo) explains a missing one, not vice versa."""
    errors = exc.errors(include_url=False)
    return min(errors, key=lambda e: 0 if e["type"] == "extra_forbidden" else 1)


def validation_error(exc: ValidationError, raw: Any, model: type[BaseModel]) -> SpecError:
    """The first pydantic error as a SpecError at the position it concerns."""
    err = first_error(exc)
    path = tuple(_alias(k) for k in err["loc"] if _is_path_key(k))
    loc = locate(raw, path)
    message = err["msg"].removeprefix("Value error, ")
    hint = None
    if err["type"] == "extra_forbidden":
        key = path[-1] if path else "?"
        message = f"unknown field `{key}`"
        parent = _walk(raw, path[:-1])
        allowed = _allowed_fields(model, path[:-1])
        if allowed:
            hint = did_you_mean(str(key), allowed)
            if hint is None:
                hint = "allowed here: " + ", ".join(f"`{a}`" for a in sorted(allowed))
        if isinstance(parent, PosDict):
            loc = parent.key_locs.get(key, loc)
    elif err["type"] == "missing":
        message = f"missing required field `{path[-1]}`" if path else "missing field"
        path = path[:-1]
        loc = locate(raw, path)
    else:
        hint = yaml11_hint(err)
    return SpecError(message, loc=loc, path=format_path(path) or None, hint=hint)


def _walk(raw: Any, path: tuple[Any, ...]) -> Any:
    node = raw
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


#: keys whose mapping holds named entries (each entry's fields are one model's)
_NAMED = ("blocks", "params", "graph", "inputs")


def _allowed_fields(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Field names allowed in the mapping at ``path`` (best effort, for hints only)."""
    from archspec.spec import models as m

    by_key: dict[str, type[BaseModel]] = {
        "stages": m.StagesDef,
        "blocks": m.BlockDef,
        "params": m.ParamDecl,
        "graph": m.Branch,
        "input": m.InputDef,
        "inputs": m.InputDef,
    }
    current: type[BaseModel] | None = model
    for i, key in enumerate(path):
        if isinstance(key, int):
            continue
        if key in by_key:
            current = by_key[key]
            if key in _NAMED and i + 1 < len(path):
                continue
        else:
            current = current if i == len(path) - 1 else None
    if current is None or (path and path[-1] in _NAMED):
        return []
    names = []
    for name, field in current.model_fields.items():
        if name in ("kind", "call", "args"):
            continue
        names.append(field.alias or name)
    return names


def _kind(value: Any) -> str:
    """What sort of YAML value ``value`` is, in words that never quote it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number other than 1"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "empty"


def _check_mapping(raw: Any, file: str, *, library: bool) -> PosDict:
    """``raw`` when it is an archspec file: a mapping with ``archspec: 1``.

    Until this holds, a file may be anything an import names (a key, a password file),
    so these messages say what the file is and never quote what it holds.
    """
    if not isinstance(raw, PosDict):
        what, start = _FILE_KINDS[library]
        kind = "a list" if isinstance(raw, PosList) else "a single plain value"
        raise SpecError(
            f"{what} must be a YAML mapping ({start}), not {kind}",
            loc=loc_of(raw),
            file=file,
        )
    if "archspec" not in raw:
        raise SpecError(
            "missing `archspec: 1` (the format version) at the top of the file",
            loc=raw.loc,
            file=file,
        )
    version = raw["archspec"]
    if type(version) is not int or version != 1:  # `true` and `1.0` equal 1 in Python
        raise SpecError(
            f"unsupported format version ({_kind(version)}); this archspec reads `archspec: 1`",
            loc=raw.loc_of("archspec"),
            path="archspec",
        )
    return raw


def _real(path: str | Path) -> Path:
    """``path`` made absolute with every symbolic link resolved (as far as they resolve)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


def _shown(text: str) -> str:
    """A path from a spec, fit to be quoted on one line (control characters escaped)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _include_roots(spec: str | Path, extra: Sequence[str | Path] = ()) -> tuple[Path, ...]:
    """The folders ``imports`` and ``extends`` may reach when loading ``spec``.

    The folder of the spec as named and of the file it resolves to (the same unless the
    spec is a symbolic link), with their subfolders; archspec's bundled spec folder, when
    there is one; and the caller's ``extra`` folders. All are resolved, so a link inside
    a root that points out of it leads out of it.
    """
    named = Path(os.path.abspath(spec))
    roots = [_real(named.parent), _real(named).parent]
    if BUNDLED_SPECS is not None:
        roots.append(_real(BUNDLED_SPECS))
    roots.extend(_real(folder) for folder in extra)
    return tuple(dict.fromkeys(roots))


def _check_no_clash(known: PosDict | None, blocks: PosDict, where: Loc | None, path: str) -> None:
    """Two imports may not define the same block: which one a call meant would be a guess.

    A block both reach through a library they share is one definition, not a clash.
    """
    if not isinstance(known, PosDict):
        return
    for name in blocks:
        if name in known and known[name] is not blocks[name]:
            first, second = known.key_locs.get(name), blocks.key_locs.get(name)
            raise SpecError(
                f"block `{name}` is defined both in {_where(first)} and in {_where(second)}; "
                "rename one of them or import only one of the files",
                loc=where,
                path=path,
            )


def _where(loc: Loc | None) -> str:
    return f"`{loc.file}` (line {loc.line})" if loc is not None else "another import"


def _merge_named(into: PosDict, key: str, entries: PosDict) -> None:
    """Add the named entries (blocks) of ``entries`` to ``into[key]``, with their positions."""
    target = into.get(key)
    if not isinstance(target, PosDict):
        target = PosDict()
        target.loc = entries.loc
        into[key] = target
    for name in entries:
        target.put(name, entries)


class _Resolver:
    """Follows ``extends`` and ``imports`` for one load, reading each library once.

    The files of one load share one budget of YAML nodes and may number at most
    :data:`MAX_INCLUDED_FILES`, so a spec cannot multiply its size through includes.
    """

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self.libraries: dict[Path, PosDict] = {}
        self.budget = NodeBudget()
        self.files_read = 0

    def resolve(
        self,
        path: Path,
        stack: tuple[Path, ...],
        *,
        library: bool = False,
        source: bytes | None = None,
    ) -> PosDict:
        """The document at ``path`` with its bases and imports merged in.

        ``source`` is the text of a spec that has no file (one read from standard input);
        ``path`` is then where it stands for include purposes: in the current folder.
        """
        if library and path in self.libraries:
            return self.libraries[path]
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise SpecError(
                f"`extends`/`imports` nest deeper than {MAX_INCLUDE_DEPTH}", file=str(path)
            )
        self.files_read += 1
        if self.files_read > MAX_INCLUDED_FILES:
            raise SpecError(
                f"a spec, its bases and block libraries may be at most {MAX_INCLUDED_FILES} "
                "files; this one would be more",
                file=_display(path),
            )
        if source is None:
            shown = _display(path)
            document = read_yaml_file(shown, budget=self.budget)
        else:
            shown = STDIN_NAME
            document = read_yaml_bytes(source, shown, budget=self.budget)
        raw = _check_mapping(document, shown, library=library)
        stack = (*stack, path)
        raw = self._with_imports(raw, path, stack)
        if library:
            _validate(raw, BlockLibrary)
            self.libraries[path] = raw
            return raw
        if "extends" in raw:
            base_path = self._included(path, raw, "extends", None, stack)
            raw = _extend(self.resolve(base_path, stack), raw)
        return raw

    def _included(
        self, base_file: Path, raw: PosDict, key: str, index: int | None, stack: tuple[Path, ...]
    ) -> Path:
        """The file ``raw[key]`` (or ``raw[key][index]``) names, relative to ``base_file``.

        It must stay inside the roots once links are resolved, be a regular file, and not
        include itself. Confinement is checked first, so nothing is said about what lies
        outside the roots, not even whether it exists.
        """
        container = raw[key]
        target = container[index] if index is not None else container
        where = container.loc_of(index) if isinstance(container, PosList) else raw.loc_of(key)
        path_text = f"{key}[{index}]" if index is not None else key

        def refuse(message: str, hint: str | None = None) -> SpecError:
            return SpecError(message, loc=where, path=path_text, hint=hint)

        if not isinstance(target, str) or not target:
            raise refuse("expected a file path")
        if Path(target).is_absolute():
            raise refuse(
                f"`{_shown(target)}` is an absolute path; give it relative to this file",
                _OUTSIDE_HINT,
            )
        candidate = base_file.parent / target
        if key == "extends" and not os.path.lexists(candidate) and target in bundled():
            # `extends: resnet50`: a bundled spec by name, as on the command line
            candidate = bundled()[target]
        path = _real(candidate)
        if not any(path.is_relative_to(root) for root in self.roots):
            raise refuse(
                f"`{_shown(target)}` is outside the folders a spec may include from",
                _OUTSIDE_HINT,
            )
        problem = path_problem(candidate, kind="a spec file")
        if problem is not None:
            raise refuse(f"`{_shown(target)}` {problem}")
        if not path.exists():
            raise refuse(f"`{_shown(target)}` does not exist (looked for {path})")
        if path in stack:
            chain = " -> ".join(p.name for p in (*stack, path))
            raise refuse(f"files include each other in a cycle: {chain}")
        return path

    def _with_imports(self, raw: PosDict, file: Path, stack: tuple[Path, ...]) -> PosDict:
        imports = raw.get("imports")
        if imports is None:
            return raw
        if not isinstance(imports, PosList):
            raise SpecError(
                "`imports` is a list of block library files",
                loc=raw.loc_of("imports"),
                path="imports",
            )
        imported = PosDict()
        for i in range(len(imports)):
            lib_path = self._included(file, raw, "imports", i, stack)
            blocks = self.resolve(lib_path, stack, library=True).get("blocks")
            if isinstance(blocks, PosDict):
                _check_no_clash(imported.get("blocks"), blocks, imports.loc_of(i), f"imports[{i}]")
                _merge_named(imported, "blocks", blocks)
        own = raw.get("blocks")
        if isinstance(own, PosDict):
            for name in own:
                if name in imported.get("blocks", {}):
                    raise SpecError(
                        f"block `{name}` is defined here and also imported; rename one of them",
                        loc=own.key_locs.get(name),
                        path=f"blocks.{name}",
                    )
            _merge_named(imported, "blocks", own)
        merged = raw.copy()
        if "blocks" in imported:
            merged["blocks"] = imported["blocks"]
            merged.value_locs.setdefault("blocks", imported["blocks"].loc)
        del merged["imports"]
        return merged


def _extend(base: PosDict, child: PosDict) -> PosDict:
    """``child`` over ``base``: its keys replace the base's; params and blocks merge by name."""
    merged = base.copy()
    merged.loc = child.loc
    for key, value in child.items():
        if key == "extends":
            continue
        base_value = base.get(key)
        if key in ("params", "blocks") and isinstance(value, PosDict):
            combined = base_value.copy() if isinstance(base_value, PosDict) else PosDict()
            combined.loc = value.loc
            for name in value:
                combined.put(name, value)
            merged[key] = combined
            merged.key_locs[key] = child.key_locs.get(key)
            merged.value_locs[key] = child.value_locs.get(key)
        else:
            merged.put(key, child)
    return merged


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _validate(raw: PosDict, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, raw, model) from None


def load_raw(path: str | Path, *, include_roots: Sequence[str | Path] = ()) -> PosDict:
    """Read a spec and everything it extends or imports into one raw document.

    ``include_roots`` are folders, besides the spec's own and archspec's bundled specs,
    that ``imports`` and ``extends`` may reach (``--include-root``).
    """
    file = os.fspath(path)
    if file == STDIN:
        source = read_stdin(MAX_FILE_BYTES)
        here = Path.cwd() / STDIN_NAME  # imports and extends are relative to the current folder
        resolver = _Resolver(_include_roots(here, include_roots))
        return resolver.resolve(here, (), source=source)
    problem = path_problem(file, kind="a spec file")
    if problem is not None:
        raise SpecError(problem, file=file)
    if not os.path.exists(file):
        raise SpecError("no such file", file=file)
    resolver = _Resolver(_include_roots(file, include_roots))
    return resolver.resolve(_real(file), ())


def load_spec(
    path: str | Path, *, include_roots: Sequence[str | Path] = ()
) -> tuple[Spec, PosDict]:
    """Read and validate a spec file; returns the model and the raw document (for positions)."""
    raw = load_raw(path, include_roots=include_roots)
    return _validate(raw, Spec), raw
