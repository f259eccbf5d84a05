"""The IR: a flat graph of named layer nodes, where every stage of archspec meets.

Expansion produces it from a spec, the Keras emitter turns it into a model, and every
node remembers the YAML position and the spec path it came from, so any later stage
can report a problem at the line that caused it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from archspec.errors import Loc, SpecError

#: a tensor shape without the batch axis; None is an unknown size
Shape = tuple[int | None, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a node came from: a YAML position and its instance path in the spec."""

    loc: Loc | None
    path: str

    def error(self, message: str, hint: str | None = None, loc: Loc | None = None) -> SpecError:
        """An error about this place (or about ``loc`` within it)."""
        return SpecError(message, loc=loc or self.loc, path=self.path, hint=hint)


@dataclass(slots=True)
class Node:
    """One layer: a unique name, its op, validated attributes and the names of its inputs.

    ``op`` is a registry op name, or ``"input"`` for a model input (then ``attrs`` holds
    ``shape``). ``attrs`` is the op's attribute model instance for registry ops.
    """

    name: str
    op: str
    attrs: Any
    inputs: list[str]
    source: Source
    #: names of the enclosing scopes (stage, block, ...), outermost first
    scopes: tuple[str, ...] = ()
    #: output shape without the batch axis (None for an unknown size)
    shape: Shape = ()
    #: False for a frozen layer: its weights are not trained (Keras's ``trainable``)
    trainable: bool = True
    #: the layer's Keras dtype policy (``mixed_float16``); None for Keras's default
    dtype: str | None = None
    #: the nested ``keras.Sequential`` model the layer sits in (ConvNeXt's stem), or None
    model: str | None = None


@dataclass(slots=True)
class Graph:
    """A whole model: nodes in an order where every node follows its inputs."""

    name: str
    nodes: dict[str, Node] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    #: the nested ``keras.Sequential`` models (see ``Node.model``), each with the name of
    #: the input layer Keras gives it: `input_layer_1` for the first in a fresh session
    models: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.nodes)

    def layer_names(self) -> list[str]:
        return list(self.nodes)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large graph is built or analysed.

    Expansion creates tens of thousands of small, acyclic objects; the collector would
    rescan the growing heap again and again (15% of the time for 40,000 layers).
    Works as ``with gc_paused():`` or as a decorator, ``@gc_paused()``.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
