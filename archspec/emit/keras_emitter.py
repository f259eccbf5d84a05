"""IR to a Keras 3 functional model. The only module that builds Keras layers.

Keras is imported inside :func:`to_keras`, so importing archspec (for validation,
analysis or diffs) never loads TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from archspec.errors import SpecError
from archspec.ir.graph import Graph, gc_paused
from archspec.ops import REGISTRY

if TYPE_CHECKING:
    import keras


def import_keras(*, quiet: bool = True) -> Any:
    """Import Keras; with ``quiet``, TensorFlow's native start-up log lines are held back.

    TensorFlow's C++ runtime writes CUDA probing and logging-setup lines straight to file
    descriptor 2 while it loads, before any setting can silence them. They are captured
    here and shown only if the import fails.
    """
    if "keras" in sys.modules or not quiet:
        import keras

        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras


#: Python frames Keras uses per layer when it walks a functional graph (the
#: recursive ``_build_map_helper`` in ``keras.src.ops.function``), with room to spare
FRAMES_PER_LAYER = 2
#: the longest Keras message quoted in an error
MAX_DETAIL_CHARS = 300


def to_keras(graph: Graph, *, quiet: bool = True) -> keras.Model:
    """Build ``keras.Model(inputs, outputs)`` with one layer per IR node, in IR order.

    Any exception Keras raises for a layer becomes a :class:`SpecError` at the node's
    YAML line. The expander has already checked everything the registry knows, so such
    an error means Keras refused something archspec could not foresee.
    """
    keras = import_keras(quiet=quiet)
    with gc_paused():
        return _build(keras, graph)


def _build(keras: Any, graph: Graph) -> keras.Model:
    """The layers of every node, called in IR order, and the model around them. Keras
    makes many small objects per layer; the cyclic collector is paused meanwhile (see
    :func:`archspec.ir.graph.gc_paused`)."""
    tensors: dict[str, Any] = {}
    # a nested Sequential is made once its last layer is: its layers, its input node
    nested: dict[str, tuple[list[Any], str]] = {}
    last_of = {node.model: node.name for node in graph.nodes.values() if node.model}
    for node in graph.nodes.values():
        if node.op == "input":
            settings = {k: v for k, v in node.attrs.items() if k != "shape"}
            tensors[node.name] = keras.Input(shape=node.attrs["shape"], name=node.name, **settings)
            continue
        op = REGISTRY.get(node.op)
        assert op is not None, node.op
        args = [] if node.model is not None else [tensors[i] for i in node.inputs]
        try:
            layer = op.make(node.name, node.attrs, trainable=node.trainable, dtype=node.dtype)
            if node.model is not None:
                layers, start = nested.setdefault(node.model, ([], node.inputs[0]))
                layers.append(layer)
                if last_of[node.model] == node.name:
                    # its input layer named as Keras names it when the model is first called
                    x = tensors[start]
                    head = keras.Input(x.shape[1:], dtype=x.dtype, name=graph.models[node.model])
                    model = keras.Sequential([head, *layers], name=node.model)
                    tensors[node.name] = model(x)
                continue
            tensors[node.name] = op.wires.call(layer, args, node.attrs)
        except Exception as exc:
            raise SpecError(
                f"Keras cannot build `{node.name}` ({op.keras_class}): {_detail(exc)}",
                loc=node.source.loc,
                path=node.source.path,
            ) from exc
    outputs = [tensors[o] for o in graph.outputs]
    inputs = [tensors[i] for i in graph.inputs]
    with _recursion_room(FRAMES_PER_LAYER * len(graph.nodes)):
        try:
            return keras.Model(
                inputs=inputs[0] if len(inputs) == 1 else inputs,
                outputs=outputs[0] if len(outputs) == 1 else outputs,
                name=graph.name,
            )
        except Exception as exc:
            last = graph.nodes[graph.outputs[-1]].source
            raise SpecError(
                f"Keras cannot assemble the model: {_detail(exc)}", loc=last.loc, path=last.path
            ) from exc


def _detail(exc: BaseException) -> str:
    """The telling line of a Keras or TensorFlow message (they open with boilerplate)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    telling = [line for line in lines if line and not line.startswith("Exception encountered when")]
    text = telling[0] if telling else type(exc).__name__
    if len(text) > MAX_DETAIL_CHARS:
        text = text[: MAX_DETAIL_CHARS - 3] + "..."
    return text


@contextlib.contextmanager
def _recursion_room(frames: int) -> Iterator[None]:
    """Raise Python's recursion limit by ``frames`` while Keras walks the graph.

    Keras 3 sorts a functional graph with a depth-first search that recurses once per
    layer, so a chain of about 3,000 layers exceeds the default limit. Since Python 3.11
    a Python-to-Python call does not grow the C stack, so only the limit needs raising;
    a chain of 30,000 layers builds on the main thread's default stack.
    """
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(old + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
