"""The bundled specs by name: ``archspec build resnet50`` from any folder.

The specs and the JSON Schema ship inside the package (``archspec/specs``,
``archspec/schemas`` in a wheel); in a source checkout they are the repository's
top-level ``specs/`` and ``schemas/``. Both places are looked up here, so every other
module asks this one.

A name is a bundled file's stem (``resnet50``, ``efficientnet_b3``) or, for the
examples, ``examples/NAME``. A path that exists always wins over a name, so a local
``resnet50`` file or folder is never shadowed.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from archspec.errors import SpecError, did_you_mean, printable

_PACKAGE = Path(__file__).resolve().parent
#: what stands for standard input where a spec path is expected
STDIN = "-"
_SPEC_SUFFIXES = (".yaml", ".yml")


def _first_dir(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.is_dir()), None)


def specs_root() -> Path | None:
    """The folder of the bundled specs: in the package, else beside it in a checkout."""
    return _first_dir(_PACKAGE / "specs", _PACKAGE.parent / "specs")


def schema_file() -> Path | None:
    """The checked-in JSON Schema of spec files, where this installation has it."""
    folder = _first_dir(_PACKAGE / "schemas", _PACKAGE.parent / "schemas")
    if folder is None:
        return None
    path = folder / "archspec.schema.json"
    return path if path.is_file() else None


@functools.cache
def bundled() -> dict[str, Path]:
    """Every bundled spec by name: the top-level specs, then ``examples/NAME``.

    Block libraries (``lib/``) are not specs and have no name here.
    """
    root = specs_root()
    if root is None:
        return {}
    names = {p.stem: p for p in sorted(root.glob("*.yaml"))}
    names.update({f"examples/{p.stem}": p for p in sorted((root / "examples").glob("*.yaml"))})
    return names


def is_name(ref: str) -> bool:
    """Whether ``ref`` will be read as a bundled spec's name (no file of that name exists)."""
    return ref in bundled() and not os.path.lexists(ref)


def looks_like_spec(ref: str) -> bool:
    """Whether ``ref`` names a spec: a YAML path, ``-`` (stdin) or a bundled name."""
    return ref == STDIN or ref.endswith(_SPEC_SUFFIXES) or is_name(ref)


def resolve(ref: str | os.PathLike[str]) -> str:
    """The file to read for ``ref``: itself when it exists (or is ``-``), else the bundled spec.

    A missing path that is no bundled name either is one error line, with the closest
    bundled name when one is close (``resnet5`` -> ``resnet50``).
    """
    text = os.fspath(ref)
    if text == STDIN or os.path.lexists(text):
        return text
    names = bundled()
    if text in names:
        return str(names[text])
    if text.endswith(_SPEC_SUFFIXES) or os.sep in text.replace("examples/", "", 1):
        raise SpecError("no such file", file=printable(text))
    raise SpecError(
        "no such file, and no bundled spec has this name (`archspec list` shows them)",
        file=printable(text),
        hint=did_you_mean(text, names),
    )


def catalogue(names: list[str] | None = None) -> list[dict[str, Any]]:
    """What `archspec list` prints: each spec's model name, description, parameters and figures.

    Each spec is loaded and analysed with its defaults, without a framework. A spec that
    fails (an op plugin missing, say) is listed with its error rather than ending the list.
    """
    from archspec.analysis.stats import analyse
    from archspec.api import load

    entries = []
    chosen = bundled() if names is None else {n: bundled()[n] for n in names}
    for name, path in chosen.items():
        entry: dict[str, Any] = {"name": name, "file": _shown_file(path)}
        try:
            loaded = load(path)
            totals = analyse(loaded.graph()).totals
        except SpecError as exc:
            entry["error"] = exc.format()
            entries.append(entry)
            continue
        spec = loaded.spec
        entry.update(
            model=loaded.name,
            description=" ".join((spec.description or "").split()),
            params=[
                {
                    "name": pname,
                    "type": decl.type,
                    "default": loaded.params.get(pname),
                    "choices": decl.choices,
                    "doc": decl.doc,
                }
                for pname, decl in spec.params.items()
            ],
            layers=len(loaded.graph()),
            weights=totals.params,
            macs=totals.macs,
        )
        entries.append(entry)
    return entries


def _shown_file(path: Path) -> str:
    root = specs_root()
    try:
        return str(path.relative_to(root.parent)) if root else str(path)
    except ValueError:
        return str(path)
