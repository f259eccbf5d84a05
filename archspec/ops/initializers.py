"""Initializers with arguments: ``{class: variance_scaling, scale: 2.0, mode: fan_out}``.

An initializer attribute takes Keras's name (``he_normal``) or a mapping of ``class``
and that class's arguments, named as Keras names them. Each class is a model of its
own, so a misspelt or out-of-range argument is an error at its line, like any other
attribute. The mapping goes to Keras as the config Keras deserialises, and two
initializers compare equal exactly when Keras would store the same config.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    model_serializer,
)

#: seeds run from 0 to 2**32 - 1, which every Keras backend accepts
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)] | None
Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
#: names Keras takes for the same class
CLASS_ALIASES = {"normal": "random_normal", "uniform": "random_uniform"}


class _Init(BaseModel):
    """One initializer class and its arguments (defaults as Keras's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)
    #: Keras's class name, for the config it deserialises
    keras_class: ClassVar[str] = ""

    def keras_config(self) -> dict[str, Any]:
        """The config Keras stores for this initializer (every argument, defaults too)."""
        return {k: getattr(self, k) for k in type(self).model_fields if k != "class_"}

    @model_serializer
    def _keras(self) -> dict[str, Any]:
        return {"class_name": self.keras_class, "config": self.keras_config()}


class _Seeded(_Init):
    seed: Seed = Field(default=None, description="Seed, for the same weights on every build.")


class _Fan(_Seeded):
    """Glorot, He and LeCun initializers: a seed is their only argument here."""

    def keras_config(self) -> dict[str, Any]:
        return {**super().keras_config(), "input_axes": None, "output_axes": None}


def _class(name: str, keras_class: str, base: type[_Init], **fields: Any) -> type[_Init]:
    """The model of one initializer class (``class`` holds its spec name)."""
    cls = create_model(
        keras_class + "Args",
        __base__=base,
        __module__=__name__,
        __doc__=f"`{name}` with arguments (keras.initializers.{keras_class}).",
        class_=(Literal[name], Field(alias="class", description="The initializer.")),
        **fields,
    )
    cls.keras_class = keras_class
    return cls


def _f(default: Any, description: str) -> Any:
    return Field(default=default, description=description)


_CLASSES: dict[str, type[_Init]] = {}
for _name, _keras, _base, _fields in [
    ("zeros", "Zeros", _Init, {}),
    ("ones", "Ones", _Init, {}),
    ("constant", "Constant", _Init, {"value": (Finite, _f(0.0, "The value of every weight."))}),
    ("random_normal", "RandomNormal", _Seeded, {
        "mean": (Finite, _f(0.0, "Mean.")), "stddev": (Positive, _f(0.05, "Standard deviation.")),
    }),
    ("truncated_normal", "TruncatedNormal", _Seeded, {
        "mean": (Finite, _f(0.0, "Mean.")), "stddev": (Positive, _f(0.05, "Standard deviation.")),
    }),
    ("random_uniform", "RandomUniform", _Seeded, {
        "minval": (Finite, _f(-0.05, "Lower bound.")), "maxval": (Finite, _f(0.05, "Upper bound.")),
    }),
    ("variance_scaling", "VarianceScaling", _Fan, {
        "scale": (Positive, _f(1.0, "Factor on the variance.")),
        "mode": (Literal["fan_in", "fan_out", "fan_avg"], _f("fan_in", "Which fan scales it.")),
        "distribution": (
            Literal["truncated_normal", "untruncated_normal", "uniform"],
            _f("truncated_normal", "The distribution drawn from."),
        ),
    }),
    ("glorot_normal", "GlorotNormal", _Fan, {}),
    ("glorot_uniform", "GlorotUniform", _Fan, {}),
    ("he_normal", "HeNormal", _Fan, {}),
    ("he_uniform", "HeUniform", _Fan, {}),
    ("lecun_normal", "LecunNormal", _Fan, {}),
    ("lecun_uniform", "LecunUniform", _Fan, {}),
    ("orthogonal", "Orthogonal", _Seeded, {"gain": (Finite, _f(1.0, "Factor on the matrix."))}),
]:  # fmt: skip
    _CLASSES[_name] = _class(_name, _keras, _base, **_fields)


def _checked(value: Any) -> Any:
    """A mapping's `class`, checked (and an alias resolved) before its model reads it."""
    if isinstance(value, dict):
        name = value.get("class")
        if name is None:
            raise ValueError("an initializer mapping needs `class`, e.g. `{class: he_normal}`")
        if name in CLASS_ALIASES:
            value = {**value, "class": CLASS_ALIASES[name]}
        elif name not in _CLASSES:
            known = ", ".join(f"`{n}`" for n in _CLASSES)
            raise ValueError(f"`{name}` is not an initializer with arguments (known: {known})")
    return value


def _tag(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("class"))
    if isinstance(value, _Init):
        return next(n for n, c in _CLASSES.items() if isinstance(value, c))
    return "name"


def with_arguments(names: Any) -> Any:
    """An initializer attribute type: one of ``names`` (a Literal of Keras's names, with
    any refusals attached), or a mapping of a class among those names and its arguments."""
    literal = get_args(names)[0] if get_origin(names) is Annotated else names
    # `constant` has no name form worth taking (its value is the point)
    allowed = {CLASS_ALIASES.get(n, n) for n in get_args(literal)} | {"constant"}
    members = [Annotated[names, Tag("name")]]
    members += [Annotated[c, Tag(n)] for n, c in _CLASSES.items() if n in allowed]
    union = members[0]
    for member in members[1:]:
        union = union | member

    def checked(value: Any) -> Any:
        value = _checked(value)
        if isinstance(value, dict) and value["class"] not in allowed:
            raise ValueError(f"`{value['class']}` cannot fill this weight")
        return value

    return Annotated[union, Discriminator(_tag), BeforeValidator(checked)]


def canonical(value: Any) -> Any:
    """One form per meaning: a class and its whole config (a name means its defaults)."""
    if isinstance(value, _Init):
        return (value.keras_class, tuple(sorted(value.keras_config().items())))
    name = CLASS_ALIASES.get(value, value)
    cls = _CLASSES.get(name)
    if cls is None:  # identity: no arguments Keras keeps
        return value
    default = cls.model_validate({"class": name})
    return (default.keras_class, tuple(sorted(default.keras_config().items())))


def from_keras(config: dict[str, Any]) -> Any:
    """A saved initializer config as a spec writes it: its name when every argument is
    the default, else the mapping of its class and the arguments that differ."""
    keras_class = config.get("class_name")
    name = next((n for n, c in _CLASSES.items() if c.keras_class == keras_class), None)
    if name is None:
        return _snake(str(keras_class))
    default = _CLASSES[name].model_validate({"class": name}).keras_config()
    args = {k: v for k, v in (config.get("config") or {}).items() if default.get(k, v) != v}
    extra = [k for k in config.get("config") or {} if k not in default]
    if not args and not extra and name != "constant":  # `constant` has no name form
        return name
    return {"class": name, **args, **{k: config["config"][k] for k in extra}}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def names_of(attribute_type: Any) -> tuple[str, ...]:
    """The names an initializer attribute type made by :func:`with_arguments` takes."""
    union = get_args(attribute_type)[0]
    named = get_args(get_args(union)[0])[0]  # the member tagged "name"
    literal = get_args(named)[0] if get_origin(named) is Annotated else named
    return get_args(literal)
