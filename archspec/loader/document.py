"""Spec files to one validated :class:`Spec`: following ``extends`` and ``imports``.

A variant file names its base with ``extends``; its keys replace the base's, except
``params`` and ``blocks``, which are merged name by name, so a variant only says what
differs (``params: {depths: [3, 4, 23, 3]}``). ``imports`` pulls blocks from block
library files. Paths are relative to the file that names them. Every merged value
keeps the position of the file it came from, so errors point at the right file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from archspec.errors import SpecError, did_you_mean
from archspec.loader.yaml_source import PosDict, PosList, loc_of, locate, read_yaml_file
from archspec.spec.models import BlockLibrary, Spec

MAX_INCLUDE_DEPTH = 16


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
    return SpecError(message, loc=loc, path=format_path(path) or None, hint=hint)


def _walk(raw: Any, path: tuple[Any, ...]) -> Any:
    node = raw
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _allowed_fields(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Field names allowed in the mapping at ``path`` (best effort, for hints only)."""
    from archspec.spec import models as m

    by_key: dict[str, type[BaseModel]] = {
        "stages": m.StagesDef,
        "blocks": m.BlockDef,
        "params": m.ParamDecl,
        "graph": m.Branch,
    }
    current: type[BaseModel] | None = model
    for i, key in enumerate(path):
        if isinstance(key, int):
            continue
        if key in by_key:
            current = by_key[key]
            if key in ("blocks", "params", "graph") and i + 1 < len(path):
                continue
        else:
            current = current if i == len(path) - 1 else None
    if current is None or (path and path[-1] in ("blocks", "params", "graph")):
        return []
    names = []
    for name, field in current.model_fields.items():
        if name in ("kind", "call", "args"):
            continue
        names.append(field.alias or name)
    return names


def _check_mapping(raw: Any, file: str, what: str) -> PosDict:
    if not isinstance(raw, PosDict):
        kind = "a list" if isinstance(raw, PosList) else f"the plain value `{raw}`"
        raise SpecError(
            f"{what} must be a YAML mapping (`archspec: 1`, `name: ...`, ...), not {kind}",
            loc=loc_of(raw),
            file=file,
        )
    if "archspec" not in raw:
        raise SpecError(
            "missing `archspec: 1` (the format version) at the top of the file",
            loc=raw.loc,
            file=file,
        )
    if raw["archspec"] != 1:
        raise SpecError(
            f"unsupported format version {raw['archspec']!r}; this archspec reads `archspec: 1`",
            loc=raw.loc_of("archspec"),
            path="archspec",
        )
    return raw


def _relative(
    base_file: Path, target: Any, raw: PosDict, key: Any, index: int | None, stack: tuple[Path, ...]
) -> Path:
    """The file ``target`` names, relative to ``base_file``; missing files and cycles are errors."""
    container = raw[key]
    where = container.loc_of(index) if isinstance(container, PosList) else raw.loc_of(key)
    path_text = f"{key}[{index}]" if index is not None else str(key)
    if not isinstance(target, str) or not target:
        raise SpecError("expected a file path", loc=where, path=path_text)
    path = (base_file.parent / target).resolve()
    if not path.is_file():
        raise SpecError(f"`{target}` does not exist (looked for {path})", loc=where, path=path_text)
    if path in stack:
        chain = " -> ".join(p.name for p in (*stack, path))
        raise SpecError(f"files include each other in a cycle: {chain}", loc=where, path=path_text)
    return path


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
    """Follows ``extends`` and ``imports`` for one load, reading each library once."""

    def __init__(self) -> None:
        self.libraries: dict[Path, PosDict] = {}

    def resolve(self, path: Path, stack: tuple[Path, ...], *, library: bool = False) -> PosDict:
        if library and path in self.libraries:
            return self.libraries[path]
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise SpecError(
                f"`extends`/`imports` nest deeper than {MAX_INCLUDE_DEPTH}", file=str(path)
            )
        shown = _display(path)
        what = "a block library" if library else "a spec"
        raw = _check_mapping(read_yaml_file(shown), shown, what)
        stack = (*stack, path)
        raw = self._with_imports(raw, path, stack)
        if library:
            _validate(raw, BlockLibrary)
            self.libraries[path] = raw
            return raw
        if "extends" in raw:
            base_path = _relative(path, raw["extends"], raw, "extends", None, stack)
            raw = _extend(self.resolve(base_path, stack), raw)
        return raw

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
        for i, target in enumerate(imports):
            lib_path = _relative(file, target, raw, "imports", i, stack)
            blocks = self.resolve(lib_path, stack, library=True).get("blocks")
            if isinstance(blocks, PosDict):
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


def load_raw(path: str | Path) -> PosDict:
    """Read a spec and everything it extends or imports into one raw document."""
    p = Path(path)
    if not p.exists() or p.is_dir():
        read_yaml_file(p)  # raises the precise error
    return _Resolver().resolve(p.resolve(), ())


def load_spec(path: str | Path) -> tuple[Spec, PosDict]:
    """Read and validate a spec file; returns the model and the raw document (for positions)."""
    raw = load_raw(path)
    return _validate(raw, Spec), raw
