"""Deployable artefacts of a model: a TensorFlow SavedModel, a TFLite file or an ONNX file.

``archspec build`` saves a ``.keras`` file, which only Keras reads. Serving stacks read
other formats: TensorFlow Serving a SavedModel directory, phones and microcontrollers a
TFLite flatbuffer, ONNX Runtime (and most inference engines) an ONNX graph. This module
writes them from a spec or from a ``.keras`` file, with the guarantees of every archspec
output:

- the destination is checked before any work, so a wrong path costs nothing;
- nothing half-written is left at the destination when a conversion fails or the process
  is interrupted: a file is written beside it and renamed, a SavedModel directory is
  written beside it and swapped in (an earlier export is replaced, nothing else is);
- the converters' own chatter (TensorFlow's C++ log, tf2onnx's progress, deprecation
  warnings) is held back unless asked for, and a failure is one line;
- outputs keep the Keras model's order in every format (the TFLite converter shuffles
  them; they are put back, see :func:`_order_tflite_io`);
- a TFLite file holds TFLite's built-in ops only, so any TFLite runtime runs it (see
  :func:`_tflite_bytes` for the models that then need a batch size of one).

Keras and TensorFlow are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from archspec.errors import SpecError, printable
from archspec.expand.expander import DEFAULT_NODE_LIMIT

if TYPE_CHECKING:
    import keras

#: the command that installs what the ONNX export needs beyond archspec itself
INSTALL_HINT = "pip install 'archspec[export]'"
#: files whose presence marks a directory as a SavedModel an earlier export wrote
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
#: suffixes of single-file formats: a SavedModel directory named so is a slip of the user's
_FILE_SUFFIXES = frozenset({".tflite", ".onnx", ".keras", ".h5", ".pb"})
#: signals held back while a temporary directory is created or swapped into place
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
#: the longest converter message quoted in an error
_MAX_DETAIL_CHARS = 300
#: ``<unknown>:0: error: loc(callsite(fused[...] at ...)): 'tf.Op' op requires ...``
_CONVERTER_LOCATION = re.compile(r"error: loc\(.*\):\s+(\S.*)$")


@dataclass(frozen=True)
class Format:
    """One artefact format: what it is called, its file suffix, the packages it needs."""

    name: str
    #: "the ONNX model", for messages
    what: str
    #: the output's required suffix; None for a directory
    suffix: str | None
    #: (import name, pip name) of the packages needed beyond TensorFlow and Keras
    packages: tuple[tuple[str, str], ...] = ()


FORMATS: dict[str, Format] = {
    "savedmodel": Format("savedmodel", "the SavedModel", None),
    "tflite": Format("tflite", "the TFLite model", ".tflite"),
    "onnx": Format("onnx", "the ONNX model", ".onnx", (("tf2onnx", "tf2onnx"), ("onnx", "onnx"))),
}


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output as a deployment sees it: name, shape (None: any), dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the format, where, how many bytes, and the model's interface.

    ``inputs`` and ``outputs`` are in the Keras model's order, which every format keeps:
    the SavedModel's and the TFLite file's ``serving_default`` signature name output ``i``
    ``output_i``; TFLite's ``get_output_details()`` and ONNX Runtime's ``get_outputs()``
    list them in this order.
    """

    format: str
    output: Path
    bytes: int
    model: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    #: the artefact takes batches of exactly one (a TFLite model whose layers convert to
    #: TFLite's built-in ops only at a fixed size); its shapes above say so
    batch_of_one: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "output": str(self.output),
            "bytes": self.bytes,
            "model": self.model,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
        }


#: ``progress(message)``: a context manager shown while a long step runs
Progress = Callable[[str], AbstractContextManager[Any]]


def _no_progress(message: str) -> AbstractContextManager[Any]:
    return contextlib.nullcontext()


