"""Static analysis of an IR graph: shape, parameters and MACs per layer and per scope.

Everything is computed from the registry's rules and the shapes the expander already
inferred, so analysing ResNet-152 takes milliseconds and never imports a framework.
Scopes are the stage and block names a layer sits in (``conv4`` > ``block3``); their
figures are the sums of the layers inside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archspec.errors import SpecError
from archspec.ir.graph import Graph, Shape, gc_paused
from archspec.ops import REGISTRY


@dataclass
class LayerStats:
    name: str
    op: str
    path: str
    scopes: tuple[str, ...]
    output_shape: Shape
    trainable_params: int
    non_trainable_params: int
    macs: int | None
    #: False for a frozen layer
    trainable: bool = True
    #: the layer's dtype policy where it is not Keras's default
    dtype: str | None = None

    @property
    def label(self) -> str:
        """The op, with what sets the layer apart: ``conv2d, frozen, mixed_float16``."""
        marks = [] if self.trainable else ["frozen"]
        return ", ".join([self.op, *marks, *([self.dtype] if self.dtype else [])])

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass
class Totals:
    """Summed figures of a group of layers (a scope, a stage, a whole model)."""

    layers: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int | None = 0

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    def add(self, layer: LayerStats, count: bool = True) -> None:
        self.layers += int(count)
        self.trainable_params += layer.trainable_params
        self.non_trainable_params += layer.non_trainable_params
        self.macs = _add_macs(self.macs, layer.macs)

    def merge(self, other: Totals) -> None:
        self.layers += other.layers
        self.trainable_params += other.trainable_params
        self.non_trainable_params += other.non_trainable_params
        self.macs = _add_macs(self.macs, other.macs)

    def figures(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
        }


@dataclass
class ScopeStats(Totals):
    """A stage or block: the sum of the layers inside it."""

    name: str = ""
    scopes: tuple[str, ...] = ()
    output_shape: Shape = ()
    first: int = 0  # index of its first layer, to keep the model's order
    last: int = -1  # index of its last layer, whose shape is the scope's output shape

    @property
    def depth(self) -> int:
        return len(self.scopes)


@dataclass
class Analysis:
    name: str
    layers: list[LayerStats]
    scopes: list[ScopeStats]
    totals: ScopeStats = field(default_factory=lambda: ScopeStats(name="total"))

    @gc_paused()  # tens of thousands of fresh dicts
    def to_json(self) -> dict[str, Any]:
        """The ``info --json`` document (one dict per layer and per scope)."""
        return {
            "name": self.name,
            "totals": self.totals.figures(),
            "layers": [
                {
                    "name": layer.name,
                    "op": layer.op,
                    "path": layer.path,
                    "scope": "/".join(layer.scopes),
                    "output_shape": list(layer.output_shape),
                    "params": layer.params,
                    "trainable_params": layer.trainable_params,
                    "non_trainable_params": layer.non_trainable_params,
                    "macs": layer.macs,
                    "trainable": layer.trainable,
                    "dtype": layer.dtype or "float32",
                }
                for layer in self.layers
            ],
            "blocks": [
                {
                    "name": s.name,
                    "scope": "/".join(s.scopes),
                    "depth": s.depth,
                    "layers": s.layers,
                    "output_shape": list(s.output_shape),
                    **s.figures(),
                }
                for s in self.scopes
            ],
        }


def _add_macs(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def layer_stats(graph: Graph) -> list[LayerStats]:
    """Figures of every layer (inputs included, with zeros), in graph order."""
    out = []
    for node in graph.nodes.values():
        if node.op == "input":
            out.append(LayerStats(node.name, "input", node.source.path, (), node.shape, 0, 0, 0))
            continue
        op = REGISTRY.get(node.op)
        assert op is not None
        inputs = [graph.nodes[i].shape for i in node.inputs]
        try:
            trainable, non_trainable = op.params(node.attrs, inputs, node.shape)
            macs = op.macs(node.attrs, inputs, node.shape)
        except ValueError as exc:
            raise SpecError(
                f"`{node.op}`: {exc}", loc=node.source.loc, path=node.source.path
            ) from None
        if not node.trainable:  # a frozen layer: none of its weights are trained
            trainable, non_trainable = 0, trainable + non_trainable
        out.append(
            LayerStats(
                node.name, node.op, node.source.path, node.scopes, node.shape,
                trainable, non_trainable, macs, node.trainable, node.dtype,
            )
        )  # fmt: skip
    return out


@gc_paused()
def analyse(graph: Graph) -> Analysis:
    """Per-layer and per-scope figures of ``graph``, with model totals."""
    layers = layer_stats(graph)
    scopes: dict[tuple[str, ...], ScopeStats] = {}
    total = ScopeStats(name=graph.name)
    for index, layer in enumerate(layers):
        # each layer is added to its innermost scope; parents are summed once below
        for depth in range(1, len(layer.scopes) + 1):
            key = layer.scopes[:depth]
            if key not in scopes:
                scopes[key] = ScopeStats(name="_".join(key), scopes=key, first=index)
        if layer.scopes:
            _accumulate(scopes[layer.scopes], layer, index)
        _accumulate(total, layer, index, count=layer.op != "input")
    total.output_shape = layers[-1].output_shape if layers else ()
    for key in sorted(scopes, key=len, reverse=True):
        if len(key) > 1:
            _merge(scopes[key[:-1]], scopes[key])
    ordered = sorted(scopes.values(), key=lambda s: (s.first, s.depth))
    return Analysis(graph.name, layers, ordered, total)


def _merge(parent: ScopeStats, child: ScopeStats) -> None:
    parent.merge(child)
    if child.last > parent.last:
        parent.last, parent.output_shape = child.last, child.output_shape


def _accumulate(scope: ScopeStats, layer: LayerStats, index: int, count: bool = True) -> None:
    scope.add(layer, count)
    scope.output_shape, scope.last = layer.output_shape, index
