"""A `.keras` file read as data: its model config is checked before Keras sees it.

A `.keras` file is a zip archive whose ``config.json`` describes the model and whose
``model.weights.h5`` holds the weights. A diff needs the architecture only, so only the
config is read, within a size bound, and the weights are never opened. Before Keras
builds anything from the config, it is walked (without recursion) and refused unless:

- the model is a functional or Sequential model (a subclassed one is code);
- every layer is a ``keras.layers`` class that archspec has an op for;
- every object the config names lives in one of Keras's own modules for layers,
  initializers, regularizers, constraints and dtype policies, is not a registered
  custom object, and is not a function or a lambda.

So no custom object, no function reference and no code in the file can run, even
before the ``safe_mode=True`` Keras applies itself.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
import zlib
from typing import Any, BinaryIO

from archspec.errors import SpecError, exception_line, printable
from archspec.ops import REGISTRY

#: the largest model config read (ResNet-152's is about 0.5 MiB)
MAX_CONFIG_BYTES = 64 * 2**20
CONFIG_NAME = "config.json"
_MODEL_CLASSES = frozenset({"Functional", "Sequential"})
#: the modules a config may name objects from
_MODULES = frozenset(
    {
        "keras",
        "keras.layers",
        "keras.initializers",
        "keras.regularizers",
        "keras.constraints",
        "keras.src.models.functional",
    }
)
#: the one object a config may name without a module: a layer's input tensor
_TENSOR = "__keras_tensor__"
#: a tuple, as Keras 2 wrote some in a legacy config
_TUPLE = "__tuple__"
#: what Keras 2 before 2.4 called a functional model
_LEGACY_MODEL_CLASSES = frozenset({"Model"})
#: object kinds that stand for code rather than configuration
_CODE = frozenset({"function", "__lambda__"})


def read_config(path: str) -> dict[str, Any]:
    """The model config of the `.keras` file at ``path`` (SpecError for anything else)."""
    where = printable(path)
    with open_model_file(path) as file:
        data = _config_bytes(file, where)
    return parse_config(data, CONFIG_NAME, where)


def parse_config(data: bytes | str, name: str, where: str) -> dict[str, Any]:
    """A model config from its JSON text (``name``: where the file keeps it)."""
    try:
        config = json.loads(data)
    except (ValueError, RecursionError):
        raise SpecError(f"`{name}` is not valid JSON", file=where) from None
    if not isinstance(config, dict):
        raise SpecError(f"`{name}` holds no model", file=where)
    return config


def open_model_file(path: str) -> BinaryIO:
    """``path`` opened for reading if it is a non-empty regular file (SpecError if not).

    Opened without blocking, so a FIFO named like a model file is refused instead of
    waited on."""
    where = printable(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SpecError("no such file", file=where) from None
    except OSError as exc:
        raise SpecError(f"cannot open: {exc.strerror}", file=where) from None
    try:
        _check_regular_file(os.fstat(fd), where)
    except SpecError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _check_regular_file(info: os.stat_result, where: str) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise SpecError("a directory, not a Keras model file", file=where)
    if not stat.S_ISREG(info.st_mode):
        raise SpecError("not a regular file, so not a Keras model file", file=where)
    if info.st_size == 0:
        raise SpecError("an empty file, not a Keras model", file=where)


def _config_bytes(file: Any, where: str) -> bytes:
    """``config.json`` from the zip archive, read no further than the size bound."""
    try:
        with zipfile.ZipFile(file) as archive:
            try:
                member = archive.getinfo(CONFIG_NAME)
            except KeyError:
                raise SpecError(
                    f"a zip archive without `{CONFIG_NAME}`, so not a Keras model", file=where
                ) from None
            if member.file_size > MAX_CONFIG_BYTES:
                raise too_large(CONFIG_NAME, where)
            with archive.open(member) as config:
                data = config.read(MAX_CONFIG_BYTES + 1)
    except zipfile.BadZipFile:
        raise SpecError(
            "not a Keras model file (a `.keras` file is a zip archive)", file=where
        ) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
        detail = printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise SpecError(f"a damaged zip archive: {detail}", file=where) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise too_large(CONFIG_NAME, where)
    return data


def too_large(name: str, where: str) -> SpecError:
    """The error for a model config (kept in ``name``) over the size bound."""
    return SpecError(
        f"`{name}` is larger than archspec reads ({MAX_CONFIG_BYTES // 2**20} MiB)", file=where
    )


def check_config(
    config: dict[str, Any],
    path: str,
    node_limit: int,
    *,
    module_less: frozenset[str] | None = None,
) -> None:
    """Refuse a config that holds anything but a model archspec reads, before building it.

    ``module_less`` is for a legacy HDF5 file's config, written without ``module`` keys
    (Keras 2, or Keras 3's HDF5 format): the class names it may give without a module,
    besides the layers archspec has ops for. A module-less name resolves only to Keras's
    own classes, so within those names nothing but Keras runs.
    """
    where = printable(path)
    legacy = module_less is not None
    cls = config.get("class_name")
    module = config.get("module")
    models = _MODEL_CLASSES | _LEGACY_MODEL_CLASSES if legacy else _MODEL_CLASSES
    if cls not in models or (module not in _MODULES and not (legacy and module is None)):
        shown = printable(str(cls))
        raise SpecError(
            f"the model is a `{shown}`, not a functional or Sequential model, which are "
            "the ones archspec reads",
            file=where,
        )
    body = config.get("config")
    layers = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(layers, list):
        raise SpecError("the model config has no list of layers", file=where)
    if len(layers) > node_limit:
        raise SpecError(
            f"the model has {len(layers):,} layers, more than the limit of {node_limit:,} "
            "(--max-nodes)",
            file=where,
        )
    known = _ops() | {("keras.layers", "InputLayer")}
    layer_names = {c for m, c in known if m == "keras.layers"}
    for entry in layers:
        if not isinstance(entry, dict):
            raise SpecError("the model config has a layer that is not a mapping", file=where)
        layer_cls, module = entry.get("class_name"), entry.get("module")
        if (module, layer_cls) in known or (legacy and module is None and layer_cls in layer_names):
            continue
        inner = entry.get("config")
        name = inner.get("name") if isinstance(inner, dict) else entry.get("name")
        shown = layer_cls if module in ("keras.layers", None) else f"{module}.{layer_cls}"
        raise SpecError(
            f"layer `{printable(str(name))}` is a {printable(str(shown))}, which "
            "archspec has no op for",
            file=where,
        )
    bare: frozenset[str] = frozenset()
    if legacy:
        bare = module_less | layer_names | _LEGACY_MODEL_CLASSES | _MODEL_CLASSES | {_TUPLE}
    for obj in _objects(config):
        _check_object(obj, where, bare)


def _objects(config: Any) -> list[dict[str, Any]]:
    """Every mapping in the config that names a class, found without recursion."""
    found: list[dict[str, Any]] = []
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "class_name" in item:
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _ops() -> set[tuple[str, str]]:
    """(module, class) of every registry op, as a saved config names them."""
    return {(op.keras_module, op.keras_class) for op in REGISTRY.ops()}


def _plugin_ops() -> set[tuple[str, str]]:
    """(module, class) of the ops whose class lives outside Keras: an installed plugin's
    class is saved under the name it registered with Keras (``package>Class``)."""
    return {(m, c) for m, c in _ops() if m.split(".")[0] != "keras"}


def _check_object(obj: dict[str, Any], where: str, bare: frozenset[str]) -> None:
    """Refuse an object a config names unless it is Keras's own (``bare``: the class
    names accepted without a module, in a legacy config)."""
    cls, module = obj.get("class_name"), obj.get("module")
    shown = printable(f"{module}.{cls}" if module else str(cls))
    if cls in _CODE:
        raise SpecError(
            f"the model config holds code (`{shown}`), which archspec never loads", file=where
        )
    if not isinstance(cls, str) or (
        module not in _MODULES
        and (module, cls) != (None, _TENSOR)
        and (module, cls) not in _ops()
        and not (module is None and cls in bare)
    ):
        raise SpecError(
            f"the model config refers to `{shown}`, which is not one of Keras's layers, "
            "initializers or regularizers, so archspec does not load it",
            file=where,
        )
    registered = obj.get("registered_name")
    if registered is not None and registered != cls and (module, cls) not in _plugin_ops():
        raise SpecError(
            f"the model config refers to the registered custom object "
            f"`{printable(str(registered))}`, which archspec does not load",
            file=where,
        )


def build_model(config: dict[str, Any], path: str) -> Any:
    """The Keras model a checked config describes, built without its weights."""
    import keras

    config = {**config, "compile_config": None}  # an optimizer is not architecture
    modules = {obj.get("module") for obj in _objects(config)}
    for op in REGISTRY.ops():  # a plugin's layer class registers itself when imported
        if op.keras_module in modules and op.keras_module != "keras.layers":
            op.keras_type()
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any config Keras rejects is the file's problem
        detail = exception_line(exc)
        raise SpecError(f"cannot load the model: {detail}", file=printable(path)) from None
    if not isinstance(model, keras.Model):
        raise SpecError("the file does not hold a Keras model", file=printable(path))
    return model


def load_checked(path: str, node_limit: int, *, quiet: bool = True) -> Any:
    """The model of the `.keras` file at ``path``, without its weights: its config read,
    checked and only then built (Keras imported quietly, before anything else does)."""
    config = read_config(path)
    check_config(config, path, node_limit)
    from archspec.emit.keras_emitter import import_keras

    import_keras(quiet=quiet)
    return build_model(config, path)
