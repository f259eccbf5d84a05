"""What `archspec diff` compares: a spec file, a `.keras` file or a Python import path.

Only a Keras model (a `.keras` file or an import path such as
`keras.applications.ResNet50`) imports Keras; two specs are compared without it.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archspec.errors import SpecError
from archspec.ir.graph import Graph

_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*[.:][A-Za-z_]\w*$")
#: model files archspec does not read, so `model.onnx` is not taken for an import path
_FILE_SUFFIXES = frozenset({".h5", ".hdf5", ".onnx", ".pb", ".pt", ".pth", ".tflite", ".json"})


def is_spec(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml"))


def load_graph(
    ref: str, overrides: Mapping[str, Any] | None = None, node_limit: int | None = None
) -> tuple[Graph, str]:
    """The IR graph of ``ref`` and a label for it."""
    if is_spec(ref):
        from archspec.api import load
        from archspec.expand.expander import DEFAULT_NODE_LIMIT

        spec = load(ref, overrides, node_limit=node_limit or DEFAULT_NODE_LIMIT)
        return spec.graph(), f"{spec.name} ({ref})"
    if overrides:
        raise SpecError("`--set` applies to specs only", file=ref)
    if ref.endswith(".keras"):
        if not Path(ref).is_file():
            raise SpecError("no such file", file=ref)
        from archspec.emit.keras_emitter import import_keras

        keras = import_keras()
        try:
            model = keras.saving.load_model(ref, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
            raise SpecError(f"cannot load the model: {exc}", file=ref) from None
        return _import(model), f"{model.name} ({ref})"
    looks_like_file = "/" in ref or Path(ref).exists() or Path(ref).suffix in _FILE_SUFFIXES
    if _IMPORT_PATH.match(ref) and not looks_like_file:
        return _from_import_path(ref)
    raise SpecError(
        "not a spec (.yaml), a Keras model file (.keras) or an import path "
        "such as keras.applications.ResNet50",
        file=ref,
    )


def _import(model: Any) -> Graph:
    from archspec.compare.keras_import import to_ir

    return to_ir(model)


def _from_import_path(ref: str) -> tuple[Graph, str]:
    from archspec.emit.keras_emitter import import_keras

    import_keras()  # quietly, before the module that needs it
    module_name, _, attr = ref.replace(":", ".").rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"cannot import `{ref}`: {exc}", file=ref) from None
    if callable(target) and not hasattr(target, "layers"):
        # keras.applications constructors would download weights unless told not to
        params = inspect.signature(target).parameters
        target = target(weights=None) if "weights" in params else target()
    if not hasattr(target, "layers"):
        raise SpecError(f"`{ref}` is not a Keras model or a function returning one", file=ref)
    return _import(target), f"{target.name} ({ref})"
