"""JSON Schema of spec files and block libraries, generated from the models and the op registry.

Editors (yaml-language-server in VS Code and Neovim, PyCharm) check a spec as it is typed
with this schema, so it says what archspec says wherever JSON Schema can, and is shaped so
that one fault gives one error:

- It is draft-07, which every editor reads in full, and uses no keyword whose meaning later
  drafts changed (no ``$ref`` beside assertions, no tuple ``items``), so a draft 2020-12
  validator reads it the same way.
- A step's op is chosen by its key (``properties`` per op name), never tried against every
  op; a value of several forms is split by its JSON type before a form is checked, and an
  expression (``$...``) is recognised before a literal is. A misspelt attribute is then
  one error at the attribute, not one per op or per form.
- Required keys are checked only once every key of a mapping is known, so a misspelt
  required key is reported once, as unknown, as archspec reports it.
- Files are told apart by their keys: a block library has ``blocks`` and nothing a spec
  alone has; a variant has ``extends`` and may leave out what its base gives.

Attributes come from each op's pydantic model, whose ``Field`` descriptions become the
editor's hover text; the layout of a spec (steps, blocks, branches, parameters) is written
here, with the descriptions of the pydantic models in :mod:`archspec.spec.models`. What only
archspec can see (names that refer to other parts, shapes, files, expression values) is
left to ``archspec validate``. Two differences remain by design: the schema checks the
literal values of every block, archspec those of the blocks a spec calls; and a mapping
with a YAML merge key (``<<``), which editors reading YAML 1.2 do not merge, is checked for
unknown keys but not for missing ones.
"""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from archspec.ops import REGISTRY, OpDef
from archspec.ops.keras_objects import CLASS_REF
from archspec.spec.models import (
    IDENT,
    MAX_NAME_CHARS,
    RESERVED_PARAM_NAMES,
    STEP_KEYS,
    BlockLibrary,
    DtypePolicy,
    InputDtype,
    Spec,
)
from archspec.spec.params import SCALARS

DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID = "https://archspec.dev/schemas/archspec.schema.json"
_DEFS = "definitions"

#: a model name, `${...}` counting as one character (models.check_model_name; what an
#: expression gives is checked when the spec is expanded)
MODEL_NAME = r"^(?:[A-Za-z0-9_.-]|\$\{[^}]*\}){1," + str(MAX_NAME_CHARS) + "}$"
#: a layer or input name: Keras refuses `/`, and control characters break saving
NAME_CHARS = r"^[^/\x00-\x1f\x7f-\x9f]*$"
#: a parameter type (`int`, `float[3]`, `int[][6]`), spaces anywhere as ParamType.parse allows
PARAM_TYPE = (
    r"^ *(?:" + "|".join(" *".join(name) for name in SCALARS) + r") *(?:\[ *(?:[0-9] *)*\] *)*$"
)
#: the keys of a block library: a file with `blocks` and no other key is one
_LIBRARY_KEYS = ("archspec", "description", "imports", "blocks")


#: a YAML merge key, `<<: *anchor`: archspec (like PyYAML and ruamel.yaml) merges the
#: mapping it names, editors reading YAML 1.2 keep it as a key. The schema takes it, and
#: leaves the required keys of its mapping unchecked: they may come from the merge.
MERGE_KEY = "<<"
MERGE = {
    MERGE_KEY: {
        "type": ["object", "array"],
        "description": "A YAML merge key: the keys of the mapping it names are merged in.",
        "doNotSuggest": True,
    }
}


def _names(schema: dict[str, Any]) -> dict[str, Any]:
    """``propertyNames`` of a mapping of named entries: ``schema``, or the merge key."""
    return {"if": {"const": MERGE_KEY}, "else": schema}


def _identifier_but(names: list[str], what: str) -> dict[str, Any]:
    """An identifier other than ``names``, as one pattern: editors then show ``what``."""
    taken = "|".join(re.escape(n) for n in names)
    return {"pattern": f"^(?!(?:{taken})$){IDENT.pattern[1:]}", "patternErrorMessage": what}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/{_DEFS}/{name}"}


EXPR = _ref("Expr")
EXPR_DEF = {
    "type": "string",
    "pattern": r"^\$",
    "description": "An expression over parameters: `$filters`, `$4 * width`, `$depths[2]`.",
}