def get_format(name: str) -> Format:
    """The format called ``name`` (SpecError listing the known ones otherwise)."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise SpecError(
            f"unknown export format `{printable(name)}` (known: {known})", path="--format"
        ) from None


def check_destination(out: Path, fmt: Format) -> None:
    """Refuse, before any work, a destination the format cannot be written to.

    A file format needs its suffix and a writable place
    (:func:`archspec.safe_write.check_output`).
    A SavedModel is a directory: it may replace an earlier SavedModel (or an empty
    directory) but never a file or a directory holding anything else, which a mistyped
    ``-o`` would otherwise delete.
    """
    if fmt.suffix is not None:
        from archspec.safe_write import check_output

        check_output(out, fmt.what, fmt.suffix)
        return
    where = printable(str(out))
    if out.suffix in _FILE_SUFFIXES:
        raise SpecError(
            f"a SavedModel is a directory; `{printable(out.name)}` names a `{out.suffix}` "
            "file (give a folder name, or pick the format that suffix is for)",
            file=where,
        )
    if out.is_symlink():
        raise SpecError(
            "cannot write the SavedModel there: the path is a symbolic link (give the "
            "directory itself)",
            file=where,
        )
    if out.is_dir():
        if not os.access(out, os.W_OK):
            raise SpecError("cannot write the SavedModel: permission denied", file=where)
        if not _replaceable(out):
            raise SpecError(
                "cannot write the SavedModel there: the directory exists and holds "
                "something other than a SavedModel, which export does not replace",
                file=where,
            )
    else:
        from archspec.loader.files import path_problem

        problem = path_problem(out, kind="a SavedModel directory")
        if problem is None and out.exists():
            problem = "is a file, not a SavedModel directory"
        if problem is not None:
            raise SpecError(f"cannot write the SavedModel there: the path {problem}", file=where)
    parent = out.parent
    if not parent.is_dir():
        raise SpecError(
            f"cannot write the SavedModel: folder `{printable(str(parent))}` does not exist",
            file=where,
        )
    if not os.access(parent, os.W_OK):
        raise SpecError("cannot write the SavedModel: permission denied", file=where)


def _replaceable(folder: Path) -> bool:
    """Whether ``folder`` is an earlier SavedModel (or empty), which an export may replace."""
    try:
        names = {entry.name for entry in os.scandir(folder)}
    except OSError:
        return False
    return not names or any(name in names for name in _SAVED_MODEL_FILES)


def require_packages(fmt: Format) -> None:
    """Import what ``fmt`` needs beyond TensorFlow; a missing one is one line naming the fix."""
    missing = []
    for module, dist in fmt.packages:
        try:
            __import__(module)
        except ImportError:
            missing.append(dist)
    if missing:
        raise SpecError(
            f"exporting to {fmt.name} needs {' and '.join(missing)} (not installed): "
            f"run `{INSTALL_HINT}`",
            path="--format",
        )


def load_model(
    ref: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    node_limit: int = DEFAULT_NODE_LIMIT,
    include_roots: Sequence[str | Path] = (),
    quiet: bool = True,
    progress: Progress = _no_progress,
) -> keras.Model:
    """The Keras model ``ref`` names: a spec, or a ``.keras`` or legacy ``.h5`` model file
    (with its weights).

    What counts as a spec (a ``.yaml`` file, a bundled spec's name, ``-``) is decided as
    ``diff`` decides it (:func:`archspec.compare.sources.is_spec`); it is built with
    fresh weights. A model file's config is checked before Keras sees it, as ``diff``
    checks it (see :mod:`archspec.compare.model_file` and
    :mod:`archspec.compare.legacy_h5`), then its weights are loaded; ``overrides``
    apply to specs only. ``quiet`` holds back TensorFlow's start-up log when this first
    imports it.
    """
    from archspec.compare.legacy_h5 import SUFFIXES as H5_SUFFIXES
    from archspec.compare.sources import is_spec

    if is_spec(ref):
        from archspec.api import load

        spec = load(ref, overrides, node_limit=node_limit, include_roots=include_roots)
        with progress(f"building {spec.name} with Keras"):
            return spec.build(quiet=quiet)
    if not ref.endswith((".keras", *H5_SUFFIXES)):
        raise SpecError(
            "not a spec (.yaml, or a bundled spec's name such as resnet50) or a Keras "
            "model file (.keras, or a legacy .h5)",
            file=printable(ref),
        )
    if overrides:
        raise SpecError("`--set` applies to specs only", file=printable(ref))
    if ref.endswith(H5_SUFFIXES):
        from archspec.compare.legacy_h5 import load_model as load_legacy

        with progress(f"loading {printable(ref)}"):
            return load_legacy(ref, node_limit, quiet=quiet)
    return _load_model_file(ref, node_limit, quiet, progress)


def _load_model_file(ref: str, node_limit: int, quiet: bool, progress: Progress) -> keras.Model:
    from archspec.compare.model_file import load_checked

    with progress(f"loading {printable(ref)}"):
        model = load_checked(ref, node_limit, quiet=quiet)
        try:
            model.load_weights(ref)
        except Exception as exc:  # noqa: BLE001 - any weights Keras rejects are the file's fault
            raise SpecError(
                f"cannot load the weights: {_detail(exc)}", file=printable(ref)
            ) from None
    return model


def export_model(
    model: keras.Model,
    out: str | Path,
    format: str,
    *,
    quiet: bool = True,
    progress: Progress = _no_progress,
) -> Exported:
    """Write ``model`` to ``out`` in ``format`` (``savedmodel``, ``tflite`` or ``onnx``).

    The destination is checked first (:func:`check_destination`). Any conversion
    failure is a SpecError naming ``out``; the destination is then as it was. ``quiet``
    holds back what TensorFlow, Keras and the converters print meanwhile. For ONNX, a
    model that was never called is called once on symbolic inputs (see
    :func:`_mark_called`).
    """
    fmt = get_format(format)
    out = Path(out)
    check_destination(out, fmt)
    with quiet_output(quiet):
        require_packages(fmt)
        return _write(model, out, fmt, progress)


def _write(model: keras.Model, out: Path, fmt: Format, progress: Progress) -> Exported:
    """The artefact of ``model`` at ``out``, the destination already checked."""
    batch_of_one = False
    try:
        if fmt.name == "savedmodel":
            with progress("writing the SavedModel"):
                _write_directory(lambda path: _save(model, path), out)
        elif fmt.name == "tflite":
            with progress("converting to TFLite"):
                data, batch_of_one = _tflite_bytes(model)
            _write_file(lambda path: Path(path).write_bytes(data), out)
        else:
            _mark_called(model)
            with progress("converting to ONNX"):
                _write_file(lambda path: _onnx(model, path), out)
    except SpecError:
        raise
    except OSError as exc:
        raise SpecError(
            f"cannot write {fmt.what}: {printable(exc.strerror or str(exc))}",
            file=printable(str(out)),
        ) from None
    except Exception as exc:  # noqa: BLE001 - a converter's refusal, in one line
        raise SpecError(
            f"cannot convert the model to {fmt.name}: {_detail(exc)}", file=printable(str(out))
        ) from exc
    return Exported(
        format=fmt.name,
        output=out,
        bytes=_size(out),
        model=model.name,
        **interface(model, batch_of_one),
        batch_of_one=batch_of_one,
    )


def export(
    ref: str,
    out: str | Path,
    format: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    node_limit: int = DEFAULT_NODE_LIMIT,
    include_roots: Sequence[str | Path] = (),
    quiet: bool = True,
    progress: Progress = _no_progress,
) -> Exported:
    """Export the model ``ref`` names (a spec or a ``.keras`` file) to ``out``.

    The destination and the packages the format needs are checked before the model is
    loaded or built. ``quiet`` holds back what TensorFlow, Keras and the converters print
    meanwhile (``progress`` still shows, on a terminal).
    """
    fmt = get_format(format)
    check_destination(Path(out), fmt)
    with quiet_output(quiet):
        require_packages(fmt)
        model = load_model(
            ref,
            overrides,
            node_limit=node_limit,
            include_roots=include_roots,
            quiet=quiet,
            progress=progress,
        )
        return _write(model, Path(out), fmt, progress)


def _save(model: keras.Model, path: str, input_signature: Any = None) -> None:
    model.export(path, format="tf_saved_model", verbose=False, input_signature=input_signature)


def _onnx(model: keras.Model, path: str) -> None:
    model.export(path, format="onnx", verbose=False)


def _input_structure(model: keras.Model) -> Any:
    """The model's input tensors in the structure its call takes (one, a list, a mapping)."""
    try:
        return model.input  # a functional model's inputs as it was built with them
    except (AttributeError, ValueError):  # a Sequential model that was never called
        return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _mark_called(model: keras.Model) -> None:
    """Call ``model`` once on symbolic inputs, which Keras's ONNX export requires.

    Keras refuses to export a model that was never called (on the TensorFlow backend it
    checks the flag, not the inputs it could read from the model). A symbolic call runs
    no computation and needs no concrete sizes, so it also suits inputs with open sizes.
    """
    if getattr(model, "_called", True):
        return
    import keras

    model(
        keras.tree.map_structure(
            lambda t: keras.KerasTensor(t.shape, dtype=t.dtype), _input_structure(model)
        )
    )


def _batch_of_one(model: keras.Model) -> list[Any]:
    """An export signature like the model's own, with the batch size fixed at 1."""
    import keras

    return [
        keras.tree.map_structure(
            lambda t: keras.InputSpec(shape=(1, *t.shape[1:]), dtype=t.dtype, name=t.name),
            _input_structure(model),
        )
    ]


def _tflite_bytes(model: keras.Model) -> tuple[bytes, bool]:
    """The TFLite flatbuffer of ``model``, and whether its batch size had to be fixed at 1.

    The model goes through a SavedModel, the route TensorFlow supports for Keras 3 models
    (converting a concrete function directly leaves the weights out). Only TFLite's
    built-in ops are used, so the file runs on any TFLite runtime; TensorFlow ops kept as
    "select" ops would need the Flex delegate, which the usual runtimes (TensorFlow's
    Python interpreter among them) do not include. Some layers convert to built-in ops
    only at a fixed batch size (a recurrent layer's loop needs static shapes): when the
    open batch size fails, the model is converted again for batches of 1, TFLite's usual
    deployment shape. When both fail, the first failure is raised.
    """
    try:
        data, fixed = _convert_tflite(model, None), False
    except Exception as first:  # noqa: BLE001 - retried once, then reported as it was
        try:
            data, fixed = _convert_tflite(model, _batch_of_one(model)), True
        except Exception:  # noqa: BLE001
            raise first from None
    names = [t.name for t in model.inputs]
    return _order_tflite_io(data, names, _output_names(model)), fixed


def _convert_tflite(model: keras.Model, input_signature: Any) -> bytes:
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="archspec-export-") as folder:
        saved = os.path.join(folder, "saved_model")
        _save(model, saved, input_signature)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return bytes(converter.convert())


