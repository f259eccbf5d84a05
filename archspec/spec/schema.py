"""JSON Schema for spec files, generated from the pydantic models and the op registry.

Most of the schema is pydantic's own output for :mod:`archspec.spec.models`. Four
models accept shorthand forms that are normalised before validation (a step written
as ``relu`` or ``{conv2d: {...}}``, a parameter written as ``int`` or ``3``, a branch
written as a plain list, an output written as a name); for those the schema describes
the YAML as people write it. Each op contributes the schema of its attributes, where
every attribute may also be a ``$`` expression, so an editor using this schema checks
attribute names and literal values as archspec does.
"""

from __future__ import annotations

import copy
import json
from typing import Any, get_args

from archspec.ops import REGISTRY, OpDef
from archspec.ops.keras_objects import CLASS_REF, json_definitions
from archspec.spec.models import CALLEE, IDENT, BlockLibrary, DtypePolicy, Spec

SCHEMA_ID = "https://archspec.dev/schemas/archspec.schema.json"
EXPR = {"$ref": "#/$defs/Expr"}
STEP_KEY_PROPS: dict[str, Any] = {
    "name": {
        "type": "string",
        "description": "Local name of the layer or block scope; may embed `${...}`.",
    },
    "if": {
        "anyOf": [{"type": "boolean"}, EXPR],
        "description": "The step is left out when this is false.",
    },
    "repeat": {
        "anyOf": [{"type": "integer", "minimum": 1}, EXPR],
        "description": "Apply the step this many times in sequence (`index` counts from 1).",
    },
    "trainable": {
        "anyOf": [{"type": "boolean"}, EXPR],
        "description": "`false` freezes the layer, or every layer of the block called.",
    },
    "dtype": {
        "anyOf": [{"enum": list(get_args(DtypePolicy))}, EXPR],
        "description": "Keras dtype policy of the layer, or of every layer of the block called.",
    },
}