def _or_expr(schema: dict[str, Any], examples: list[Any] | None = None) -> dict[str, Any]:
    """``schema``, or an expression: an expression is recognised first, so a wrong literal
    gets the literal's own message rather than "not valid under any of the given schemas".

    Editors offer the values of ``enum`` and ``examples`` as completions, but do not look
    into ``else``: the literal's values go into ``examples`` beside it.
    """
    if not schema:
        return {}
    return {"if": EXPR, "else": schema, **({"examples": examples} if examples else {})}


def _object(
    properties: dict[str, Any],
    *,
    required: list[str] | tuple[str, ...] = (),
    rules: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    description: str | None = None,
) -> dict[str, Any]:
    """A mapping of known keys. ``required`` keys and ``rules`` are checked only once every
    key is known: a misspelt key is then one error (unknown), not two (unknown, missing)."""
    schema: dict[str, Any] = {"type": "object"}
    if description:
        schema["description"] = description
    schema["properties"] = {**properties, **MERGE}
    schema["additionalProperties"] = False
    checks = ([{"required": list(required)}] if required else []) + list(rules)
    if checks:
        schema["if"] = {"propertyNames": {"enum": list(properties)}}
        schema["then"] = checks[0] if len(checks) == 1 else {"allOf": checks}
    return schema