def _order_tflite_io(data: bytes, input_names: list[str], output_names: list[str]) -> bytes:
    """``data`` with its main subgraph's inputs and outputs in the Keras model's order.

    The converter lists a model's outputs in an order of its own (GoogLeNet's three come
    out as aux1, main, aux2), so a program reading ``get_output_details()`` by position
    would take one head for another. The ``serving_default`` signature maps names to
    tensors: ``output_0``, ``output_1``, ... in the Keras order (or the Keras output names,
    for a model whose outputs are a mapping), and the inputs by their Keras names. The
    subgraph's input and output lists are permutations of those tensors, so they are
    rewritten in place, leaving everything else byte for byte as it was.
    """
    from tensorflow.lite.python import schema_py_generated as schema

    buffer = bytearray(data)
    model = schema.Model.GetRootAs(buffer, 0)
    if model.SignatureDefsLength() != 1:
        return data
    signature = model.SignatureDefs(0)
    subgraph = model.Subgraphs(signature.SubgraphIndex())
    inputs = _tensor_map(signature.InputsLength(), signature.Inputs)
    outputs = _tensor_map(signature.OutputsLength(), signature.Outputs)
    keys = [f"output_{i}" for i in range(len(output_names))]
    if set(outputs) != set(keys):
        keys = output_names
    _permute(subgraph.InputsAsNumpy(), [inputs.get(name) for name in input_names])
    _permute(subgraph.OutputsAsNumpy(), [outputs.get(key) for key in keys])
    return bytes(buffer)


