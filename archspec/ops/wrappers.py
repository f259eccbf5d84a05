"""Wrappers: one layer applied to every step of a sequence, or read both ways along it.

A wrapper's ``layer`` is written exactly as a step: an op name (``flatten``) or a
one-key mapping from op to attributes (``{conv2d: {filters: 8, kernel_size: 3}}``,
``{dense: 8}``), optionally with a ``name`` beside the op. The wrapped op's own
attribute model validates it, so its errors read like any other attribute error, and
its own shape, weight and MAC rules size it.

- ``time_distributed`` (keras.layers.TimeDistributed) applies the layer to each step:
  ``(steps, *inner) -> (steps, *inner_out)``; its weights are the layer's, shared by
  the steps, and its MACs those of one step times the number of steps.
- ``bidirectional`` (keras.layers.Bidirectional) runs a recurrent layer forwards and a
  copy of it backwards (or a ``backward_layer``) and merges the two outputs.

Keras wraps layers only: a keras.ops operation, a layer taking several inputs (a merge,
attention) or, for ``TimeDistributed``, a layer without an output-shape rule cannot be
wrapped, and each is refused with its reason. A wrapper may wrap another where Keras
builds it: ``TimeDistributed(Bidirectional(LSTM))`` and ``TimeDistributed(TimeDistributed)``
do; ``Bidirectional`` takes only a layer that reads a sequence backwards (``go_backwards``).

A model read back from Keras gives each wrapped layer in Keras's serialised form
(``{module, class_name, config}``); the ``layer`` attributes accept that form too, so the
importer reads wrappers like any other layer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from archspec.errors import did_you_mean, yaml11_hint
from archspec.ops.costs import Weight
from archspec.ops.registry import REGISTRY, Attrs, OpDef
from archspec.ops.shapes import Shape, ShapeError, fmt

#: Layers Keras cannot wrap in TimeDistributed, which asks the wrapped layer for its output
#: shape: these keras.applications layers define no ``compute_output_shape``
NO_OUTPUT_SHAPE_RULE = frozenset({"layer_scale", "stochastic_depth"})
#: the settings Bidirectional reads from the layer it wraps (Keras's requirement)
RECURRENT_SETTINGS = ("go_backwards", "return_sequences", "return_state", "stateful")
#: step keys other than ``name``, which belong to the wrapper's step, not the wrapped layer
OUTER_STEP_KEYS = ("if", "repeat", "trainable", "dtype", "sequential")
#: what a layer name may not hold, and its longest length, as the expander checks a
#: node's name: Keras refuses `/`; control characters break saving and terminals
BAD_NAME_CHAR = re.compile(r"[/\x00-\x1f\x7f-\x9f]")
MAX_NAME_CHARS = 255
#: an example of the step form, for messages
EXAMPLE = "`{conv2d: {filters: 8, kernel_size: 3}}`"


class Wrapped(BaseModel):
    """A wrapped layer: its op, its validated attributes, and the Keras name it is given.

    ``name`` is None unless the spec names the layer or it was read from a Keras model;
    the emitter then names it as Keras names a layer made in a fresh session (``lstm``),
    so a compiled wrapper's config equals a hand-written one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: str
    attrs: Attrs
    name: str | None = None

    @property
    def opdef(self) -> OpDef:
        op = REGISTRY.get(self.op)
        assert op is not None, self.op
        return op

    def canonical(self, key: str, input_rank: int | None) -> dict[str, Any]:
        """The op and its canonical attributes, each under ``key.attribute``: a diff names
        the inner attribute that differs (the name is not compared, as for any layer)."""
        inner = self.attrs.canonical(input_rank)
        return {key: self.op, **{f"{key}.{k}": v for k, v in inner.items()}}


#: how a wrapped layer is written, for the JSON schema
_STEP_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "description": "An op without attributes, e.g. `flatten`."},
            {
                "type": "object",
                "minProperties": 1,
                "description": "One op and its attributes, e.g. "
                "`{conv2d: {filters: 8, kernel_size: 3}}`, with an optional `name`.",
            },
        ]
    }
)
WrappedLayer = Annotated[Wrapped, _STEP_SCHEMA]


# ---------------------------------------------------------------------------- reading a step