def _strip_titles(schema: Any) -> Any:
    """Without pydantic's titles; a catalogue class (an initializer, a constraint) by `$ref`."""
    if isinstance(schema, dict):
        if CLASS_REF in schema:
            return {"$ref": f"#/$defs/{schema[CLASS_REF]}"}
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def _items_take_expressions(schema: Any) -> Any:
    """Every list item may be an expression too (`target_shape: [$tokens, $width]`)."""
    if isinstance(schema, list):
        return [_items_take_expressions(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _items_take_expressions(v) for k, v in schema.items()}
    if isinstance(out.get("items"), dict):
        out["items"] = {"anyOf": [out["items"], EXPR]}
    if isinstance(out.get("prefixItems"), list):
        out["prefixItems"] = [{"anyOf": [item, EXPR]} for item in out["prefixItems"]]
    return out


def _arguments_take_expressions(definition: dict[str, Any]) -> dict[str, Any]:
    """A catalogue class (an initializer, a constraint) whose arguments, but not its
    `class`, may be expressions (`scale: $1.0 / 3.0`)."""
    props = definition.get("properties")
    if not isinstance(props, dict):
        return definition
    wrapped = {
        name: prop if name == "class" else {"anyOf": [_items_take_expressions(prop), EXPR]}
        for name, prop in props.items()
    }
    return {**definition, "properties": wrapped}


def _attrs_schema(op: OpDef, defs: dict[str, Any]) -> dict[str, Any]:
    """The attributes of ``op``; models they use (regularizer factors) go into ``defs``."""
    base = _strip_titles(op.attrs.model_json_schema(ref_template="#/$defs/{model}"))
    defs.update(base.pop("$defs", {}))
    props = {}
    for name, prop in base.get("properties", {}).items():
        meta = {k: prop.pop(k) for k in ("description", "default") if k in prop}
        props[name] = {"anyOf": [_items_take_expressions(prop), EXPR], **meta}
    props.update(STEP_KEY_PROPS)
    mapping: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    required = [r for r in base.get("required", []) if r != "inputs" or op.merge]
    if required:
        mapping["required"] = required
    forms: list[dict[str, Any]] = [mapping]
    if op.shorthand:
        short = copy.deepcopy(props[op.shorthand])
        short["description"] = f"Shorthand for `{op.shorthand}`."
        forms.append(short)
    if not required:
        forms.append({"type": "null", "description": "No attributes: Keras defaults."})
    return {"description": op.doc, "anyOf": forms}


def _step_schema() -> dict[str, Any]:
    forms: list[dict[str, Any]] = [
        {
            "type": "string",
            "pattern": CALLEE.pattern,
            "description": "An op or block called without arguments, e.g. `flatten`.",
        }
    ]
    call_names = []
    for op in REGISTRY.ops():
        for name in (op.name, *op.aliases):
            call_names.append(name)
            forms.append(
                {
                    "type": "object",
                    "required": [name],
                    "properties": {name: {"$ref": f"#/$defs/op_{op.name}"}, **STEP_KEY_PROPS},
                    "additionalProperties": False,
                }
            )
    forms.append(
        {
            "type": "object",
            "required": ["stages"],
            "properties": {"stages": {"$ref": "#/$defs/StagesDef"}, "if": STEP_KEY_PROPS["if"]},
            "additionalProperties": False,
            "description": "A block repeated in stages.",
        }
    )
    forms.append(
        {
            "type": "object",
            "description": "A call of a block defined in `blocks` or an imported library.",
            "minProperties": 1,
            "propertyNames": {"pattern": IDENT.pattern},
            "not": {"anyOf": [{"required": [n]} for n in [*call_names, "stages"]]},
            "additionalProperties": {
                "anyOf": [
                    {"type": "object"},
                    {"type": "null"},
                    {"type": ["string", "number", "boolean", "array"]},
                ]
            },
        }
    )
    return {
        "description": "One step of a sequence: `op`, `{op: {attributes}}`, `{block: {args}}` "
        "or `{stages: {...}}`; `name`, `if`, `repeat`, `trainable` and `dtype` may stand inside or "
        "beside the call.",
        "anyOf": forms,
    }


def _param_schema(pydantic_form: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "A parameter: a type name (`int`, `int[3]`, ... : required), a "
        "default value (its type is inferred), or `{type, default, doc}`.",
        "anyOf": [
            {"type": ["string", "number", "boolean", "array", "null"]},
            pydantic_form,
        ],
    }


def _branch_schema(pydantic_form: dict[str, Any]) -> dict[str, Any]:
    props = dict(pydantic_form["properties"])
    props["then"] = props["layers"]
    return {
        "description": "A branch: a list of steps from the block's input, or a mapping with "
        "`from`, `if`, `then` (or `layers`) and `else`.",
        "anyOf": [
            {"type": "array", "items": {"$ref": "#/$defs/Step"}},
            {**pydantic_form, "properties": props},
        ],
    }


def _output_schema(pydantic_form: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": "An output: a node name, or `{from: name, if: condition}`.",
        "anyOf": [{"type": "string"}, pydantic_form],
    }


def build_schema() -> dict[str, Any]:
    """The JSON Schema of spec files and block library files."""
    spec = _strip_titles(Spec.model_json_schema(ref_template="#/$defs/{model}"))
    library = _strip_titles(BlockLibrary.model_json_schema(ref_template="#/$defs/{model}"))
    defs: dict[str, Any] = {**spec.pop("$defs", {}), **library.pop("$defs", {})}
    # a variant that `extends` a base may keep the base's name
    spec["required"] = [r for r in spec.get("required", []) if r != "name"]
    spec["anyOf"] = [{"required": ["name"]}, {"required": ["extends"]}]
    defs["Spec"] = spec
    defs["BlockLibrary"] = library
    defs["Expr"] = {
        "type": "string",
        "pattern": r"^\$",
        "description": "An expression over parameters: `$filters`, `$4 * width`, `$depths[2]`.",
    }
    defs["Step"] = _step_schema()
    # initializers and constraints by class
    catalogue = _strip_titles(json_definitions())
    defs.update({name: _arguments_take_expressions(d) for name, d in catalogue.items()})
    defs["ParamDecl"] = _param_schema(defs["ParamDecl"])
    defs["Branch"] = _branch_schema(defs["Branch"])
    defs["OutputDef"] = _output_schema(defs["OutputDef"])
    for op in REGISTRY.ops():
        defs[f"op_{op.name}"] = _attrs_schema(op, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "archspec spec file",
        "description": "An architecture spec (with `name`) or a block library (without).",
        "oneOf": [{"$ref": "#/$defs/Spec"}, {"$ref": "#/$defs/BlockLibrary"}],
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    """The schema as the checked-in file holds it."""
    return json.dumps(build_schema(), indent=2, sort_keys=False) + "\n"
