"""The op registry: every layer kind archspec knows, each defined once.

An :class:`OpDef` holds the spec name of a layer kind, its aliases, its attribute model
(a pydantic model whose fields are named as Keras names them), its static shape,
parameter and MAC rules, the Keras layer class it becomes, and which attribute a
shorthand value fills (``dropout: 0.5``). The validator, the expander, the analyser,
the emitter and the schema generator all read this one table.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from archspec.errors import SpecError
from archspec.ops import constraints, costs, initializers
from archspec.ops.shapes import Shape, ShapeError, fmt
from archspec.ops.wiring import MERGE, SINGLE, Wiring

#: The most values one tensor of a layer may hold: each weight tensor, and the layer's
#: output for one example. It is the largest count a 32-bit index reaches, which many
#: TensorFlow kernels use (8 GiB of float32). A layer that would pass it is refused when
#: the spec is checked, rather than failing (or exhausting memory) when Keras builds it.
MAX_TENSOR_ELEMENTS = 2**31 - 1
#: what Keras's regularizer names stand for
REGULARIZER_NAMES = {
    "l1": {"class_name": "L1", "config": {"l1": 0.01}},
    "l2": {"class_name": "L2", "config": {"l2": 0.01}},
    "l1_l2": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.01}},
}


class Attrs(BaseModel):
    """Base of every op's attribute model: unknown attributes are errors, never ignored."""

    # built on first use: a spec uses a few of the ops, and start-up time matters
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        """Every attribute, defaults included, in one spelling per meaning.

        Two layers are configured alike exactly when their canonical forms are equal:
        ``uniform`` and ``random_uniform``, ``l2`` and ``{l2: 0.01}`` compare equal (models
        with per-axis sizes add their own rule: ``strides: 1`` and ``[1, 1]``). Merge
        inputs are connections, not attributes.
        """
        out: dict[str, Any] = {}
        for key, value in self.model_dump(exclude={"inputs"}).items():
            if isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            elif key.endswith("_initializer"):
                value = initializers.canonical(getattr(self, key))
            elif key.endswith("_constraint") and value is not None:
                value = constraints.canonical(getattr(self, key))
            elif key.endswith("_regularizer") and value is not None:
                value = _regularizer_canonical(value)
            elif key == "activation":
                # what Keras stores: "linear" for no activation, `silu` for `swish`
                value = ACTIVATION_ALIASES.get(value or "linear", value or "linear")
            out[key] = value
        return out


def _regularizer_canonical(value: str | dict[str, Any]) -> dict[str, Any]:
    """A regularizer's Keras config with its factors at float32 precision.

    Keras keeps an L1 factor as a float32 tensor, so `{l1: 0.01}` reads back from a model
    as 0.009999999776; both sides are compared as float32 holds them.
    """
    config = REGULARIZER_NAMES[value] if isinstance(value, str) else value
    factors = {k: _float32(v) for k, v in config["config"].items()}
    return {"class_name": config["class_name"], "config": factors}