def _given(key: str) -> dict[str, Any]:
    """The mapping has ``key`` and it is not null (archspec takes a null as left out)."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


def _one_of(first: str, second: str, first_types: list[str], *, both_needed: bool) -> dict:
    """At most one of two keys (exactly one when ``both_needed``); ``second`` when both."""
    rule: dict[str, Any] = {
        "if": _given(second),
        "then": {
            "properties": {
                first: {"type": "null", "errorMessage": f"give `{first}` or `{second}`, not both"}
            }
        },
    }
    if both_needed:
        rule["else"] = {"required": [first], "properties": {first: {"type": first_types}}}
    return rule


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# --------------------------------------------------------------------------- pydantic output


class _Converter:
    """Pydantic's JSON Schema of attribute models, reshaped for one error per fault.

    Titles go; ``prefixItems`` of one item schema become ``items`` with a length (draft-07
    and 2020-12 read that alike); every list item and every attribute also takes an
    expression; a union is split by JSON type (``if: {type: object}``) where one form is
    the only mapping or the only list; the classes of a catalogue (initializers,
    constraints) are chosen by their ``class`` key.
    """

    def __init__(self, pydantic_defs: dict[str, Any], catalogues: list[Any]) -> None:
        self.source = pydantic_defs
        self.defs: dict[str, Any] = {"Expr": EXPR_DEF}
        self._busy: set[str] = set()
        self.class_names: dict[str, tuple[str, str]] = {}  # def name -> (kind, spec name)
        self.catalogue_names: dict[str, list[str]] = {}  # kind -> every spec name
        for catalogue in catalogues:
            self.catalogue_names[catalogue.kind] = list(catalogue.classes)
            for name, cls in catalogue.classes.items():
                self.class_names[cls.__name__] = (catalogue.kind, name)

    # ---- definitions

    def definition(self, name: str) -> dict[str, Any]:
        """The converted definition ``name`` (converted once, on first use)."""
        if name not in self.defs and name not in self._busy:
            self._busy.add(name)
            source = self.source[name]
            if name in self.class_names:
                self.defs[name] = self.arguments(source)
            else:
                self.defs[name] = self.literal(source)
            self._busy.discard(name)
        return self.defs.get(name, {})

    def arguments(self, source: dict[str, Any]) -> dict[str, Any]:
        """A catalogue class: `class` and its arguments, each also an expression."""
        props = {key: self.attribute(prop) for key, prop in source.get("properties", {}).items()}
        return _object(
            props, required=source.get("required", ()), description=source.get("description")
        )

    def attribute(self, prop: dict[str, Any]) -> dict[str, Any]:
        """An attribute: its description and default, then an expression or a literal."""
        meta = {k: prop[k] for k in ("description", "default") if k in prop}
        body = {k: v for k, v in prop.items() if k not in ("description", "default", "title")}
        literal = self.literal(body)
        return {**meta, **_or_expr(literal, self.values(literal))}

    def values(self, schema: Any) -> list[Any]:
        """The values a literal enumerates (and `true`, `false` for a boolean), in order."""
        found: list[Any] = []

        def visit(node: Any) -> None:
            if not isinstance(node, dict):
                return
            found.extend(v for v in node.get("enum", []) if v is not None and v not in found)
            if "const" in node and node["const"] not in found:
                found.append(node["const"])
            declared = node.get("type")
            if declared == "boolean" or (isinstance(declared, list) and "boolean" in declared):
                found.extend(v for v in (True, False) if v not in found)
            for key in ("then", "else"):
                visit(node.get(key))
            for key in ("anyOf", "oneOf", "allOf"):
                for member in node.get(key, []):
                    visit(member)

        visit(schema)
        return found

    # ---- literals

    def literal(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.literal(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            self.definition(name)
            return {**_ref(name), **{k: v for k, v in node.items() if k not in ("$ref", "title")}}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title":
                continue
            if key in ("properties", "patternProperties"):  # values inside an attribute
                out[key] = {k: self.attribute(v) for k, v in value.items()}
            elif key in ("anyOf", "oneOf"):
                continue  # below, once the rest is known
            else:
                out[key] = self.literal(value) if isinstance(value, dict | list) else value
        for key in ("enum", "const"):  # the values tell the type: one message, not two
            values = out.get(key) if key == "enum" else [out.get(key)]
            if key in out and "type" in out and {_json_type(v) for v in values} == {out["type"]}:
                del out["type"]
        if "prefixItems" in out:
            items = out.pop("prefixItems")
            if any(item != items[0] for item in items):
                raise ValueError(
                    f"a tuple of different item types has no draft-neutral form: {items}"
                )
            out["items"], out["minItems"], out["maxItems"] = items[0], len(items), len(items)
        if isinstance(out.get("items"), dict):
            out["items"] = _or_expr(out["items"])
        if out.get("additionalProperties") is False and "properties" in out:
            required = out.get("required", ())
            out = _object(out["properties"], required=required, description=out.get("description"))
        for key in ("anyOf", "oneOf"):
            if key in node:
                forms = self.forms(node[key], key == "oneOf")
                split = self.split(forms) if forms is not None else {key: self.literal(node[key])}
                out = {**out, "allOf": [split]} if set(split) & set(out) else {**out, **split}
        return out

    def forms(self, members: list[Any], exclusive: bool) -> list[dict[str, Any]] | None:
        """The alternatives of a union, nested unions flattened and a catalogue's classes
        gathered into one form; None when a ``oneOf``'s members may overlap."""
        forms: list[dict[str, Any]] = []
        classes: list[str] = []
        for member in members:
            if isinstance(member, dict) and CLASS_REF in member:
                classes.append(member[CLASS_REF])
                continue
            if isinstance(member, dict) and set(member) - {"title"} in ({"anyOf"}, {"oneOf"}):
                key = "anyOf" if "anyOf" in member else "oneOf"
                inner = self.forms(member[key], key == "oneOf")
                if inner is not None:
                    forms.extend(inner)
                    continue
            forms.append(self.literal(member))
        if classes:
            forms.insert(1 if forms else 0, _ref(self.catalogue(classes)))
        if exclusive:
            kinds = [self.types(f) for f in forms]
            if any(k is None for k in kinds) or not _disjoint(kinds):
                return None
        return forms

    def catalogue(self, classes: list[str]) -> str:
        """The definition of a mapping that names one of ``classes`` by its `class` key."""
        kind = self.class_names[classes[0]][0]
        names = [self.class_names[c][1] for c in classes]
        missing = [n for n in self.catalogue_names[kind] if n not in names]
        title = kind.title().replace(" ", "")
        def_name = f"{title}Args" + "".join(f"No{_camel(n)}" for n in missing)
        if def_name not in self.defs:
            for cls in classes:
                self.definition(cls)
            self.defs[def_name] = {
                "type": "object",
                "description": f"A {kind} with arguments: `class` names it, the other keys "
                "are its arguments.",
                "properties": {
                    "class": {"description": f"The {kind}.", **_or_expr({"enum": names}, names)}
                },
                "required": ["class"],
                "allOf": [
                    {
                        "if": {"properties": {"class": {"const": name}}, "required": ["class"]},
                        "then": _ref(cls),
                    }
                    for cls, name in zip(classes, names, strict=True)
                ],
            }
        return def_name

    def split(self, forms: list[dict[str, Any]]) -> dict[str, Any]:
        """One schema for a union: the only mapping form (then the only list form) is
        chosen by the value's type, the remaining scalar forms stay a plain ``anyOf``."""
        if len(forms) == 1:
            return forms[0]
        kinds = [self.types(f) for f in forms]
        for kind in ("object", "array"):
            mine = [i for i, k in enumerate(kinds) if k == {kind}]
            others = [i for i, k in enumerate(kinds) if k is not None and kind not in k]
            if len(mine) == 1 and len(mine) + len(others) == len(forms):
                rest = [forms[i] for i in others]
                return {"if": {"type": kind}, "then": forms[mine[0]], "else": self.split(rest)}
        return _merged(forms, kinds) or {"anyOf": forms}

    def types(self, schema: Any) -> frozenset[str] | None:
        """The JSON types a schema can accept, when its keywords tell; None otherwise."""
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return self.types(self.defs.get(name) or self.definition(name))
        if "type" in schema:
            declared = schema["type"]
            return frozenset([declared] if isinstance(declared, str) else declared)
        for key in ("enum", "const"):
            if key in schema:
                values = schema[key] if key == "enum" else [schema[key]]
                return frozenset(_json_type(v) for v in values)
        parts = schema.get("anyOf") or schema.get("oneOf")
        if parts is None and "if" in schema:
            parts = [schema["if"] if "then" not in schema else schema["then"], schema.get("else")]
        if parts:
            found = [self.types(p) for p in parts]
            if any(f is None for f in found):
                return None
            return frozenset().union(*found)  # type: ignore[arg-type]
        return None