def _permute(current: Any, wanted: list[int | None]) -> None:
    """Write ``wanted`` over the tensor list ``current`` (a view into the flatbuffer) when it
    is a reordering of it; otherwise the signature does not describe the subgraph as
    expected, and the list is left alone."""
    if isinstance(current, int) or None in wanted:  # an absent vector reads as 0
        return
    if sorted(current.tolist()) == sorted(wanted):  # type: ignore[type-var]
        current[:] = wanted


def _tensor_map(length: int, item: Callable[[int], Any]) -> dict[str, int]:
    entries = (item(i) for i in range(length))
    return {e.Name().decode("utf-8", "replace"): e.TensorIndex() for e in entries}


def _write_file(write: Callable[[str], None], out: Path) -> None:
    from archspec.safe_write import write_atomically

    write_atomically(write, out)


def _write_directory(write: Callable[[str], None], out: Path) -> None:
    """``write(path)`` into a new directory beside ``out``, then swap it into place.

    An earlier directory at ``out`` is renamed aside, the new one renamed in, and the
    old one removed, so ``out`` holds the old export or the whole new one at every
    moment. Any exception (an interrupt, a signal turned into an exception) removes the
    new directory and puts the old one back. Signals are held back while the temporary
    names are made and while the directories are swapped.
    """
    import shutil
    import tempfile

    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    new: str | None = None
    aside: str | None = None
    try:
        new = tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        # the SavedModel goes one level down: Keras writes into a path that may not exist
        staged = os.path.join(new, "model")
        write(staged)
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
        if out.is_dir():
            aside = tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent)
            os.replace(out, aside)  # an empty directory is replaced by rename(2)
        try:
            os.replace(staged, out)
        except BaseException:
            if aside is not None:
                os.replace(aside, out)
                aside = None
            raise
        from archspec.safe_write import fsync

        fsync(out.parent)
    finally:
        if new is not None:
            shutil.rmtree(new, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _size(out: Path) -> int:
    """Bytes of a file, or of every file under a directory."""
    if not out.is_dir():
        return out.stat().st_size
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())


