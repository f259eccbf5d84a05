"""The checked-in JSON Schema is current, and editors using it agree with archspec."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

import archspec
from archspec.spec.schema import build_schema, schema_text
from tests.conftest import ROOT, SPECS
from tests.helpers import spec_error, write

SCHEMA_FILE = ROOT / "schemas" / "archspec.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_checked_in_schema_is_current():
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "schemas/archspec.schema.json is stale: "
        "run `archspec schema -o schemas/archspec.schema.json`"
    )


@pytest.mark.parametrize(
    "path", sorted(SPECS.rglob("*.yaml")), ids=lambda p: str(p.relative_to(SPECS))
)
def test_every_bundled_file_validates_against_the_schema(validator, path):
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(
    "body",
    [
        "layers: [{conv2d: {filtres: 3, kernel_size: 3}}]",
        "layers: [{conv2d: {filters: 3, kernel_size: 3, padding: full}}]",
        "layers: [{conv2d: {filters: -3, kernel_size: 3}}]",
        "layers: [{dense: {units: 3, repeat: 0}}]",
        "layers: [{stages: {block: b, repeats: [1], argz: {}}}]",
        "layers: [flatten]\nextra: 1",
    ],
)
def test_schema_and_archspec_both_reject(validator, tmp_path, body):
    text = f"archspec: 1\nname: t\ninput: [8, 8, 3]\n{body}\n"
    assert list(validator.iter_errors(yaml.safe_load(text)))
    spec_error(write(tmp_path, "t.yaml", text))


def test_schema_accepts_expressions_where_values_go(validator, tmp_path):
    text = (
        "archspec: 1\nname: t\ninput: [8, 8, 3]\nparams: {f: 3}\n"
        "layers: [{conv2d: {filters: $f, kernel_size: 3}}, flatten, {dropout: 0.5}, {dense: $f}]\n"
    )
    assert not list(validator.iter_errors(yaml.safe_load(text)))
    archspec.load(write(tmp_path, "t.yaml", text))


def test_schema_documents_every_op():
    defs = build_schema()["$defs"]
    from archspec.ops import REGISTRY

    for op in REGISTRY.ops():
        assert defs[f"op_{op.name}"]["description"] == op.doc
