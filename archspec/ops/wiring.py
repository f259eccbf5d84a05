"""How an op takes its input nodes: one tensor, a list of named nodes, or named operands.

Most layers take the tensor of the step before them. A merge takes a list of named
nodes (``add: [a, b]``); attention takes a query, a value and a key; ``x + 3.0`` takes a
node and a number. A :class:`Wiring` describes this once per op for every stage:

- the expander asks :meth:`Wiring.refs` which nodes an attribute names, to connect them;
- the emitter asks :meth:`Wiring.call` to apply the Keras layer to those tensors;
- the importer asks :meth:`Wiring.read` to turn a recorded call back into attributes,
  refusing whatever the call holds beyond them.

Nothing here imports Keras: the emitter and importer pass Keras objects in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: a reference to a node: its name, or None for the tensor of the step before
Ref = str | None
#: names the node that produced a recorded tensor (given by the importer)
NameOf = Callable[[Any], str]


class CallError(ValueError):
    """A recorded call that the op's attributes cannot describe (the importer's refusal)."""


def is_tensor(value: Any) -> bool:
    """Whether a recorded call argument is a symbolic tensor (without importing Keras)."""
    return type(value).__name__ == "KerasTensor"


@dataclass(frozen=True)
class Wiring:
    """One tensor in, the step before: ``layer(x)``."""

    #: attributes naming nodes; archspec consumes them, Keras's constructor never sees them
    attributes: tuple[str, ...] = ()
    #: keyword arguments of the Keras call that :meth:`read` turns into attributes
    call_arguments: tuple[str, ...] = ()

    def refs(self, attrs: Any) -> list[tuple[str | None, Ref]]:
        """(attribute, node reference) per input, in call order; ``None``: the step before."""
        return [(None, None)]

    def call(self, layer: Any, tensors: Sequence[Any], attrs: Any) -> Any:
        return layer(tensors[0])

    def read(self, args: Sequence[Any], kwargs: dict[str, Any], name_of: NameOf) -> dict[str, Any]:
        """The attribute values a recorded call gives (``kwargs`` as Keras recorded them,
        with what a plain call records by itself already left out)."""
        if len(args) != 1 or not is_tensor(args[0]) or kwargs:
            raise CallError(_shown(args, kwargs, "one tensor"))
        return {}


@dataclass(frozen=True)
class MergeWiring(Wiring):
    """A list of named nodes: ``add: [a, b]`` is ``Add()([a, b])``."""

    attributes: tuple[str, ...] = ("inputs",)

    def refs(self, attrs: Any) -> list[tuple[str | None, Ref]]:
        return [("inputs", ref) for ref in attrs.inputs]

    def call(self, layer: Any, tensors: Sequence[Any], attrs: Any) -> Any:
        return layer(list(tensors))

    def read(self, args: Sequence[Any], kwargs: dict[str, Any], name_of: NameOf) -> dict[str, Any]:
        first = args[0] if len(args) == 1 else None
        if not isinstance(first, list | tuple) or not all(is_tensor(t) for t in first) or kwargs:
            raise CallError(_shown(args, kwargs, "a list of tensors"))
        return {"inputs": [name_of(t) for t in first]}


def _shown(args: Sequence[Any], kwargs: dict[str, Any], expected: str) -> str:
    kinds = [type(a).__name__ for a in args] + [f"{k}=..." for k in kwargs]
    return f"called with ({', '.join(kinds)}); archspec reads calls on {expected}"


SINGLE = Wiring()
MERGE = MergeWiring()
