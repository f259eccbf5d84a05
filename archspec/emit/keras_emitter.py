"""IR to a Keras 3 functional model. The only module that builds Keras layers.

Keras is imported inside :func:`to_keras`, so importing archspec (for validation,
analysis or diffs) never loads TensorFlow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TYPE_CHECKING, Any

from archspec.errors import SpecError
from archspec.ir.graph import Graph
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


def to_keras(graph: Graph, *, quiet: bool = True) -> keras.Model:
    """Build ``keras.Model(inputs, outputs)`` with one layer per IR node, in IR order."""
    keras = import_keras(quiet=quiet)

    tensors: dict[str, Any] = {}
    for node in graph.nodes.values():
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=node.attrs["shape"], name=node.name)
            continue
        op = REGISTRY.get(node.op)
        assert op is not None, node.op
        layer_class = getattr(keras.layers, op.keras_class)
        layer = layer_class(name=node.name, **op.keras_kwargs(node.attrs))
        args = [tensors[i] for i in node.inputs]
        try:
            tensors[node.name] = layer(args if op.merge else args[0])
        except ValueError as exc:
            # Keras found an inconsistency the spec could not show statically (a shape
            # mismatch at a merge, a window larger than its input, ...)
            detail = str(exc).strip().splitlines()[0]
            raise SpecError(
                f"Keras cannot build `{node.name}` ({op.keras_class}): {detail}",
                loc=node.source.loc,
                path=node.source.path,
            ) from None
    outputs = [tensors[o] for o in graph.outputs]
    inputs = [tensors[i] for i in graph.inputs]
    return keras.Model(
        inputs=inputs[0] if len(inputs) == 1 else inputs,
        outputs=outputs[0] if len(outputs) == 1 else outputs,
        name=graph.name,
    )
