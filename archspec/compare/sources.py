"""What `archspec diff` compares: a spec file, a Keras model file or a Python import path.

Only a Keras model (a `.keras` file, a legacy `.h5` model file or an import path such
as `keras.applications.ResNet50`) imports Keras; two specs are compared without it. Any
of them may come from anyone: a model file is read as data (its config is checked
before Keras builds it, see :mod:`archspec.compare.model_file` and
:mod:`archspec.compare.legacy_h5`), and an import path
runs only keras.applications' model functions unless ``allow_import`` is given (see
:mod:`archspec.compare.import_path`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archspec.errors import SpecError, printable
from archspec.ir.graph import Graph

_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*[.:][A-Za-z_]\w*$")
#: model files archspec does not read, so `model.onnx` is not taken for an import path
_FILE_SUFFIXES = frozenset({".onnx", ".pb", ".pt", ".pth", ".tflite", ".json"})


def is_spec(ref: str) -> bool:
    """A spec file, ``-`` (standard input) or a bundled spec's name (``resnet50``)."""
    from archspec.zoo import looks_like_spec

    return looks_like_spec(ref)


def load_graph(
    ref: str,
    overrides: Mapping[str, Any] | None = None,
    node_limit: int | None = None,
    *,
    allow_import: bool = False,
    include_roots: Sequence[str | Path] = (),
) -> tuple[Graph, str]:
    """The IR graph of ``ref`` and a label for it.

    ``allow_import`` lets an import path name any module, model class or function
    (``--allow-import``); without it, only keras.applications' model functions run.
    ``include_roots`` widens where a spec's ``imports`` and ``extends`` may reach.
    """
    from archspec.expand.expander import DEFAULT_NODE_LIMIT

    limit = node_limit or DEFAULT_NODE_LIMIT
    if is_spec(ref):
        from archspec.api import load

        spec = load(ref, overrides, node_limit=limit, include_roots=include_roots)
        return spec.graph(), f"{spec.name} ({ref})"
    if overrides:
        raise SpecError("`--set` applies to specs only", file=printable(ref))
    if ref.endswith(".keras"):
        return _from_model_file(ref, limit)
    from archspec.compare.legacy_h5 import SUFFIXES as H5_SUFFIXES

    if ref.endswith(H5_SUFFIXES):
        from archspec.compare.legacy_h5 import load_model

        model = load_model(ref, limit)
        return _import(model, ref), f"{model.name} ({ref})"
    looks_like_file = "/" in ref or Path(ref).exists() or Path(ref).suffix in _FILE_SUFFIXES
    if _IMPORT_PATH.match(ref) and not looks_like_file:
        from archspec.compare.import_path import model_from_path

        model = model_from_path(ref, allow_import=allow_import)
        return _import(model, ref), f"{model.name} ({ref})"
    raise SpecError(
        "not a spec (.yaml, or a bundled spec's name such as resnet50), a Keras model "
        "file (.keras, or a legacy .h5) or an import path such as "
        "keras.applications.ResNet50",
        file=printable(ref),
    )


def _from_model_file(ref: str, node_limit: int) -> tuple[Graph, str]:
    from archspec.compare.model_file import load_checked

    model = load_checked(ref, node_limit)
    return _import(model, ref), f"{model.name} ({ref})"


def _import(model: Any, ref: str) -> Graph:
    """``model`` as IR; an error about one of its layers names ``ref`` as its file."""
    from archspec.compare.keras_import import to_ir

    try:
        return to_ir(model)
    except SpecError as exc:
        exc.file = exc.file or printable(ref)
        raise