#: keywords that constrain only values of one JSON type
_TYPED_KEYWORDS = {
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "string": {"pattern", "minLength", "maxLength"},
    "boolean": set(),
    "null": set(),
}


def _merged(forms: list[dict[str, Any]], kinds: list[frozenset[str] | None]) -> dict | None:
    """Scalar forms as one schema, so a wrong value gets its own message: enumerations
    (and null) as one ``enum``; forms of different JSON types, each constrained only by
    keywords of its type, as one ``type`` list. None when neither applies."""
    values: list[Any] = []
    for form in forms:
        if form == {"type": "null"}:
            values.append(None)
        elif set(form) <= {"enum", "const", "type"} and ({"enum", "const"} & set(form)):
            values.extend(form["enum"] if "enum" in form else [form["const"]])
        else:
            break
    else:
        return {"enum": values}
    if any(k is None or len(k) != 1 for k in kinds) or not _disjoint(kinds):
        return None
    out: dict[str, Any] = {"type": []}
    for form, kind in zip(forms, kinds, strict=True):
        (name,) = kind  # type: ignore[misc]
        extra = [k for k in form if k != "type"]  # in order: the text must not vary
        if (
            name not in _TYPED_KEYWORDS
            or set(extra) - _TYPED_KEYWORDS[name]
            or set(extra) & set(out)
        ):
            return None
        out["type"].append(name)
        out.update({k: form[k] for k in extra})
    return out


def _disjoint(kinds: list[frozenset[str] | None]) -> bool:
    seen: set[str] = set()
    for kind in kinds:
        assert kind is not None
        widened = set(kind) | ({"integer"} if "number" in kind else set())
        if widened & seen:
            return False
        seen |= widened
    return True


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


# --------------------------------------------------------------------------- ops


def _step_key_refs() -> dict[str, Any]:
    return {key: _ref(f"Step_{key}") for key in STEP_KEYS}


def _op_defs(
    conv: _Converter, ops: list[OpDef], model_refs: dict[type, str]
) -> tuple[dict[str, Any], list[str]]:
    """``op_NAME`` for every op (its attribute mapping, shorthand value or nothing), and the
    names of the ops that need no attributes."""
    out: dict[str, Any] = {}
    bare: list[str] = []
    for op in ops:
        model = conv.source[model_refs[op.attrs]]
        props = {name: conv.attribute(prop) for name, prop in model.get("properties", {}).items()}
        required = [r for r in model.get("required", []) if r != "inputs" or op.merge]
        mapping = _object({**props, **_step_key_refs()}, required=required)
        if "layer" in getattr(op.attrs, "layer_fields", ()):
            mapping = _wrapper(mapping, props, required, ops)
        name = model_refs[op.attrs]
        if name in conv.defs and conv.defs[name] != mapping:
            name = f"{name}_{op.name}"
        conv.defs[name] = mapping
        other: dict[str, Any] | None = None  # what a value other than a mapping may be
        if op.shorthand is not None:
            short = model["properties"][op.shorthand]
            body = {k: v for k, v in short.items() if k not in ("description", "default", "title")}
            literal = conv.literal(body)
            if not required:
                literal = conv.split([literal, {"type": "null"}])
            other = _or_expr(literal, conv.values(literal))
        elif not required:
            other = {"type": "null"}
        if not required:
            bare.extend((op.name, *op.aliases))
        schema: dict[str, Any] = {"description": op.doc}
        if other is None:
            schema["allOf"] = [_ref(name)]
        else:
            schema.update({"if": {"type": "object"}, "then": _ref(name), "else": other})
        out[f"op_{op.name}"] = schema
    return out, sorted(bare)


