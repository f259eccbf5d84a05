"""Keras model to IR, so any functional or Sequential model can be diffed against a spec.

The model's graph is walked from its outputs through the calls Keras recorded, so what
is imported is exactly what the model computes. Each call becomes one IR node: the
registry op of its layer class, with attributes read from the layer's config. The
import is checked by a round trip: the layer is rebuilt from the imported attributes
and its config must equal the original one. Whatever archspec cannot represent is
refused with one line, never dropped, so two models that import equal are equal:

- a layer class that is not exactly the ``keras.layers`` class of a registry op (a
  Lambda, a custom layer, a subclass of a Keras layer, a ``keras.ops`` operation);
- a Keras setting archspec cannot express (a kernel constraint, a seeded initializer);
- a layer applied more than once (shared weights), since an IR node is one call;
- a call with more than the input tensors (``layer(x, training=True)``, a mask), beyond
  what Keras records by itself in a plain call;
- a subclassed model, whose ``call`` the recorded graph does not describe.

Whether a layer is trainable is carried on its node. Inputs keep any setting besides
their shape (dtype, batch size, ...). Imported nodes have no scopes; their names carry
whatever hierarchy the model had. Nothing here recurses, so a model of thousands of
layers in a chain imports within Python's recursion limit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, get_args

from pydantic import ValidationError

from archspec.errors import SpecError, printable
from archspec.ir.graph import Graph, Node, Source
from archspec.ops import REGISTRY, constraints, initializers
from archspec.ops.wiring import SINGLE, CallError, MergeWiring, Wiring

#: how a nested model of several inputs is called: with the list of their tensors
_NESTED_LIST = MergeWiring()

#: config keys that do not describe the layer's computation (``trainable`` is on the node)
_IGNORED = frozenset({"name", "trainable"})


def to_ir(model: Any) -> Graph:
    """The IR graph of a functional or Sequential model (SpecError for what it cannot express)."""
    _check_model_class(model)
    reader = _Reader(model)
    reader.read(model, ())
    graph = reader.graph
    graph.inputs = [reader.name_of(t) for t in model.inputs]
    graph.outputs = [reader.name_of(t) for t in model.outputs]
    return graph


#: how deep models may be nested in one another (ConvNeXt nests one level)
MAX_NESTING = 16


class _Reader:
    """Reads the calls of a model, and of the models nested in it, into one graph.

    A nested functional or Sequential model (ConvNeXt's stem) is read in place: its
    layers become nodes scoped by its name, its inputs are the tensors the outer call
    passed, and its outputs stand for the outer call's outputs.
    """

    def __init__(self, model: Any) -> None:
        self.top = model
        self.graph = Graph(model.name)
        #: id of a tensor -> the node that stands for it, where not its producer
        self.alias: dict[int, str] = {}
        self.keep: list[Any] = []  # tensors whose ids are in `alias` stay alive

    def name_of(self, tensor: Any) -> str:
        return self.alias.get(id(tensor)) or _producer(tensor).operation.name

    def read(self, model: Any, scopes: tuple[str, ...]) -> None:
        import keras

        for call in _calls(model):
            layer = call.operation
            if type(layer) is keras.layers.InputLayer:
                if not scopes:
                    self._add(_input_node(model, layer, call))
            elif isinstance(layer, keras.Model):
                self._nested(layer, call, scopes)
            else:
                self._add(_layer_node(self.top, layer, call, self.name_of, scopes))

    def _nested(self, model: Any, call: Any, scopes: tuple[str, ...]) -> None:
        import keras

        if len(scopes) >= MAX_NESTING:
            raise SpecError(f"model `{_name(model)}` is nested more than {MAX_NESTING} models deep")
        _check_model_class(model)
        _check_call(model, call, SINGLE if len(model.inputs) == 1 else _NESTED_LIST)
        for inner, outer in zip(model.inputs, call.input_tensors, strict=True):
            self._alias(inner, self.name_of(outer))
        first = len(self.graph.nodes)
        self.read(model, (*scopes, model.name))
        if isinstance(model, keras.Sequential):
            # its layers, as a spec's `sequential` call marks them (the innermost model
            # of nested ones)
            for name in list(self.graph.nodes)[first:]:
                node = self.graph.nodes[name]
                node.model = node.model or model.name
            self.graph.models[model.name] = model.inputs[0]._keras_history.operation.name
        for outer, inner in zip(call.outputs, model.outputs, strict=True):
            self._alias(outer, self.name_of(inner))

    def _alias(self, tensor: Any, name: str) -> None:
        self.alias[id(tensor)] = name
        self.keep.append(tensor)

    def _add(self, node: Node) -> None:
        if node.name in self.graph.nodes:
            raise SpecError(
                f"two layers are named `{printable(node.name)}` (one in a nested model), "
                "which one graph cannot hold"
            )
        self.graph.nodes[node.name] = node


def _name(layer: Any) -> str:
    """A layer's or model's name, safe to put in a message."""
    return printable(str(getattr(layer, "name", "?")))


# ---------------------------------------------------------------------------- the graph


def _check_model_class(model: Any) -> None:
    """Refuse a model whose recorded graph may not be what it computes."""
    import keras
    from keras.src.models.functional import Functional  # the class of keras.Model(in, out)

    name, cls = _name(model), printable(type(model).__qualname__)
    base = keras.Sequential if isinstance(model, keras.Sequential) else Functional
    if not isinstance(model, base):
        raise SpecError(
            f"model `{name}` is a subclassed model ({cls}): archspec reads functional "
            "and Sequential models, whose layers and connections Keras records"
        )
    if type(model).call is not base.call:
        raise SpecError(
            f"model `{name}` ({cls}) overrides `call`, so its recorded graph may not be "
            "what it computes"
        )
    try:
        model.outputs  # noqa: B018 - a Sequential model without an input shape has none
    except (AttributeError, ValueError):
        raise SpecError(
            f"model `{name}` has no input shape yet, so it has no graph to compare "
            "(start it with keras.Input)"
        ) from None


def _producer(tensor: Any) -> Any:
    """The call (a Keras graph node) that produced ``tensor``."""
    operation, node_index, _ = tensor._keras_history
    return operation._inbound_nodes[node_index]


def _calls(model: Any) -> list[Any]:
    """The model's calls, each after the calls that feed it: inputs, then post-order.

    An explicit stack instead of recursion, so a chain of any length is walked.
    """
    order: list[Any] = []
    done: set[int] = set()
    calls_of: dict[int, list[Any]] = {}
    roots = [_producer(t) for t in (*model.inputs, *model.outputs)]
    stack: list[tuple[Any, bool]] = [(call, False) for call in reversed(roots)]
    while stack:
        call, expanded = stack.pop()
        if id(call) in done:
            continue
        if expanded:
            done.add(id(call))
            order.append(call)
            calls_of.setdefault(id(call.operation), []).append(call)
            continue
        stack.append((call, True))
        stack.extend((_producer(t), False) for t in reversed(call.input_tensors))
    for calls in calls_of.values():
        if len(calls) > 1:
            raise SpecError(
                f"layer `{_name(calls[0].operation)}` is applied {len(calls)} times "
                "(shared weights), which archspec cannot represent: each of its "
                "layers is applied once"
            )
    return order


# ---------------------------------------------------------------------------- nodes


def _input_node(model: Any, layer: Any, call: Any) -> Node:
    """A model input, with any setting a plain ``keras.Input(shape)`` would not have."""
    import keras

    batch_shape = tuple(call.outputs[0].shape)
    shape = batch_shape[1:]
    plain = keras.layers.InputLayer(batch_shape=(None, *shape), name=layer.name).get_config()
    settings = {
        key: value
        for key, value in layer.get_config().items()
        if key != "name" and plain.get(key) != value
    }
    if settings.pop("batch_shape", None) is not None:
        settings["batch_size"] = batch_shape[0]  # the only part the shape does not hold
    where = Source(None, f"{_name(model)}:{_name(layer)}")
    return Node(layer.name, "input", {"shape": shape, **settings}, [], where, shape=shape)


def _layer_node(
    model: Any, layer: Any, call: Any, name_of: Callable[[Any], str], scopes: tuple[str, ...]
) -> Node:
    """A layer call: its registry op, attributes checked by a round trip, its inputs."""
    name, cls = _name(layer), type(layer).__name__
    op = REGISTRY.by_keras_type(type(layer))
    if op is None:
        raise SpecError(f"layer `{name}` is a {_class_label(layer)}, which archspec has no op for")
    wired = _check_call(layer, call, op.wires, name_of)
    config = layer.get_config()
    data = {
        key: _from_keras(key, config[key])
        for key in op.attrs.model_fields
        if key in config and key not in op.internal
    }
    data.update(wired)
    try:
        attrs = op.attrs.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = printable(str(err["loc"][0])) if err["loc"] else "?"
        raise SpecError(
            f"layer `{name}` ({cls}): cannot read `{field}`: "
            + printable(err["msg"].removeprefix("Value error, "))
        ) from None
    dtype = _dtype_policy(layer) if op.layer else None
    trainable = bool(getattr(layer, "trainable", True))  # a keras.ops operation has no weights
    # freezing a wrapper freezes the layer it wraps, which its config records
    rebuilt = op.make(layer.name, attrs, trainable=trainable, dtype=dtype)
    original, again = _clean(config), _clean(rebuilt.get_config())
    if original != again:
        keys = sorted(k for k in original.keys() | again.keys() if original.get(k) != again.get(k))
        raise SpecError(
            f"layer `{name}` ({cls}) uses settings archspec cannot express: "
            + ", ".join(f"`{printable(str(k))}`" for k in keys)
        )
    # the nodes the attributes name, in call order: Keras lists keyword tensors by name
    refs = [ref for _, ref in op.wires.refs(attrs)]
    if refs and all(ref is not None for ref in refs):
        inputs = [str(ref) for ref in refs]
    else:
        inputs = [name_of(t) for t in call.input_tensors]
    shape = tuple(call.outputs[0].shape[1:])
    where = Source(None, f"{_name(model)}:{name}")
    return Node(
        layer.name, op.name, attrs, inputs, where, scopes, shape, trainable=trainable, dtype=dtype
    )


def _dtype_policy(layer: Any) -> str | None:
    """The layer's dtype policy as a spec names it (None: Keras's default, float32)."""
    from archspec.spec.models import DtypePolicy

    name = getattr(getattr(layer, "dtype_policy", None), "name", "float32")
    if name not in get_args(DtypePolicy):
        raise SpecError(
            f"layer `{_name(layer)}` has the dtype policy `{printable(str(name))}`, which "
            "archspec cannot express"
        )
    return None if name == "float32" else name


def _class_label(layer: Any) -> str:
    """``LSTM`` for a Keras layer, ``module.Class`` for anything else."""
    import keras

    cls = type(layer)
    if getattr(keras.layers, cls.__name__, None) is cls:
        return cls.__name__
    return printable(f"{cls.__module__}.{cls.__qualname__}")


def _check_call(
    layer: Any, call: Any, wiring: Wiring, name_of: Callable[[Any], str] | None = None
) -> dict[str, Any]:
    """The attributes a recorded call gives; refuses a call holding more than they say."""
    from keras import KerasTensor

    kwargs = {}
    for key, value in call.arguments.kwargs.items():
        if _recorded_by_keras(layer, key, value):
            continue
        if key not in wiring.call_arguments:
            shown = "a tensor" if isinstance(value, KerasTensor) else _short(value)
            raise SpecError(
                f"layer `{_name(layer)}` is called with `{printable(str(key))}={shown}`, "
                "which archspec cannot represent"
            )
        kwargs[key] = value
    try:
        return wiring.read(call.arguments.args, kwargs, name_of or (lambda t: ""))
    except CallError as exc:
        raise SpecError(f"layer `{_name(layer)}` is {printable(str(exc))}") from None


def _recorded_by_keras(layer: Any, key: str, value: Any) -> bool:
    """Whether Keras records ``key=value`` in a plain call ``layer(x)`` by itself.

    It does for an absent mask (``mask=None``) and for the default of the layer's
    ``call`` signature (Dropout records ``training=False``), so these say nothing.
    """
    if all(leaf is None for leaf in _leaves(value)):
        return True
    try:
        parameter = inspect.signature(layer.call).parameters.get(key)
    except (TypeError, ValueError):
        return False
    default = inspect.Parameter.empty if parameter is None else parameter.default
    # the type first: comparing a tensor would build an operation, not give a bool
    return type(default) is type(value) and default == value


def _leaves(value: Any) -> Iterator[Any]:
    """The items of a nested structure of lists, tuples and dicts, without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        else:
            yield item


