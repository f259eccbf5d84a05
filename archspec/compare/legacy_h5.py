"""A legacy HDF5 model file (``model.save("x.h5")`` in Keras 2 or 3) read as data first.

Such a file keeps the model config as JSON in the ``model_config`` attribute and the
weights under ``model_weights``; a weights-only file (``save_weights``, ``.weights.h5``)
has no config. Before Keras builds anything, the config is read within the size bound
of a `.keras` config and checked as one is (:func:`archspec.compare.model_file.check_config`),
with the difference that a legacy config names classes without their module: those
names must be Keras's own. The file is also refused if any of its links or datasets
points into another file (HDF5 external links, external storage, virtual datasets),
so reading it never reads anything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from archspec.compare.model_file import (
    MAX_CONFIG_BYTES,
    check_config,
    open_model_file,
    parse_config,
    too_large,
)
from archspec.errors import SpecError, exception_line, printable

if TYPE_CHECKING:
    import h5py
    import keras

#: the endings of a legacy HDF5 file, of a model or of weights
SUFFIXES = (".h5", ".hdf5")
CONFIG_ATTR = "model_config"
#: the most links walked when looking for ones into other files (ResNet-152: ~3,000)
MAX_LINKS = 1_000_000


def read_config(file: h5py.File, where: str) -> dict[str, Any] | None:
    """The model config in an open HDF5 file, or None for a file of weights only."""
    if CONFIG_ATTR not in file.attrs:
        return None
    if file.attrs.get_id(CONFIG_ATTR).get_storage_size() > MAX_CONFIG_BYTES:
        raise too_large(CONFIG_ATTR, where)
    raw = file.attrs[CONFIG_ATTR]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        raise SpecError(f"`{CONFIG_ATTR}` is not text", file=where)
    return parse_config(raw, CONFIG_ATTR, where)


def check_self_contained(file: h5py.File, where: str) -> None:
    """Refuse a file whose links or datasets point into other files."""
    import h5py

    seen = 0

    def visit(name: str, link: Any) -> str | None:
        # a value other than None ends the walk (h5py cannot raise through it)
        nonlocal seen
        seen += 1
        if seen > MAX_LINKS:
            return f"more than {MAX_LINKS:,} HDF5 links"
        if isinstance(link, h5py.ExternalLink):
            return f"`{printable(name)}` links into another file, which archspec does not follow"
        if isinstance(link, h5py.HardLink):
            item = file.get(name)
            if isinstance(item, h5py.Dataset) and (item.external or item.is_virtual):
                return (
                    f"dataset `{printable(name)}` keeps its data in another file, which "
                    "archspec does not read"
                )
        return None

    problem = file.visititems_links(visit)
    if problem is not None:
        raise SpecError(problem, file=where)


@contextmanager
def open_h5(path: str) -> Iterator[h5py.File]:
    """``path`` opened as an HDF5 file, checked to read nothing outside itself."""
    import h5py

    where = printable(path)
    with open_model_file(path) as handle:
        try:
            file = h5py.File(handle, "r")
        except OSError:
            raise SpecError(
                "not an HDF5 file (as a legacy .h5 model or weights file is)", file=where
            ) from None
        with file:
            check_self_contained(file, where)
            yield file


def module_less_names() -> frozenset[str]:
    """The classes a legacy config may name without a module, besides layers: Keras's
    own initializers, regularizers, constraints and dtype policies."""
    import keras

    spaces = (keras.initializers, keras.regularizers, keras.constraints, keras.dtype_policies)
    return frozenset(
        name for space in spaces for name, obj in vars(space).items() if isinstance(obj, type)
    )


def load_model(path: str, node_limit: int, *, quiet: bool = True, hint: str = "") -> keras.Model:
    """The model and weights of the legacy HDF5 model file at ``path``.

    Its config is checked before Keras builds it; a file of weights only is a SpecError
    that ends with ``hint`` (where to name the model those weights belong to). A file
    that is no model at all is refused before Keras is imported."""
    from archspec.emit.keras_emitter import import_keras

    where = printable(path)
    with open_h5(path) as file:
        config = read_config(file, where)
        if config is None:
            raise SpecError(f"a file of weights only, with no model config{hint}", file=where)
        import_keras(quiet=quiet)
        from keras.src.legacy.saving import legacy_h5_format

        check_config(config, path, node_limit, module_less=module_less_names())
        try:
            model = legacy_h5_format.load_model_from_hdf5(file, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any config Keras rejects is the file's problem
            message = f"Keras cannot rebuild this model: {exception_line(exc, last=True)}{hint}"
            raise SpecError(message, file=where) from None
    return model
