"""Keras model to IR, so any functional model can be diffed against a spec or another model.

Each layer becomes the registry op of its class, with attributes read from its config.
The import is checked by a round trip: the layer is rebuilt from the imported
attributes and its config must equal the original one. A layer that uses a Keras
setting archspec cannot express (a kernel constraint, a seeded initializer, ...) is
refused, so two models that import equal are configured equally in every respect.
Imported nodes have no scopes; their names carry whatever hierarchy the model had.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import ValidationError

from archspec.errors import SpecError
from archspec.ir.graph import Graph, Node, Source
from archspec.ops import REGISTRY

#: config keys that do not describe the layer's computation
_IGNORED = frozenset({"name", "trainable"})


def _inbound(layer: Any) -> list[Any]:
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return []
    return [t._keras_history.operation for t in nodes[0].input_tensors]


@functools.cache
def _initializer_names() -> dict[str, str]:
    """Keras initializer class name -> the name a spec uses for it."""
    import keras

    from archspec.ops.layers import Initializer

    names: dict[str, str] = {}
    for name in Initializer.__args__:  # type: ignore[attr-defined]
        cls = type(keras.initializers.get(name)).__name__
        names.setdefault(cls, name)
    return names


def _from_keras(key: str, value: Any) -> Any:
    """A Keras config value in the form the attribute models take."""
    if key.endswith("_initializer") and isinstance(value, dict):
        return _initializer_names().get(value.get("class_name", ""), value.get("class_name"))
    if key.endswith("_regularizer") and isinstance(value, dict):
        return dict(value.get("config", {}))
    return value


def _clean(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _IGNORED}


def to_ir(model: Any) -> Graph:
    """The IR graph of a functional Keras model (raises SpecError for what it cannot express)."""
    import keras

    graph = Graph(model.name)
    # a functional model lists its layers in topological order, inputs first
    for layer in model.layers:
        cls = type(layer).__name__
        where = Source(None, f"{model.name}:{layer.name}")
        out_shape = tuple(layer.output.shape[1:])
        if cls == "InputLayer":
            graph.nodes[layer.name] = Node(
                layer.name, "input", {"shape": out_shape}, [], where, shape=out_shape
            )
            graph.inputs.append(layer.name)
            continue
        op = REGISTRY.by_keras_class(cls)
        if op is None:
            raise SpecError(f"layer `{layer.name}` is a {cls}, which archspec has no op for")
        config = layer.get_config()
        data = {
            key: _from_keras(key, config[key])
            for key in op.attrs.model_fields
            if key in config and key not in op.internal
        }
        inputs = [p.name for p in _inbound(layer)]
        if op.merge:
            data["inputs"] = inputs
        try:
            attrs = op.attrs.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            raise SpecError(
                f"layer `{layer.name}` ({cls}): cannot read `{err['loc'][0]}`: {err['msg']}"
            ) from None
        rebuilt = getattr(keras.layers, cls)(name=layer.name, **op.keras_kwargs(attrs))
        original, again = _clean(config), _clean(rebuilt.get_config())
        if original != again:
            keys = sorted(
                k for k in original.keys() | again.keys() if original.get(k) != again.get(k)
            )
            raise SpecError(
                f"layer `{layer.name}` ({cls}) uses settings archspec cannot express: "
                + ", ".join(f"`{k}`" for k in keys)
            )
        graph.nodes[layer.name] = Node(layer.name, op.name, attrs, inputs, where, (), out_shape)
    graph.outputs = [t._keras_history.operation.name for t in model.outputs]
    return graph


def copy_weights(source: Any, target: Any, pairs: list[tuple[str, str]]) -> int:
    """Copy weights from ``source``'s layers into ``target``'s, for (source, target) name pairs.

    The pairs come from a diff's alignment, so this works between models whose layers
    are named differently. Returns the number of layers whose weights were copied.
    """
    copied = 0
    for a, b in pairs:
        weights = source.get_layer(a).get_weights()
        if weights:
            target.get_layer(b).set_weights(weights)
            copied += 1
    return copied