def _float32(x: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:  # beyond float32's range, as Keras's tensor holds it
        return math.inf


#: activations Keras saves under another name (`keras.activations.serialize`)
ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def snake_case(class_name: str) -> str:
    """A class name as Keras turns it into a layer name (`keras.src.utils.naming`):
    `BatchNormalization` -> `batch_normalization`, `ReLU` -> `re_lu`."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass(frozen=True)
class OpDef:
    """One layer kind."""

    name: str
    keras_class: str
    attrs: type[Attrs]
    #: output shape (without the batch axis) from attributes and input shapes; raises
    #: ShapeError for inputs Keras would refuse
    output_shape: Callable[[Any, Sequence[Shape]], Shape]
    doc: str
    aliases: tuple[str, ...] = ()
    #: attribute filled by a scalar or list written in place of the attribute mapping
    shorthand: str | None = None
    #: merge ops take their inputs by node name through the ``inputs`` attribute
    merge: bool = False
    #: attributes that archspec consumes and does not pass to the Keras constructor
    internal: frozenset[str] = field(default_factory=frozenset)
    #: how the op takes its input nodes (default: the step before; merges: ``inputs``)
    wiring: Wiring | None = None
    #: the module of ``keras_class``: Keras's layers, or where a keras.ops operation or
    #: a layer keras.applications defines for itself lives
    keras_module: str = "keras.layers"
    #: builds the Keras object from its class, name and attributes (and ``dtype=`` when
    #: a policy is set), for ops whose constructor takes more than keyword arguments (a
    #: wrapper takes a layer)
    build: Callable[..., Any] | None = None
    #: False for a keras.ops operation: no weights, so no `trainable` and no `dtype`
    layer: bool = True
    #: the name a node of this op gets when the spec names none (`ops.add`: `add`)
    node_name: str = field(init=False)
    #: the name Keras gives an unnamed object of ``keras_class`` before numbering it
    #: (`ReLU`: `re_lu`), for specs with ``auto_names: keras``
    keras_name: str = field(init=False)
    #: the weight tensors Keras creates, from attributes, input and output shapes
    weights: Callable[..., list[costs.Weight]] = costs.no_weights
    #: multiply-accumulates from attributes, input and output shapes (None: unknown)
    macs: Callable[..., int | None] = costs.zero_macs

    def __post_init__(self) -> None:
        if self.wiring is None:
            object.__setattr__(self, "wiring", MERGE if self.merge else SINGLE)
        taken = frozenset(self.wires.attributes)
        object.__setattr__(self, "internal", self.internal | taken)
        object.__setattr__(self, "node_name", self.name.rpartition(".")[2])
        object.__setattr__(self, "keras_name", snake_case(self.keras_class))

    @property
    def wires(self) -> Wiring:
        """How the op takes its input nodes (never None after construction)."""
        assert self.wiring is not None
        return self.wiring

    def keras_type(self) -> Any:
        """The Keras class (imports Keras)."""
        import importlib

        return getattr(importlib.import_module(self.keras_module), self.keras_class)

    def make(
        self, name: str, attrs: Attrs, *, trainable: bool = True, dtype: str | None = None
    ) -> Any:
        """The Keras layer or operation of a node (imports Keras).

        ``dtype`` is the layer's dtype policy (None: Keras's default); ``trainable=False``
        freezes it, as a person does after building it.
        """
        cls = self.keras_type()
        settings = {} if dtype is None else {"dtype": dtype}
        if self.build is not None:
            made = self.build(cls, name, attrs, **settings)
        else:
            made = cls(name=name, **settings, **self.keras_kwargs(attrs))
        if not trainable:
            made.trainable = False
        return made

    def shape(self, attrs: Attrs, inputs: Sequence[Shape]) -> Shape:
        """The output shape, once the layer is known to be buildable on these inputs.

        Runs the shape rule, then sizes the output and every weight tensor: a weight
        that depends on an unknown size, or a tensor larger than
        :data:`MAX_TENSOR_ELEMENTS`, raises :class:`ShapeError`. The expander calls this
        for every node, so whatever validates, Keras can build.
        """
        output = self.output_shape(attrs, inputs)
        if _size(output) > MAX_TENSOR_ELEMENTS:
            raise _too_large("the output", output, " per example")
        if self.weights is not costs.no_weights:
            for weight in self.weights(attrs, inputs, output):
                if _size(weight.shape) > MAX_TENSOR_ELEMENTS:
                    raise _too_large(f"weight `{weight.name}` {fmt(weight.shape)}", weight.shape)
        return output

    def params(self, attrs: Attrs, inputs: Sequence[Shape], output: Shape) -> costs.Params:
        """(trainable, non-trainable) parameters, as Keras's ``count_params`` counts them."""
        return costs.count(self.weights(attrs, inputs, output))

    def keras_kwargs(self, attrs: Attrs) -> dict[str, Any]:
        """Constructor keyword arguments: only what the spec set, so Keras keeps its defaults."""
        data = attrs.model_dump(exclude_unset=True, exclude=set(self.internal))
        return {k: _plain(v) for k, v in data.items()}


def _size(shape: Shape) -> int:
    """Values in a tensor of this shape, counting the known sizes (runs once per node)."""
    size = 1
    for d in shape:
        if d is not None:
            size *= d
    return size


