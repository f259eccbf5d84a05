"""Keras objects given by name or with arguments: initializers, constraints.

An attribute such as ``kernel_initializer`` or ``kernel_constraint`` takes Keras's name
(``he_normal``, ``non_neg``) or a mapping of ``class`` and that class's arguments, named
as Keras names them (``{class: max_norm, max_value: 3}``). Each class is a pydantic
model of its own, so a misspelt or out-of-range argument is an error at its line like
any other attribute. The value goes to Keras as the config Keras deserialises, and two
values compare equal exactly when Keras would store the same config.
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


class KerasObject(BaseModel):
    """One class and its arguments (defaults as Keras's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)
    #: Keras's class name, for the config it deserialises
    keras_class: ClassVar[str] = ""
    #: config entries Keras stores that a spec does not set
    fixed: ClassVar[dict[str, Any]] = {}

    def keras_config(self) -> dict[str, Any]:
        """The config Keras stores for this object (every argument, defaults too)."""
        values = {k: getattr(self, k) for k in type(self).model_fields if k != "class_"}
        return {**values, **self.fixed}

    @model_serializer
    def _keras(self) -> dict[str, Any]:
        return {"class_name": self.keras_class, "config": self.keras_config()}


class Catalogue:
    """The classes of one kind (initializers, constraints) a spec may give with arguments.

    ``aliases`` are other names Keras takes for a class; ``mapping_only`` classes have no
    name form (a constant initializer's value is the point of it).
    """

    def __init__(
        self,
        kind: str,
        aliases: dict[str, str] | None = None,
        mapping_only: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind
        self.aliases = aliases or {}
        self.mapping_only = mapping_only
        self.classes: dict[str, type[KerasObject]] = {}

    def add(
        self,
        name: str,
        keras_class: str,
        base: type[KerasObject] = KerasObject,
        **fields: Any,
    ) -> None:
        """The model of one class: ``class`` holds its spec name, ``fields`` its arguments
        as ``(type, Field(...))`` pairs."""
        cls = create_model(
            keras_class + "Args",
            __base__=base,
            __module__=__name__,
            __doc__=f"`{name}` with arguments (keras.{self.kind}s.{keras_class}).",
            class_=(Literal[name], Field(alias="class", description=f"The {self.kind}.")),
            **fields,
        )
        cls.keras_class = keras_class
        self.classes[name] = cls

    def attribute(self, names: Any) -> Any:
        """An attribute type: one of ``names`` (a Literal of Keras's names, with any
        refusals attached), or a mapping of a class among those names and its arguments."""
        literal = get_args(names)[0] if get_origin(names) is Annotated else names
        allowed = {self.aliases.get(n, n) for n in get_args(literal)} | self.mapping_only
        members = [Annotated[names, Tag("name")]]
        members += [Annotated[c, Tag(n)] for n, c in self.classes.items() if n in allowed]
        union = members[0]
        for member in members[1:]:
            union = union | member

        def checked(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            name = value.get("class")
            if name is None:
                raise ValueError(f"a mapping gives the {self.kind}'s `class`")
            name = self.aliases.get(name, name)
            if name not in self.classes:
                known = ", ".join(f"`{n}`" for n in self.classes)
                raise ValueError(
                    f"`{name}` is not one of the {self.kind}s with arguments ({known})"
                )
            if name not in allowed:
                raise ValueError(f"`{name}` cannot fill this weight")
            return {**value, "class": name}

        def tag(value: Any) -> str:
            if isinstance(value, dict):
                return str(value.get("class"))
            if isinstance(value, KerasObject):
                return next(n for n, c in self.classes.items() if isinstance(value, c))
            return "name"

        return Annotated[union, Discriminator(tag), BeforeValidator(checked)]

    def canonical(self, value: Any) -> Any:
        """One form per meaning: a class and its whole config (a name means its defaults)."""
        if isinstance(value, KerasObject):
            return (value.keras_class, tuple(sorted(value.keras_config().items())))
        name = self.aliases.get(value, value)
        cls = self.classes.get(name)
        if cls is None:  # a class Keras keeps no arguments of
            return value
        default = cls.model_validate({"class": name})
        return (default.keras_class, tuple(sorted(default.keras_config().items())))

    def from_keras(self, config: dict[str, Any]) -> Any:
        """A saved config as a spec writes it: the name when every argument is the
        default, else the mapping of its class and the arguments that differ."""
        keras_class = config.get("class_name")
        name = next((n for n, c in self.classes.items() if c.keras_class == keras_class), None)
        if name is None:
            return _snake(str(keras_class))
        saved = config.get("config") or {}
        default = self.classes[name].model_validate({"class": name}).keras_config()
        args = {k: v for k, v in saved.items() if default.get(k, v) != v or k not in default}
        if not args and name not in self.mapping_only:
            return name
        return {"class": name, **args}


def names_of(attribute_type: Any) -> tuple[str, ...]:
    """The names an attribute type made by :meth:`Catalogue.attribute` takes."""
    union = get_args(attribute_type)[0]
    named = get_args(get_args(union)[0])[0]  # the member tagged "name"
    literal = get_args(named)[0] if get_origin(named) is Annotated else named
    return get_args(literal)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