def _wrapper(
    mapping: dict[str, Any], props: dict[str, Any], required: list[str], ops: list[OpDef]
) -> dict[str, Any]:
    """A wrapper's attributes: with `layer`, or with the wrapped op's key in its place
    (``time_distributed: {dense: 8}``, as the wrapper models read it)."""
    calls = {n: _ref(f"op_{op.name}") for op in ops for n in (op.name, *op.aliases)}
    others = {k: v for k, v in props.items() if k != "layer"}
    short = _object(
        {**others, **calls, **_step_key_refs()}, required=[r for r in required if r != "layer"]
    )
    return {"if": {"required": ["layer"]}, "then": mapping, "else": short}


# --------------------------------------------------------------------------- layout


def _doc(defs: dict[str, Any], model: str, field: str) -> str | None:
    return defs[model]["properties"][field].get("description")


def _layout(pyd: dict[str, Any], ops: list[OpDef], bare: list[str]) -> dict[str, Any]:
    """The definitions of a spec's layout: files, blocks, branches, steps, parameters."""
    call_names = sorted(n for op in ops for n in (op.name, *op.aliases))
    dotted = [n for n in call_names if "." in n]
    steps = {"type": ["array", "null"], "items": _ref("Step")}
    ident = _ref("Identifier")
    reserved = _identifier_but(
        list(RESERVED_PARAM_NAMES),
        "a name here is an identifier other than "
        + ", ".join(f"`{n}`" for n in RESERVED_PARAM_NAMES)
        + " (archspec's own names)",
    )
    node_name = {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": NAME_CHARS,
    }
    defs: dict[str, Any] = {
        "Identifier": {"type": "string", "pattern": IDENT.pattern},
        "ModelName": {
            "type": "string",
            "pattern": MODEL_NAME,
            "description": _doc(pyd, "Spec", "name"),
        },
        "LayerName": {
            "type": ["string", "null"],
            "description": 'Local name of a layer or scope (`""`: none of its own); may '
            "embed `${...}`. A name without `$` may not hold `/` or control characters.",
            "if": {"type": "string", "pattern": "^[^$]*$"},
            "then": {"pattern": NAME_CHARS},
        },
        "Step_name": _ref("LayerName"),
        "Step_if": {
            "description": "The step is left out when this is false.",
            **_or_expr({"type": ["boolean", "null"]}, [True, False]),
        },
        "Step_repeat": {
            "description": "Apply the step this many times in sequence (`index` counts from 1).",
            **_or_expr({"type": ["integer", "null"], "minimum": 1}),
        },
        "Step_trainable": {
            "description": "`false` freezes the layer, or every layer of the block called.",
            **_or_expr({"type": ["boolean", "null"]}, [True, False]),
        },
        "Step_dtype": {
            "description": "Keras dtype policy of the layer, or of every layer of the block "
            "called.",
            **_or_expr({"enum": [*get_args(DtypePolicy), None]}, list(get_args(DtypePolicy))),
        },
        "Step_sequential": {
            "type": ["string", "null"],
            "description": "Emit the layers of this call as one nested `keras.Sequential` "
            "model of this name; they must form a chain.",
        },
        "Step": {
            "description": "One step of a sequence: `op`, `{op: {attributes}}`, `{block: "
            "{args}}` or `{stages: {...}}`; `name`, `if`, `repeat`, `trainable`, `dtype` and "
            "`sequential` may stand inside or beside the call.",
            "type": ["string", "object"],
            "if": {"type": "string"},
            "then": _ref("Callee"),
            "else": _ref("StepCall"),
        },
        "Callee": {
            "type": "string",
            "description": "An op or a block; a name with a dot is an op (`ops.add`).",
            "examples": bare,
            "if": {"pattern": r"\."},
            "then": {"enum": dotted},
            "else": {"pattern": IDENT.pattern},
        },
        "StepCall": {
            "type": "object",
            "description": "A call: one op or block key, with its attributes or arguments, "
            "and the step keys.",
            "propertyNames": _ref("Callee"),
            "properties": {
                **{n: _ref(f"op_{REGISTRY[n].name}") for n in call_names},
                "stages": _ref("StagesDef"),
                **_step_key_refs(),
            },
            "additionalProperties": _ref("BlockArgs"),
            "not": {
                "propertyNames": {"enum": list(STEP_KEYS)},
                "description": "a step names an op or a block",
            },
            "allOf": [
                {
                    "if": {"required": ["stages"]},
                    "then": {
                        "propertyNames": {
                            "enum": ["stages", "if"],
                            "errorMessage": "`stages` takes `name`, `repeat`, `trainable` and "
                            "`dtype` inside its mapping",
                        }
                    },
                },
                *(
                    {
                        "if": {"required": [n]},
                        "then": {
                            "propertyNames": {
                                "enum": [n, *STEP_KEYS],
                                "errorMessage": "a step calls one op or block; start each "
                                "with its own `- `",
                            }
                        },
                    }
                    for n in call_names
                ),
            ],
        },
        "BlockArgs": {
            "description": "Arguments of a block call: `{param: value}`, or one value for a "
            "block of one parameter.",
            "if": {"type": "object"},
            "then": {
                "propertyNames": _names(ident),
                "properties": {**_step_key_refs(), **MERGE},
            },
        },
        "StagesDef": _object(
            {
                "block": {
                    "description": _doc(pyd, "StagesDef", "block"),
                    **_or_expr(ident),
                },
                "repeats": {
                    "description": _doc(pyd, "StagesDef", "repeats"),
                    **_or_expr(
                        {
                            "type": "array",
                            "minItems": 1,
                            "items": _or_expr({"type": "integer", "minimum": 1}),
                        }
                    ),
                },
                **{
                    key: {"description": _doc(pyd, "StagesDef", key), **_ref("StageArgs")}
                    for key in ("args", "first", "last")
                },
                "name": _ref("LayerName"),
                "block_name": _ref("LayerName"),
                "trainable": {
                    "description": _doc(pyd, "StagesDef", "trainable"),
                    **_or_expr(
                        {
                            "type": ["boolean", "null", "array"],
                            "items": {"type": "boolean"},
                        }
                    ),
                },
                "dtype": _ref("Step_dtype"),
                "between": {
                    "description": _doc(pyd, "StagesDef", "between"),
                    "type": "array",
                    "items": _ref("Step"),
                },
            },
            required=["block", "repeats"],
            description=pyd["StagesDef"]["description"],
        ),
        "StageArgs": {"type": "object", "propertyNames": _names(ident)},
        "Params": {
            "type": "object",
            "description": _doc(pyd, "Spec", "params"),
            "propertyNames": _names(reserved),
            "properties": MERGE,
            "additionalProperties": _ref("Param"),
        },
        "Param": {
            "description": "A parameter: a type name (`int`, `int[3]`, ...: required), a "
            "default value (its type is inferred), or `{type, default, doc}`.",
            "if": {"type": "object"},
            "then": _ref("ParamDecl"),
        },
        "ParamDecl": _object(
            {
                "type": {
                    "type": "string",
                    "pattern": PARAM_TYPE,
                    "description": _doc(pyd, "ParamDecl", "type"),
                },
                "default": {"description": _doc(pyd, "ParamDecl", "default")},
                "required": {
                    "type": "boolean",
                    "description": _doc(pyd, "ParamDecl", "required"),
                },
                "doc": {"type": ["string", "null"], "description": _doc(pyd, "ParamDecl", "doc")},
                "choices": {
                    "type": ["array", "null"],
                    "description": _doc(pyd, "ParamDecl", "choices"),
                },
            },
            rules=[{"if": {"not": {"required": ["type"]}}, "then": {"required": ["default"]}}],
            description=pyd["ParamDecl"]["description"],
        ),
        "Shape": {
            "description": "Input shape without the batch axis, e.g. [224, 224, 3]: positive "
            "sizes, `null` for any size.",
            **_or_expr(
                {
                    "type": "array",
                    "minItems": 1,
                    "items": _or_expr({"type": ["integer", "null"], "minimum": 1}),
                }
            ),
        },
        "InputSpec": {
            "description": "An input's shape, or `{shape: [...], dtype: ...}`.",
            "if": {"type": "object"},
            "then": _ref("InputDef"),
            "else": _ref("Shape"),
        },
        "InputDef": _object(
            {
                "shape": _ref("Shape"),
                "dtype": {
                    "enum": list(get_args(InputDtype)),
                    "description": _doc(pyd, "InputDef", "dtype"),
                },
            },
            required=["shape"],
            description=pyd["InputDef"]["description"],
        ),
        "Output": {
            "description": "An output: a node name, or `{from: name, if: condition}`.",
            "if": {"type": "object"},
            "then": _object({"from": {"type": "string"}, "if": _ref("Step_if")}, required=["from"]),
            "else": {"type": "string"},
        },
        "Blocks": {
            "type": "object",
            "description": "Named blocks; a block may not take the name of an op.",
            "propertyNames": _names(
                _identifier_but(
                    [n for n in call_names if "." not in n] + ["stages"],
                    "a block name is an identifier that no op (or `stages`) has",
                )
            ),
            "properties": MERGE,
            "additionalProperties": _ref("BlockDef"),
        },
        "BlockDef": _object(
            {
                "doc": {"type": ["string", "null"], "description": _doc(pyd, "BlockDef", "doc")},
                "params": _ref("Params"),
                "inputs": {
                    "type": "array",
                    "description": _doc(pyd, "BlockDef", "inputs"),
                    "items": {"type": "string", **reserved},
                    "uniqueItems": True,
                },
                "layers": {**steps, "description": "The block's sequence of steps."},
                "graph": {"description": "The block's named branches.", **_nullable("Graph")},
                "output": {
                    "type": ["string", "null"],
                    "description": _doc(pyd, "BlockDef", "output"),
                },
            },
            rules=[_one_of("layers", "graph", ["array"], both_needed=True)],
            description=pyd["BlockDef"]["description"],
        ),
        "Graph": {
            "type": "object",
            "description": "Named branches, merged by name.",
            "minProperties": 1,
            "propertyNames": _names(
                _identifier_but(["input"], "a branch name is an identifier other than `input`")
            ),
            "properties": MERGE,
            "additionalProperties": _ref("Branch"),
        },
        "Branch": {
            "description": "A branch: a list of steps from the block's input, or a mapping "
            "with `from`, `if`, `then` (or `layers`) and `else`.",
            "if": {"type": "array"},
            "then": {"items": _ref("Step")},
            "else": _object(
                {
                    "from": {"type": "string", "description": _doc(pyd, "Branch", "from")},
                    "if": {"description": _doc(pyd, "Branch", "if"), **_ref("Step_if")},
                    "then": {"type": "array", "items": _ref("Step"), "description": "The steps."},
                    "layers": {"type": "array", "items": _ref("Step"), "description": "The steps."},
                    "else": {
                        "type": "array",
                        "items": _ref("Step"),
                        "description": "The steps when `if` is false.",
                    },
                },
                rules=[
                    {
                        "if": {"required": ["then"]},
                        "then": {
                            "properties": {"layers": False},
                            "errorMessage": "give a branch `then` or `layers`, not both",
                        },
                    },
                    {"if": {"required": ["else"]}, "then": _given("if")},
                ],
            ),
        },
        "BlockLibrary": _object(
            {
                "archspec": _ref("FormatVersion"),
                "description": {"type": ["string", "null"]},
                "imports": _ref("Imports"),
                "blocks": _ref("Blocks"),
            },
            required=["archspec", "blocks"],
            description="A block library: blocks that specs import.",
        ),
        "FormatVersion": {"const": 1, "description": "Version of the spec format: `1`."},
        "Imports": {
            "type": "array",
            "description": _doc(pyd, "Spec", "imports"),
            "items": {"type": "string", "minLength": 1},
        },
    }
    spec_props = {
        "archspec": _ref("FormatVersion"),
        "name": _ref("ModelName"),
        "description": {"type": ["string", "null"]},
        "extends": {
            "type": "string",
            "minLength": 1,
            "description": _doc(pyd, "Spec", "extends"),
        },
        "imports": _ref("Imports"),
        "params": _ref("Params"),
        "auto_names": {
            "enum": ["scoped", "keras"],
            "description": _doc(pyd, "Spec", "auto_names"),
        },
        "dtype_policy": {
            "enum": [*get_args(DtypePolicy), None],
            "description": _doc(pyd, "Spec", "dtype_policy"),
        },
        "input": {"description": _doc(pyd, "Spec", "input"), **_nullable("InputSpec")},
        "inputs": {
            "type": ["object", "null"],
            "description": _doc(pyd, "Spec", "inputs"),
            "minProperties": 1,
            "propertyNames": _names(node_name),
            "properties": MERGE,
            "additionalProperties": _ref("InputSpec"),
        },
        "blocks": _ref("Blocks"),
        "layers": {**steps, "description": "The model's sequence of steps."},
        "graph": {"description": "The model's named branches.", **_nullable("Graph")},
        "outputs": {
            "type": ["array", "null"],
            "description": _doc(pyd, "Spec", "outputs"),
            "minItems": 1,
            "items": _ref("Output"),
        },
    }
    spec_rules = {
        "if": {"required": ["extends"]},
        "then": {
            "allOf": [
                _one_of("input", "inputs", [], both_needed=False),
                _one_of("layers", "graph", [], both_needed=False),
            ]
        },
        "else": {
            "required": ["name"],
            "allOf": [
                _one_of("input", "inputs", ["array", "object", "string"], both_needed=True),
                _one_of("layers", "graph", ["array"], both_needed=True),
            ],
        },
    }
    defs["Spec"] = _object(
        spec_props,
        required=["archspec"],
        rules=[spec_rules],
        description="A spec: a whole architecture. A variant (with `extends`) may leave out "
        "what its base gives, `name` included.",
    )
    return defs