def _output_names(model: keras.Model) -> list[str]:
    """The names of a model's outputs: its output layers' names (a Sequential model, which
    has one output and no ``output_names``, is named after its last layer)."""
    names = getattr(model, "output_names", None)
    return list(names) if names else [model.layers[-1].name]


def interface(model: keras.Model, batch_of_one: bool = False) -> dict[str, tuple[TensorInfo, ...]]:
    """A model's ``inputs`` and ``outputs`` in its order, as `build --json` and `export` show
    them; outputs are named after their layers."""
    return {
        "inputs": tuple(_info(t, t.name, batch_of_one) for t in model.inputs),
        "outputs": tuple(
            _info(t, name, batch_of_one)
            for t, name in zip(model.outputs, _output_names(model), strict=True)
        ),
    }


def _info(tensor: Any, name: str, batch_of_one: bool = False) -> TensorInfo:
    shape = tuple(None if d is None else int(d) for d in tensor.shape)
    if batch_of_one and shape:
        shape = (1, *shape[1:])
    return TensorInfo(name=str(name), shape=shape, dtype=str(tensor.dtype))


def _detail(exc: BaseException) -> str:
    """The first telling line of a converter's message, shortened and made printable."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    # the TFLite converter's lines open with the failing op's location in the traced graph
    located = _CONVERTER_LOCATION.search(text)
    if located:
        text = located.group(1)
    if len(text) > _MAX_DETAIL_CHARS:
        text = text[: _MAX_DETAIL_CHARS - 3] + "..."
    return printable(text)


@contextlib.contextmanager
def quiet_output(enabled: bool = True) -> Iterator[None]:
    """While inside, what TensorFlow, Keras and tf2onnx print is held back.

    Their C++ runtimes write to file descriptors 1 and 2 directly, so both are pointed
    at the null device; Python-level prints, warnings and log records are dropped too.
    A progress spinner keeps a way to the terminal: when stderr is one, ``sys.stderr``
    meanwhile writes to a copy of the original descriptor.
    """
    if not enabled:
        yield
        return
    import io
    import logging
    import warnings

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    terminal = _terminal_stderr()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    streams = sys.stdout, sys.stderr
    disabled = logging.root.manager.disable
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.CRITICAL)
            for fd in saved:
                os.dup2(null, fd)
            sys.stdout = io.StringIO()
            sys.stderr = terminal if terminal is not None else io.StringIO()
            yield
    finally:
        sys.stdout, sys.stderr = streams
        if terminal is not None:
            with contextlib.suppress(Exception):
                terminal.close()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)
        logging.disable(disabled)


def _terminal_stderr() -> TextIO | None:
    """A writer on a copy of descriptor 2, when ``sys.stderr`` is the terminal there."""
    try:
        if not (sys.stderr.isatty() and sys.stderr.fileno() == 2):
            return None
    except (AttributeError, ValueError, OSError):
        return None
    return os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
