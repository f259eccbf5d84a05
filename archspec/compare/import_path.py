"""The Keras model an import path names, and which Python code that may run.

An import path on the command line may come from anyone, and importing a module or
calling what it names runs code. So, by default, the only code diff runs is a
``keras.applications`` model function (``keras.applications.ResNet50``,
``keras.applications.resnet.ResNet50``): the path is checked against keras.applications'
own list of model functions before anything is called, no other module is imported,
and the function is called with ``weights=None`` (nothing is downloaded).

Anything else (a module of one's own, a ``keras.Model`` subclass, a function returning
a model) needs an explicit opt-in, ``allow_import=True`` (``--allow-import``). Even then
only a ``keras.Model`` instance is taken as it is, and only a ``keras.Model`` subclass or
a Python function is called; what it returns must be a ``keras.Model``. Builtins and
other callables (``os.abort``, ``builtins.exit``) are refused uncalled.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
import types
from collections.abc import Iterator
from typing import Any

from archspec.errors import SpecError, did_you_mean, exception_line, printable

APPLICATIONS = "keras.applications"
OPT_IN = "--allow-import (allow_import=True in Python)"


def model_from_path(ref: str, *, allow_import: bool = False) -> Any:
    """The Keras model ``ref`` names (``module.attr`` or ``module:attr``)."""
    module_name, _, attr = ref.replace(":", ".").rpartition(".")
    where = printable(ref)
    if module_name == APPLICATIONS or module_name.startswith(APPLICATIONS + "."):
        constructor = _application(module_name, attr)
        if constructor is not None:
            return _call(constructor, ref, {"weights": None})
        if not allow_import:
            raise SpecError(
                f"`{where}` is not one of keras.applications' model functions",
                hint=_close_application(attr),
                file=where,
            )
    if not allow_import:
        raise SpecError(
            f"refused to import `{where}`: without {OPT_IN}, archspec runs no Python code "
            "but keras.applications' model functions (such as keras.applications.ResNet50)",
            file=where,
        )
    return _user_model(ref, module_name, attr)


def _applications() -> dict[str, Any]:
    """keras.applications' model functions by name: its public attributes, modules aside."""
    from archspec.emit.keras_emitter import import_keras

    namespace = import_keras().applications
    return {
        name: value
        for name, value in vars(namespace).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def _close_application(attr: str) -> str | None:
    """A ``did you mean`` hint naming the closest model function, if one is close."""
    hint = did_you_mean(attr, _applications())
    return hint and hint.replace("`", f"`{APPLICATIONS}.", 1)


def _application(module_name: str, attr: str) -> Any | None:
    """The model function ``module_name.attr`` names, if it is one of keras.applications'."""
    from archspec.emit.keras_emitter import import_keras

    namespace: Any = import_keras().applications
    submodule = module_name[len(APPLICATIONS) + 1 :]
    if submodule:
        # a public module of keras.applications (resnet, mobilenet_v2, ...), read as an
        # attribute of the package Keras already imported: nothing new is imported
        namespace = vars(namespace).get(submodule) if not submodule.startswith("_") else None
        if not isinstance(namespace, types.ModuleType):
            return None
    candidate = vars(namespace).get(attr)
    functions = _applications().values()
    return candidate if any(candidate is f for f in functions) else None


def _user_model(ref: str, module_name: str, attr: str) -> Any:
    """The model an opted-in import path names: an instance, or a class or function called."""
    from archspec.emit.keras_emitter import import_keras

    keras = import_keras()  # quietly, before a module that imports it
    where = printable(ref)
    try:
        with _current_folder_importable():
            module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the module is the user's code
        raise SpecError(
            f"cannot import `{printable(module_name)}`: {exception_line(exc)}", file=where
        ) from None
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise SpecError(
            f"module `{printable(module_name)}` has no `{printable(attr)}`", file=where
        ) from None
    if isinstance(target, keras.Model):
        return target
    is_model_class = isinstance(target, type) and issubclass(target, keras.Model)
    if not (is_model_class or inspect.isfunction(target)):
        raise SpecError(
            f"`{where}` is a {printable(type(target).__name__)}, not a keras.Model, a "
            "keras.Model subclass or a function returning one, so it is not called",
            file=where,
        )
    takes_weights = _accepts(target, "weights")
    return _call(target, ref, {"weights": None} if takes_weights else {})


def _accepts(target: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def _call(target: Any, ref: str, kwargs: dict[str, Any]) -> Any:
    """``target(**kwargs)``, which must return a keras.Model; one line for any failure."""
    import keras

    where = printable(ref)
    try:
        inspect.signature(target).bind(**kwargs)
    except TypeError as exc:
        raise SpecError(
            f"`{where}` cannot be called without arguments: {exception_line(exc)}", file=where
        ) from None
    except ValueError:
        pass  # no signature to check: the call itself will say
    try:
        model = target(**kwargs)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failure of the code called
        raise SpecError(
            f"`{where}` failed: {type(exc).__name__}: {exception_line(exc)}", file=where
        ) from None
    if not isinstance(model, keras.Model):
        raise SpecError(
            f"`{where}` returned a {printable(type(model).__name__)}, not a keras.Model",
            file=where,
        )
    return model


@contextlib.contextmanager
def _current_folder_importable() -> Iterator[None]:
    """Let an opted-in import find a module in the current folder, as `python -m` does."""
    folder = os.getcwd()
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