def _nullable(name: str) -> dict[str, Any]:
    return {"if": {"type": "null"}, "else": _ref(name)}


# --------------------------------------------------------------------------- assembly


def _walk(node: Any):
    """Every mapping in ``node``, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def references(schema: dict[str, Any]) -> list[str]:
    """Every ``$ref`` in ``schema``, in order."""
    return [node["$ref"] for node in _walk(schema) if isinstance(node.get("$ref"), str)]


def unresolved(schema: dict[str, Any]) -> list[str]:
    """The references in ``schema`` that name nothing in it (JSON pointers into itself)."""
    missing = []
    for target in dict.fromkeys(references(schema)):
        node: Any = schema
        if not target.startswith("#"):
            missing.append(target)
            continue
        for part in target[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                missing.append(target)
                break
            node = node[part]
    return missing


def _draft_neutral(node: Any) -> Any:
    """A ``$ref`` beside other keywords goes into ``allOf``: draft-07 ignores its siblings."""
    if isinstance(node, list):
        return [_draft_neutral(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft_neutral(v) for k, v in node.items()}
    if "$ref" in out and len(out) > 1:
        target = out.pop("$ref")
        out["allOf"] = [{"$ref": target}, *out.get("allOf", [])]
    return out


def _used(schema: dict[str, Any]) -> dict[str, Any]:
    """The definitions that the schema's root reaches, in name order."""
    defs = schema[_DEFS]
    seen: set[str] = set()
    todo = [schema | {_DEFS: {}}]
    while todo:
        for target in references(todo.pop()):
            name = target.rsplit("/", 1)[-1]
            if name not in seen and name in defs:
                seen.add(name)
                todo.append(defs[name])
    return {name: defs[name] for name in sorted(seen)}