def _too_large(what: str, shape: Shape, per: str = "") -> ShapeError:
    return ShapeError(
        f"{what} would hold {_size(shape):,} values{per}, more than the limit of "
        f"{MAX_TENSOR_ELEMENTS:,}"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


class Registry:
    """Lookup of ops by name or alias, importing op families and plugins on first use.

    Start-up time matters for the commands that never build a model: most specs use
    the core layers only, so a family module (recurrent layers, attention, ...) is
    imported when one of its names is first looked up, and installed plugins are read
    when a name is neither a loaded op nor a family's. Listing every op loads them all.
    """

    def __init__(self) -> None:
        self._ops: dict[str, OpDef] = {}
        self._names: dict[str, OpDef] = {}
        #: op name or alias -> the module that registers it, until that is imported
        self._lazy: dict[str, str] = {}
        #: reads installed plugins (once), see :func:`load_plugins`
        self._plugin_loader: Callable[[], None] | None = None

    def add(self, op: OpDef) -> OpDef:
        for name in (op.name, *op.aliases):
            if name in self._names:
                raise ValueError(f"op name `{name}` registered twice")
            self._names[name] = op
        self._ops[op.name] = op
        return op

    def defer(self, module: str, names: Sequence[str], plugins: Callable[[], None]) -> None:
        """Register ``names`` (aliases included) as defined by ``module``, imported on use;
        ``plugins`` reads the installed plugins when a name is not found otherwise."""
        for name in names:
            self._lazy[name] = module
        self._plugin_loader = plugins

    def get(self, name: str) -> OpDef | None:
        op = self._names.get(name)
        if op is not None:
            return op
        module = self._lazy.get(name) if isinstance(name, str) else None
        if module is not None:
            self._import(module)
        else:
            self.read_plugins()
        return self._names.get(name)

    def __getitem__(self, name: str) -> OpDef:
        op = self.get(name)
        if op is None:
            raise KeyError(name)
        return op

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def names(self) -> list[str]:
        """Every spelling a spec may use (canonical names and aliases)."""
        self.load_all()
        return sorted(self._names)

    def ops(self) -> list[OpDef]:
        self.load_all()
        return list(self._ops.values())

    def load_all(self) -> None:
        """Import every op family and read the plugins."""
        for module in sorted(set(self._lazy.values())):
            self._import(module)
        self.read_plugins()

    def _import(self, module: str) -> None:
        import importlib

        importlib.import_module(module)
        for name in [n for n, m in self._lazy.items() if m == module]:
            if name not in self._names:
                raise RuntimeError(f"{module} does not define the op `{name}` it is listed for")
            del self._lazy[name]

    def read_plugins(self) -> None:
        """Read the installed plugins, once."""
        loader, self._plugin_loader = self._plugin_loader, None
        if loader is not None:
            loader()

    def by_keras_type(self, cls: type) -> OpDef | None:
        """The op whose Keras class is exactly ``cls`` (a subclass is another layer)."""
        for op in self.ops():
            if op.keras_class == cls.__name__ and op.keras_type() is cls:
                return op
        return None


REGISTRY = Registry()


#: the entry-point group through which installed packages add ops
PLUGIN_GROUP = "archspec.ops"


class PluginError(SpecError):
    """An installed op plugin that cannot be used (it fails to load, or clashes)."""


def load_plugins(
    registry: Registry, entry_points: Sequence[Any] | None = None
) -> tuple[list[str], list[PluginError]]:
    """Add the ops of every installed plugin: the plugins loaded, and those refused.

    A plugin is an installed package that declares, in the ``archspec.ops`` entry-point
    group, a function returning its :class:`OpDef` entries. Each op is defined exactly
    like a built-in one, so validation, analysis, the schema and diff work for it too.
    Only installed packages are read: nothing in a spec can load code. A plugin that
    fails, returns something other than ops, or reuses a name is refused as a whole
    (none of its ops is added), and its :class:`PluginError` is returned for the caller
    to report: one broken package must not make archspec unusable.
    """
    if entry_points is None:
        from importlib.metadata import entry_points as installed

        entry_points = list(installed(group=PLUGIN_GROUP))
    loaded: list[str] = []
    refused: list[PluginError] = []
    for entry in sorted(entry_points, key=lambda e: e.name):
        try:
            ops = _plugin_ops(entry, registry)
        except PluginError as exc:
            refused.append(exc)
            continue
        for op in ops:
            registry.add(op)
        loaded.append(entry.name)
    return loaded, refused


def _plugin_ops(entry: Any, registry: Registry) -> list[OpDef]:
    where = f"op plugin `{entry.name}` ({entry.value})"
    try:
        ops = list(entry.load()())
    except Exception as exc:  # noqa: BLE001 - any failure of foreign code is reported
        raise PluginError(f"{where} failed to load: {type(exc).__name__}: {exc}") from None
    names: set[str] = set()
    for op in ops:
        if not isinstance(op, OpDef):
            raise PluginError(f"{where} gave a {type(op).__name__}, not an archspec OpDef")
        for name in (op.name, *op.aliases):
            if name in registry or name in names:
                raise PluginError(f"{where} defines `{name}`, which is already an op")
            names.add(name)
    return ops