def _short(value: Any, limit: int = 40) -> str:
    text = printable(repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _from_keras(key: str, value: Any) -> Any:
    """A Keras config value in the form the attribute models take."""
    if key.endswith("_initializer") and isinstance(value, dict):
        return initializers.from_keras(value)
    if key.endswith("_constraint") and isinstance(value, dict):
        return constraints.from_keras(value)
    if key.endswith("_regularizer") and isinstance(value, dict):
        return dict(value.get("config", {}))
    return value


def _clean(config: dict[str, Any]) -> dict[str, Any]:
    """The config's settings, tuples as lists (as a saved config holds them)."""
    return {k: _as_lists(v) for k, v in config.items() if k not in _IGNORED}


def _as_lists(value: Any) -> Any:
    """Tuples as lists, through nested configs (a wrapper's layer); a nested layer's
    `build_config` (the shape it was built on) is not a setting."""
    if isinstance(value, list | tuple):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items() if k != "build_config"}
    return value


def copy_weights(source: Any, target: Any, pairs: list[tuple[str, str]]) -> int:
    """Copy weights from ``source``'s layers into ``target``'s, for (source, target) name pairs.

    The pairs come from a diff's alignment, so this works between models whose layers
    are named differently. Returns the number of layers whose weights were copied.
    """
    theirs, ours = leaf_layers(source), leaf_layers(target)
    copied = 0
    for a, b in pairs:
        if a not in theirs:  # a tensor operation (`x + 3.0`): no weights
            continue
        weights = theirs[a].get_weights()
        if weights:
            ours[b].set_weights(weights)
            copied += 1
    return copied


def leaf_layers(model: Any) -> dict[str, Any]:
    """Every layer of a model by name, those of nested models included (as the importer
    reads them in place), but not the nested models themselves."""
    import keras

    found: dict[str, Any] = {}
    stack = list(reversed(model.layers))
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.Model):
            stack.extend(reversed(layer.layers))
        else:
            found[layer.name] = layer
    return found