def build_schema() -> dict[str, Any]:
    """The JSON Schema of spec files, variants and block library files."""
    from archspec.ops.constraints import CONSTRAINTS
    from archspec.ops.initializers import INITIALIZERS

    ops = REGISTRY.ops()
    models: list[type[BaseModel]] = list(dict.fromkeys(op.attrs for op in ops))
    catalogue_classes = [
        cls for catalogue in (INITIALIZERS, CONSTRAINTS) for cls in catalogue.classes.values()
    ]
    keys, generated = models_json_schema(
        [(m, "validation") for m in [*models, *catalogue_classes, Spec, BlockLibrary]],
        ref_template="#/" + _DEFS + "/{model}",
    )
    pyd = generated.get("$defs", {})
    model_refs = {m: keys[(m, "validation")]["$ref"].rsplit("/", 1)[-1] for m in models}
    conv = _Converter(pyd, [INITIALIZERS, CONSTRAINTS])
    defs, bare = _op_defs(conv, ops, model_refs)
    layout = _layout(pyd, ops, bare)
    clash = (set(conv.defs) | set(defs)) & set(layout)
    if clash:
        raise ValueError(f"definitions named twice: {sorted(clash)}")
    library_keys = {
        "type": "object",
        "required": ["blocks"],
        "propertyNames": {"enum": list(_LIBRARY_KEYS)},
    }
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "archspec spec file",
        "description": "An architecture spec, a variant of one (`extends`), or a block "
        "library (`archspec: 1` and `blocks:` only).",
        "if": library_keys,
        "then": _ref("BlockLibrary"),
        "else": _ref("Spec"),
        _DEFS: {**conv.defs, **defs, **layout},
    }
    schema = _draft_neutral(schema)
    schema[_DEFS] = _used(schema)
    missing = unresolved(schema)
    if missing:
        raise ValueError(f"the schema refers to definitions it lacks: {missing}")
    return schema


def schema_text() -> str:
    """The schema as the checked-in file holds it."""
    return json.dumps(build_schema(), indent=2) + "\n"
