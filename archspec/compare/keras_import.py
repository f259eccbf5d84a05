"""Keras model to a comparable graph: the layers, their configs and their connections.

Any functional Keras model (a compiled spec, a ``keras.applications`` model, a
hand-written reference) is read into :class:`ModelGraph`, whose nodes are ordered
canonically: a depth-first walk from the outputs that visits each layer's inputs in
order. Two models built the same way give the same order whatever their layer names
and whatever order their layers were created in, which is what lets
:mod:`archspec.compare.structural` line them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: config keys that carry no architectural meaning
IGNORED_CONFIG_KEYS = frozenset({"name"})


@dataclass
class LayerNode:
    """One layer of an imported model."""

    name: str
    class_name: str
    config: dict[str, Any]
    inputs: list[int]
    output_shape: Any
    trainable_params: int
    non_trainable_params: int
    layer: Any = field(default=None, repr=False, compare=False)


@dataclass
class ModelGraph:
    """An imported model: canonically ordered layers and the indices of its outputs."""

    name: str
    layers: list[LayerNode]
    outputs: list[int]

    @property
    def trainable_params(self) -> int:
        return sum(n.trainable_params for n in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return sum(n.non_trainable_params for n in self.layers)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


def _count(weights: list[Any]) -> int:
    total = 0
    for w in weights:
        size = 1
        for dim in w.shape:
            size *= int(dim)
        total += size
    return total


def _normalise(config: dict[str, Any], input_rank: int | None) -> dict[str, Any]:
    out = {k: v for k, v in config.items() if k not in IGNORED_CONFIG_KEYS}
    # `axis=-1` and `axis=3` are the same layer on a rank-4 tensor
    axis = out.get("axis")
    if input_rank is not None and isinstance(axis, int) and axis < 0:
        out["axis"] = axis + input_rank
    if isinstance(axis, list | tuple) and input_rank is not None:
        out["axis"] = [a + input_rank if a < 0 else a for a in axis]
    return out


def _inbound(layer: Any) -> list[Any]:
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return []
    return [t._keras_history.operation for t in nodes[0].input_tensors]


def import_keras(model: Any) -> ModelGraph:
    """Read a functional Keras model into a canonically ordered :class:`ModelGraph`."""
    order: list[Any] = []
    index: dict[int, int] = {}
    outputs = [t._keras_history.operation for t in model.outputs]

    # iterative post-order DFS: deep nets (ResNet-152) exceed Python's recursion limit
    for root in outputs:
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            layer, expanded = stack.pop()
            if id(layer) in index:
                continue
            if expanded:
                index[id(layer)] = len(order)
                order.append(layer)
                continue
            stack.append((layer, True))
            for parent in reversed(_inbound(layer)):
                if id(parent) not in index:
                    stack.append((parent, False))

    nodes = []
    for layer in order:
        parents = _inbound(layer)
        in_shape = parents and getattr(layer._inbound_nodes[0].input_tensors[0], "shape", None)
        rank = len(in_shape) if in_shape else None
        config = layer.get_config()
        if layer.__class__.__name__ == "InputLayer":
            config = {k: v for k, v in config.items() if k in ("batch_shape", "dtype", "sparse")}
        out_tensor = layer._inbound_nodes[0].output_tensors if layer._inbound_nodes else []
        out_shape = (
            tuple(out_tensor[0].shape)
            if len(out_tensor) == 1
            else [tuple(t.shape) for t in out_tensor]
        )
        nodes.append(
            LayerNode(
                name=layer.name,
                class_name=layer.__class__.__name__,
                config=_normalise(config, rank),
                inputs=[index[id(p)] for p in parents],
                output_shape=out_shape,
                trainable_params=_count(layer.trainable_weights),
                non_trainable_params=_count(layer.non_trainable_weights),
                layer=layer,
            )
        )
    return ModelGraph(model.name, nodes, [index[id(o)] for o in outputs])


def copy_weights(source: Any, target: Any) -> int:
    """Copy every layer's weights from ``source`` into the structurally equal ``target``.

    Layers are paired by canonical position, not by name, so this works between a
    hand-written model and a compiled spec whatever their naming. Returns the number
    of layers whose weights were copied.
    """
    a, b = import_keras(source), import_keras(target)
    if len(a.layers) != len(b.layers):
        raise ValueError(f"models differ in size: {len(a.layers)} and {len(b.layers)} layers")
    copied = 0
    for src, dst in zip(a.layers, b.layers, strict=True):
        weights = src.layer.get_weights()
        if weights:
            dst.layer.set_weights(weights)
            copied += 1
    return copied