def _parts(value: Any, key: str) -> tuple[str, Any, str | None]:
    """(op name, attributes as written, Keras name) of a step-form layer in ``key``."""
    if isinstance(value, str):
        return value, None, None
    if not isinstance(value, Mapping) or not value:
        raise ValueError(_form_message(value, key))
    outer = [k for k in OUTER_STEP_KEYS if k in value]
    if outer:
        raise ValueError(
            f"`{outer[0]}` belongs to the wrapper's step, not to the layer it wraps: write "
            "it beside the wrapper"
        )
    ops = [k for k in value if k != "name"]
    if len(ops) != 1 or not isinstance(ops[0], str):
        raise ValueError(_form_message(value, key))
    op, args = ops[0], value[ops[0]]
    name = value.get("name")
    if isinstance(args, Mapping) and "name" in args:
        if name is not None:
            raise ValueError(f"`name` is given twice, inside and beside `{op}`")
        name, args = args["name"], {k: v for k, v in args.items() if k != "name"}
    if name is not None:
        _check_name(name)
    return op, args, name


def _check_name(name: Any) -> None:
    """Refuse a name Keras, a saved file or a terminal cannot take, as for any layer."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"the wrapped layer's `name` must be text, got {name!r}")
    if BAD_NAME_CHAR.search(name) or len(name) > MAX_NAME_CHARS:
        raise ValueError(
            f"the wrapped layer's name {name[:40]!r} holds `/` or a control character, or "
            f"passes {MAX_NAME_CHARS} characters, which a layer name may not"
        )


def _form_message(value: Any, key: str) -> str:
    return (
        f"`{key}` takes one op, as a step is written: an op name or a one-key mapping "
        f"such as {EXAMPLE}, got {value!r}"
    )


def _lookup(name: str, key: str) -> OpDef:
    op = REGISTRY.get(name)
    if op is None:
        hint = did_you_mean(name, REGISTRY.names())
        raise ValueError(f"unknown op `{name}` in `{key}`" + (f" ({hint})" if hint else ""))
    return op


def _attributes(op: OpDef, args: Any) -> dict[str, Any]:
    """The attribute mapping of a step's value: a mapping, nothing, or the shorthand."""
    if args is None:
        return {}
    if isinstance(args, Mapping):
        return dict(args)
    if op.shorthand is None:
        raise ValueError(f"`{op.name}` takes a mapping of attributes, e.g. `{op.name}: {{...}}`")
    return {op.shorthand: args}


def _validated(op: OpDef, attributes: Mapping[str, Any]) -> Attrs:
    """The op's own attribute model, its first error worded as the expander words it."""
    try:
        return op.attrs.model_validate(attributes)
    except ValidationError as exc:
        raise ValueError(_attribute_message(exc, op)) from None


def _attribute_message(exc: ValidationError, op: OpDef) -> str:
    """The most telling error, in the words of any other attribute error."""
    errors = exc.errors(include_url=False)
    err = min(errors, key=lambda e: 0 if e["type"] == "extra_forbidden" else 1)
    attr = next((k for k in err["loc"] if isinstance(k, str)), None)
    if err["type"] == "extra_forbidden":
        fields = list(op.attrs.model_fields)
        hint = did_you_mean(str(attr), fields) or "its attributes: " + ", ".join(
            f"`{f}`" for f in fields
        )
        return f"`{op.name}` has no attribute `{attr}` ({hint})"
    if err["type"] == "missing":
        return f"`{op.name}` needs the attribute `{attr}`"
    choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
    if err["type"] == "literal_error" and len(choices) > 4:
        given = err.get("input")
        hint = did_you_mean(str(given), choices) or "see `archspec schema` for the list"
        return (
            f"`{op.name}` attribute `{attr}`: {given!r} is not one of its {len(choices)} "
            f"accepted values ({hint})"
        )
    message = err["msg"].removeprefix("Value error, ")
    if attr is None:  # a rule between attributes
        return f"`{op.name}`: {message}"
    hint = yaml11_hint(err)
    text = f"`{op.name}` attribute `{attr}`: {message}, got {err.get('input')!r}"
    return f"{text} ({hint})" if hint else text


# ---------------------------------------------------------------------------- Keras's form


def _is_keras_form(value: Any) -> bool:
    """Whether ``value`` is a layer as Keras serialises it inside a wrapper's config."""
    return isinstance(value, Mapping) and {"class_name", "config", "module"} <= value.keys()


def _from_keras_form(value: Mapping[str, Any]) -> tuple[OpDef, dict[str, Any], str | None]:
    """(op, attributes, name) of a serialised Keras layer, read as the importer reads one.

    Settings the attributes leave out (a constraint, a dtype) are not lost: the importer
    rebuilds the wrapper from its attributes and compares the configs.
    """
    from archspec.compare.keras_import import _from_keras  # the importer's value forms

    module, cls = value.get("module"), value.get("class_name")
    registered = value.get("registered_name")
    op = next(
        (o for o in REGISTRY.ops() if o.keras_class == cls and o.keras_module == module),
        None,
    )
    if op is None or registered not in (None, cls):
        raise ValueError(f"wraps a `{module}.{cls}`, which archspec has no op for")
    config = value["config"]
    data = {
        key: _from_keras(key, config[key])
        for key in op.attrs.model_fields
        if key in config and key not in op.internal
    }
    return op, data, config.get("name")


