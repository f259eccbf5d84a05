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
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    create_model,
    model_serializer,
)

from archspec.errors import did_you_mean


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
        self._classes: dict[str, type[KerasObject]] = {}
        self._pending: dict[str, tuple[str, type[KerasObject], dict[str, Any]]] = {}
        #: spec name -> Keras's class name, known before any model is made
        self._keras_classes: dict[str, str] = {}

    def add(
        self,
        name: str,
        keras_class: str,
        base: type[KerasObject] = KerasObject,
        **fields: Any,
    ) -> None:
        """One class: ``class`` holds its spec name, ``fields`` its arguments as
        ``(type, Field(...))`` pairs. Its model is made when first needed: most specs
        give initializers and constraints by name, and start-up time matters."""
        self._pending[name] = (keras_class, base, fields)
        self._keras_classes[name] = keras_class

    def model(self, name: str) -> type[KerasObject]:
        """The model of one class, by spec name, made on first use."""
        if name not in self._classes:
            keras_class, base, fields = self._pending.pop(name)
            cls = create_model(
                keras_class + "Args",
                __base__=base,
                __module__=__name__,
                __doc__=f"`{name}` with arguments (keras.{self.kind}s.{keras_class}).",
                class_=(Literal[name], Field(alias="class", description=f"The {self.kind}.")),
                **fields,
            )
            cls.keras_class = keras_class
            self._classes[name] = cls
        return self._classes[name]

    @property
    def classes(self) -> dict[str, type[KerasObject]]:
        """The model of every class, by spec name."""
        return {name: self.model(name) for name in self.names}

    @property
    def names(self) -> list[str]:
        """The spec names of the classes (without making their models)."""
        return list(self._keras_classes)

    def attribute(self, names: Any) -> Any:
        """An attribute type: one of ``names`` (a Literal of Keras's names, with any
        refusals attached), or a mapping of a class among those names and its arguments.

        One plain validator does the work, so an op's attribute model stays as cheap to
        build as with names only: a class's own model is built the first time a mapping
        names it. The JSON Schema still lists every form (see :class:`_Forms`).
        """
        literal = get_args(names)[0] if get_origin(names) is Annotated else names
        choices = get_args(literal)
        allowed = {self.aliases.get(n, n) for n in choices} | self.mapping_only
        named: list[Any] = []  # the names' own validator (refusals), built on first use

        def validate(value: Any) -> Any:
            if isinstance(value, KerasObject):
                return value
            if isinstance(value, dict):
                return self._parse(value, allowed)
            if not named:
                named.append(TypeAdapter(names))
            try:
                return named[0].validate_python(value)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                if err["type"] != "literal_error":
                    raise ValueError(err["msg"].removeprefix("Value error, ")) from None
                hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
                raise ValueError(
                    f"{value!r} is not one of the {len(choices)} {self.kind} names"
                    + (f" ({hint})" if hint else "")
                    + f", nor a mapping such as `{{class: {self.names[0]}}}`"
                ) from None

        return Annotated[Any, PlainValidator(validate), _Forms(self, names, allowed)]

    def _parse(self, value: dict[str, Any], allowed: set[str]) -> KerasObject:
        """A mapping of ``class`` and arguments, checked by that class's model."""
        name = value.get("class")
        if name is None:
            raise ValueError(f"a mapping gives the {self.kind}'s `class`")
        name = self.aliases.get(name, name)
        if name not in self.names:
            known = ", ".join(f"`{n}`" for n in self.names)
            raise ValueError(f"`{name}` is not one of the {self.kind}s with arguments ({known})")
        if name not in allowed:
            raise ValueError(f"`{name}` cannot fill this weight")
        try:
            return self.model(name).model_validate({**value, "class": name})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            key = next((k for k in err["loc"] if isinstance(k, str)), "?")
            if err["type"] == "extra_forbidden":
                args = ", ".join(f"`{f}`" for f in self.model(name).model_fields if f != "class_")
                raise ValueError(
                    f"`{name}` has no argument `{key}` (its arguments: {args or 'none'})"
                ) from None
            message = err["msg"].removeprefix("Value error, ")
            raise ValueError(f"`{name}` argument `{key}`: {message}") from None

    def canonical(self, value: Any) -> Any:
        """One form per meaning: a class and its whole config (a name means its defaults)."""
        if isinstance(value, KerasObject):
            return (value.keras_class, tuple(sorted(value.keras_config().items())))
        name = self.aliases.get(value, value)
        if name not in self._keras_classes:  # a class Keras keeps no arguments of
            return value
        default = self.model(name).model_validate({"class": name})
        return (default.keras_class, tuple(sorted(default.keras_config().items())))

    def from_keras(self, config: dict[str, Any]) -> Any:
        """A saved config as a spec writes it: the name when every argument is the
        default, else the mapping of its class and the arguments that differ."""
        keras_class = config.get("class_name")
        name = next((n for n, c in self._keras_classes.items() if c == keras_class), None)
        if name is None:
            return _snake(str(keras_class))
        saved = config.get("config") or {}
        default = self.model(name).model_validate({"class": name}).keras_config()
        args = {k: v for k, v in saved.items() if default.get(k, v) != v or k not in default}
        if not args and name not in self.mapping_only:
            return name
        return {"class": name, **args}


#: the key standing for a reference to a class's definition in an attribute's JSON
#: Schema (pydantic would try to resolve a `$ref` it did not make itself)
CLASS_REF = "x-archspec-class"


class _Forms:
    """The JSON Schema of a catalogue attribute: a name, or a mapping per class."""

    def __init__(self, catalogue: Catalogue, names: Any, allowed: set[str]) -> None:
        self.catalogue, self.names, self.allowed = catalogue, names, allowed

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        literal = get_args(self.names)[0] if get_origin(self.names) is Annotated else self.names
        forms: list[dict[str, Any]] = [{"enum": list(get_args(literal))}]
        for name, cls in self.catalogue.classes.items():
            if name in self.allowed:  # defined once: archspec.spec.schema makes it a $ref
                forms.append({CLASS_REF: cls.__name__})
        return {"anyOf": forms}


def json_definitions() -> dict[str, Any]:
    """The JSON Schema of every class of every catalogue, by the name attributes use."""
    from archspec.ops.constraints import CONSTRAINTS
    from archspec.ops.initializers import INITIALIZERS

    defs: dict[str, Any] = {}
    for catalogue in (INITIALIZERS, CONSTRAINTS):
        for cls in catalogue.classes.values():
            defs[cls.__name__] = cls.model_json_schema()
    return defs


def names_of(attribute_type: Any) -> tuple[str, ...]:
    """The names an attribute type made by :meth:`Catalogue.attribute` takes."""
    forms = next(m for m in get_args(attribute_type)[1:] if isinstance(m, _Forms))
    literal = get_args(forms.names)[0] if get_origin(forms.names) is Annotated else forms.names
    return get_args(literal)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