# ---------------------------------------------------------------------------- wrapper models


class _WrapperAttrs(Attrs):
    """What both wrappers share: the fields holding a wrapped layer, read from either form.

    A step-form layer is checked before the fields are (errors name the wrapped op and
    its attribute, with no trailing repetition of the whole step); Keras's serialised
    form, which only the importer gives, is read by the field itself.
    """

    #: the fields holding a wrapped layer
    layer_fields: ClassVar[tuple[str, ...]] = ("layer",)

    @model_validator(mode="before")
    @classmethod
    def _step_forms(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        data = cls._shorthand(dict(value))
        for key in cls.layer_fields:
            given = data.get(key)
            if given is not None and not isinstance(given, Wrapped) and not _is_keras_form(given):
                op, args, name = _parts(given, key)
                opdef = _lookup(op, key)
                cls._check_wrappable(opdef, key)
                attrs = _validated(opdef, _attributes(opdef, args))
                data[key] = Wrapped(op=opdef.name, attrs=attrs, name=name)
        return data

    @classmethod
    def _shorthand(cls, data: dict[str, Any]) -> dict[str, Any]:
        """``{dense: 8}`` for ``{layer: {dense: 8}}``: the one key that is not an attribute
        is the layer, unless it looks like a misspelt attribute (``layr``)."""
        if "layer" in data:
            return data
        fields = list(cls.model_fields)
        others = [k for k in data if k not in fields]
        if len(others) != 1 or (others[0] not in REGISTRY and did_you_mean(others[0], fields)):
            return data
        (key,) = others
        return {k: v for k, v in data.items() if k != key} | {"layer": {key: data[key]}}

    @classmethod
    def _check_wrappable(cls, op: OpDef, key: str) -> None:
        if not op.layer:
            raise ValueError(f"`{op.name}` is a keras.ops operation, and Keras wraps only layers")
        if op.wires.attributes:
            taken = ", ".join(f"`{a}`" for a in op.wires.attributes)
            raise ValueError(
                f"`{op.name}` takes its inputs through {taken}, and Keras calls a wrapped "
                "layer on the wrapper's one input"
            )

    @classmethod
    def _read(cls, value: Any, key: str) -> Any:
        """A field's value: Keras's serialised form becomes a :class:`Wrapped`."""
        if not _is_keras_form(value):
            return value
        op, data, name = _from_keras_form(value)
        cls._check_wrappable(op, key)
        return Wrapped(op=op.name, attrs=_validated(op, data), name=name)


class TimeDistributedAttrs(_WrapperAttrs):
    layer: WrappedLayer = Field(
        description="The layer applied to every step, written as a step: an op name or "
        "`{op: {attributes}}`, e.g. `{conv2d: {filters: 8, kernel_size: 3}}`."
    )

    @field_validator("layer", mode="before")
    @classmethod
    def _keras_form(cls, value: Any) -> Any:
        return cls._read(value, "layer")

    @classmethod
    def _check_wrappable(cls, op: OpDef, key: str) -> None:
        super()._check_wrappable(op, key)
        if op.name in NO_OUTPUT_SHAPE_RULE:
            raise ValueError(
                f"Keras's `{op.keras_class}` has no output-shape rule, which TimeDistributed "
                "needs to wrap it"
            )

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        """The wrapped layer's canonical form, for the rank of one step."""
        return self.layer.canonical("layer", None if input_rank is None else input_rank - 1)


def _refuse_none(value: Any) -> Any:
    if value is None:
        raise ValueError(
            "null gives the forward and backward outputs as two tensors, and an archspec "
            "node has one output; merge them with `concat`, `sum`, `mul` or `ave`"
        )
    return value


MergeMode = Annotated[Literal["concat", "sum", "mul", "ave"], BeforeValidator(_refuse_none)]


class BidirectionalAttrs(_WrapperAttrs):
    layer_fields: ClassVar[tuple[str, ...]] = ("layer", "backward_layer")

    layer: WrappedLayer = Field(
        description="The recurrent layer read forwards, written as a step, e.g. `{lstm: 64}`; "
        "Keras names it `forward_<name>`."
    )
    merge_mode: MergeMode = Field(
        default="concat",
        description="How the two outputs merge: `concat` (the last axis doubles), `sum`, "
        "`mul` or `ave`.",
    )
    backward_layer: WrappedLayer | None = Field(
        default=None,
        description="The layer read backwards, with `go_backwards: true` (default: a copy of "
        "`layer` reading backwards, named `backward_<name>`).",
    )

    @field_validator("layer", "backward_layer", mode="before")
    @classmethod
    def _keras_form(cls, value: Any, info: ValidationInfo) -> Any:
        return cls._read(value, info.field_name)

    @classmethod
    def _check_wrappable(cls, op: OpDef, key: str) -> None:
        super()._check_wrappable(op, key)
        if not set(RECURRENT_SETTINGS) <= set(op.attrs.model_fields):
            recurrent = ", ".join(f"`{o}`" for o in recurrent_ops())
            raise ValueError(
                f"`{key}` must be a recurrent layer ({recurrent}), which can read the "
                f"sequence backwards; `{op.name}` has no `go_backwards`"
            )

    @model_validator(mode="after")
    def _directions(self) -> BidirectionalAttrs:
        """Keras's checks of the pair, made here so a refused pair is refused at its step."""
        forward, backward = self.layer, self.backward_layer
        if backward is None:
            if _setting(forward, "go_backwards"):
                raise ValueError(
                    "`layer` has `go_backwards: true`, and Keras's backward copy of it reads "
                    "backwards too; leave it out, or give a `backward_layer` reading forwards"
                )
            return self
        both = _setting(forward, "go_backwards")
        if both == _setting(backward, "go_backwards"):
            raise ValueError(
                f"`layer` and `backward_layer` both have `go_backwards: {str(both).lower()}`; "
                "Keras needs them to read the sequence in opposite directions"
            )
        if _setting(forward, "return_sequences") != _setting(backward, "return_sequences"):
            raise ValueError(
                "`layer` and `backward_layer` must agree on `return_sequences`, as Keras requires"
            )
        return self

    def backward(self) -> Wrapped:
        """The backward layer: the one given, or Keras's copy of ``layer`` reading backwards."""
        if self.backward_layer is not None:
            return self.backward_layer
        attrs = self.layer.attrs.model_copy(update={"go_backwards": True})
        return Wrapped(op=self.layer.op, attrs=attrs)

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        """Both layers' canonical forms: a ``backward_layer`` equal to Keras's copy of
        ``layer`` is configured alike to none (Keras's config records it either way)."""
        return {
            **self.layer.canonical("layer", input_rank),
            "merge_mode": self.merge_mode,
            **self.backward().canonical("backward_layer", input_rank),
        }


def _setting(wrapped: Wrapped, name: str) -> Any:
    return getattr(wrapped.attrs, name)


def recurrent_ops() -> list[str]:
    """The ops Bidirectional can wrap: those reading a sequence either way."""
    return [
        op.name for op in REGISTRY.ops() if set(RECURRENT_SETTINGS) <= set(op.attrs.model_fields)
    ]


# ---------------------------------------------------------------------------- shapes and costs


def _step_shape(wrapped: Wrapped, shape: Shape, where: str) -> Shape:
    """The wrapped layer's output on ``shape``, its refusal named after the wrapped op."""
    try:
        return wrapped.opdef.shape(wrapped.attrs, [shape])
    except ShapeError as exc:
        raise ShapeError(f"`{wrapped.op}` {where} {fmt(shape)}: {exc}") from None


def _steps_and_inner(inputs: Sequence[Shape]) -> tuple[int | None, Shape]:
    (shape,) = inputs
    if len(shape) < 2:
        raise ShapeError(
            f"needs an input of 2 or more axes (steps, ...), got {fmt(shape)}: it applies its "
            "layer to each step along the first axis"
        )
    return shape[0], shape[1:]


def time_distributed_shape(attrs: TimeDistributedAttrs, inputs: Sequence[Shape]) -> Shape:
    """(steps, *inner) -> (steps, *the wrapped layer's output on inner)."""
    steps, inner = _steps_and_inner(inputs)
    return (steps, *_step_shape(attrs.layer, inner, "on each step"))


def time_distributed_weights(
    attrs: TimeDistributedAttrs, inputs: Sequence[Shape], output: Shape
) -> list[Weight]:
    """The wrapped layer's weights, shared by every step."""
    _, inner = _steps_and_inner(inputs)
    layer = attrs.layer
    return layer.opdef.weights(layer.attrs, [inner], output[1:])


def time_distributed_macs(
    attrs: TimeDistributedAttrs, inputs: Sequence[Shape], output: Shape
) -> int | None:
    """One step's MACs times the steps (None when either is unknown)."""
    steps, inner = _steps_and_inner(inputs)
    layer = attrs.layer
    per_step = layer.opdef.macs(layer.attrs, [inner], output[1:])
    return None if steps is None or per_step is None else steps * per_step


def bidirectional_shape(attrs: BidirectionalAttrs, inputs: Sequence[Shape]) -> Shape:
    """The forward layer's output, its last axis doubled by ``concat``.

    Keras takes the merged shape from the forward layer alone, so a backward layer
    giving another shape would make Keras record a wrong one (``concat``) or fail (the
    others): it must give the same.
    """
    (shape,) = inputs
    out = _step_shape(attrs.layer, shape, "on")
    if attrs.backward_layer is not None:
        back = _step_shape(attrs.backward_layer, shape, "(backward) on")
        if back != out:
            raise ShapeError(
                f"the backward layer gives {fmt(back)} and the forward one {fmt(out)}; Keras "
                "merges outputs of one shape"
            )
    if attrs.merge_mode != "concat" or not out:
        return out
    last = out[-1]
    return (*out[:-1], None if last is None else 2 * last)


def bidirectional_weights(
    attrs: BidirectionalAttrs, inputs: Sequence[Shape], output: Shape
) -> list[Weight]:
    """The forward layer's weights, then the backward layer's, as Keras orders them."""
    out: list[Weight] = []
    for layer in (attrs.layer, attrs.backward()):
        inner_out = layer.opdef.output_shape(layer.attrs, inputs)
        out.extend(layer.opdef.weights(layer.attrs, inputs, inner_out))
    return out


def bidirectional_macs(
    attrs: BidirectionalAttrs, inputs: Sequence[Shape], output: Shape
) -> int | None:
    """Both directions' MACs (None when either is unknown)."""
    total = 0
    for layer in (attrs.layer, attrs.backward()):
        inner_out = layer.opdef.output_shape(layer.attrs, inputs)
        macs = layer.opdef.macs(layer.attrs, inputs, inner_out)
        if macs is None:
            return None
        total += macs
    return total


# ---------------------------------------------------------------------------- Keras objects


def _keras_layer(wrapped: Wrapped, name: str, dtype: str | None) -> Any:
    return wrapped.opdef.make(wrapped.name or name, wrapped.attrs, dtype=dtype)


def _default_name(op: OpDef, taken: Sequence[str] = ()) -> str:
    """The name Keras gives a layer of this class made in a fresh session (``lstm``, then
    ``lstm_1``): a hand-written ``TimeDistributed(Dense(8))`` has these inner names."""
    from keras.src.utils.naming import to_snake_case

    base = to_snake_case(op.keras_class)
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def build_time_distributed(
    cls: Any, name: str, attrs: TimeDistributedAttrs, dtype: str | None = None
) -> Any:
    """``TimeDistributed(inner)``; a dtype policy applies to the inner layer too, as a
    global policy would (Keras does not pass the wrapper's on)."""
    inner = _keras_layer(attrs.layer, _default_name(attrs.layer.opdef), dtype)
    return cls(inner, name=name, **_policy(dtype))


def build_bidirectional(
    cls: Any, name: str, attrs: BidirectionalAttrs, dtype: str | None = None
) -> Any:
    """``Bidirectional(forward, merge_mode, backward_layer)``, named as a hand-written one
    is in a fresh session; a dtype policy applies to the inner layers too."""
    forward_name = attrs.layer.name or _default_name(attrs.layer.opdef)
    forward = _keras_layer(attrs.layer, forward_name, dtype)
    settings: dict[str, Any] = {"merge_mode": attrs.merge_mode, **_policy(dtype)}
    backward = attrs.backward_layer
    if backward is not None:
        default = _default_name(backward.opdef, [forward_name])
        settings["backward_layer"] = _keras_layer(backward, default, dtype)
    return cls(forward, name=name, **settings)


def _policy(dtype: str | None) -> dict[str, Any]:
    return {} if dtype is None else {"dtype": dtype}


_OPS = [
    OpDef(
        "time_distributed", "TimeDistributed", TimeDistributedAttrs, time_distributed_shape,
        "Applies a layer to every step of a sequence: (steps, ...) -> (steps, ...).",
        shorthand="layer", build=build_time_distributed, weights=time_distributed_weights,
        macs=time_distributed_macs,
    ),
    OpDef(
        "bidirectional", "Bidirectional", BidirectionalAttrs, bidirectional_shape,
        "Runs a recurrent layer forwards and backwards and merges the two outputs.",
        shorthand="layer", build=build_bidirectional, weights=bidirectional_weights,
        macs=bidirectional_macs,
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
