"""The JSON Schema: current, self-contained, valid for its draft, and saying what archspec says.

Editors validate specs with this schema as they are typed, so each rule archspec enforces
that JSON Schema can state is checked here both ways (the schema accepts what archspec
accepts and refuses what it refuses), over generated values, and a fault gives one error.
"""

from __future__ import annotations

import itertools
import json
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import archspec
from archspec.errors import SpecError
from archspec.loader.yaml_source import parse_value
from archspec.ops import REGISTRY
from archspec.spec.models import RESERVED_PARAM_NAMES, STEP_KEYS
from archspec.spec.schema import schema_text
from tests.conftest import ROOT, SPECS
from tests.helpers import spec_error, write

SCHEMA_FILE = ROOT / "schemas" / "archspec.schema.json"
BUNDLED = sorted(SPECS.rglob("*.yaml"))
HEADER = "archspec: 1\nname: t\ninput: [8, 8, 3]\n"
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def as_json(text: str) -> Any:
    """A YAML document as archspec reads it, as JSON data: keys are text, as editors see them."""
    return _keys_as_text(parse_value(text, what="the document"))


def _keys_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _keys_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys_as_text(v) for v in value]
    return value


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def errors(validator, doc: Any) -> list[jsonschema.ValidationError]:
    return list(validator.iter_errors(doc))


# --------------------------------------------------------------------------- the file


def test_checked_in_schema_is_current():
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "schemas/archspec.schema.json is stale: "
        "run `archspec schema -o schemas/archspec.schema.json`"
    )


def test_generation_is_deterministic_and_imports_no_framework():
    """Another process, another hash seed: the same text, and no framework imported."""
    code = (
        "import sys\n"
        "from archspec.spec.schema import schema_text\n"
        "sys.stdout.write(schema_text())\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == SCHEMA_FILE.read_text()
    assert result.stderr == "[]"


def test_every_reference_resolves(schema):
    """Each `$ref` resolves by JSON Schema's own rules, and each definition is used."""
    refs = [n["$ref"] for n in _mappings(schema) if isinstance(n.get("$ref"), str)]
    assert refs
    resource = referencing.jsonschema.DRAFT7.create_resource(schema)
    resolver = (
        referencing.Registry()
        .with_resource(schema["$id"], resource)
        .resolver(base_uri=schema["$id"])
    )
    for ref in set(refs):
        resolver.lookup(ref)  # raises Unresolvable
    named = {ref.rsplit("/", 1)[-1] for ref in refs}
    assert set(schema["definitions"]) == named


def test_schema_is_valid_for_its_draft_and_for_2020_12(schema):
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_no_keyword_whose_meaning_differs_between_drafts(schema):
    """Draft-07 ignores the siblings of `$ref`, and 2020-12 reads `items` lists differently."""
    for node in _mappings(schema):
        if "$ref" in node:
            assert set(node) == {"$ref"}, node
        assert not isinstance(node.get("items"), list), node
        assert not {"prefixItems", "dependencies", "unevaluatedProperties"} & set(node), node


def _mappings(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mappings(value)


def test_schema_documents_every_op(schema):
    defs = schema["definitions"]
    for op in REGISTRY.ops():
        assert defs[f"op_{op.name}"]["description"] == op.doc
    steps = defs["StepCall"]["properties"]
    assert set(REGISTRY.names()) <= set(steps)


# --------------------------------------------------------------------------- bundled files


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(SPECS)))
def test_every_bundled_file_validates_under_both_drafts(schema, path):
    doc = as_json(path.read_text())
    for cls in (jsonschema.Draft7Validator, jsonschema.Draft202012Validator):
        found = [e.message for e in cls(schema).iter_errors(doc)]
        assert not found, found


# --------------------------------------------------------------------------- one fault, one error


def _typo(name: str, how: int) -> str:
    """A misspelling: a letter dropped, doubled, swapped with the next, or replaced."""
    i = how % len(name)
    j = min(i + 1, len(name) - 1)
    forms = [
        name[:i] + name[i + 1 :],
        name[:i] + name[i] + name[i:],
        name[:i] + name[j] + name[i] + name[j + 1 :] if j > i else name + "s",
        name[:i] + ("x" if name[i] != "x" else "y") + name[i + 1 :],
    ]
    return forms[(how // len(name)) % len(forms)]


@SETTINGS
@given(op=st.sampled_from(REGISTRY.ops()), which=st.integers(0, 10**6), how=st.integers(0, 10**6))
def test_one_misspelt_attribute_is_one_error_at_the_step(validator, op, which, how):
    required, optional = sample_attributes(op)
    attrs = {**required, **next(iter(optional.values()), {})}
    names = sorted(attrs) or ["units"]  # an op without attributes: any name is a typo
    wrong = names[which % len(names)]
    typo = _typo(wrong, how)
    if typo in op.attrs.model_fields or typo in STEP_KEYS or not typo:
        return
    given_attrs = {(typo if k == wrong else k): v for k, v in attrs.items()} or {typo: 1}
    doc = as_json(HEADER + "layers:\n  - " + json.dumps({op.name: given_attrs}) + "\n")
    found = errors(validator, doc)
    assert len(found) == 1, [e.message for e in found]
    assert list(found[0].absolute_path) == ["layers", 0, op.name]
    assert repr(typo) in found[0].message


@pytest.mark.parametrize(
    ("body", "path", "word"),
    [
        ("lyers: [flatten]", [], "lyers"),
        ("layers: [{stages: {block: b, repeat: [1]}}]", ["layers", 0, "stages"], "repeat"),
        ("params: {x: {tpye: int}}\nlayers: [flatten]", ["params", "x"], "tpye"),
        ("layers: [{dense: 3, nmae: d}]", ["layers", 0], "nmae"),
        ("layers: [{ops.ad: 3}]", ["layers", 0], "ops.ad"),
        ("layers: [ops.sqr]", ["layers", 0], "ops.sqr"),
        (
            "layers: [{dense: {units: 3, kernel_initializer: {class: he_normal, sed: 1}}}]",
            ["layers", 0, "dense", "kernel_initializer"],
            "sed",
        ),
        (
            "layers: [{dense: {units: 3, kernel_initializer: {class: he_nromal}}}]",
            ["layers", 0, "dense", "kernel_initializer", "class"],
            "he_nromal",
        ),
        (
            "layers: [{dense: {units: 3, kernel_regularizer: {l3: 0.1}}}]",
            ["layers", 0, "dense", "kernel_regularizer"],
            "l3",
        ),
        (
            "layers: [{dense: {units: 3, activation: rleu}}]",
            ["layers", 0, "dense", "activation"],
            "rleu",
        ),
        ("layers: [flatten]\nblocks: {b: {layres: [relu]}}", ["blocks", "b"], "layres"),
        ("graph: {a: {form: input, layers: [relu]}}", ["graph", "a"], "form"),
    ],
)
def test_one_fault_anywhere_is_one_error_where_it_is(validator, body, path, word):
    found = errors(validator, as_json(HEADER.replace("name: t\n", "name: t\n") + body + "\n"))
    assert len(found) == 1, [e.message for e in found]
    assert list(found[0].absolute_path) == path
    assert word in found[0].message


def test_an_unknown_plain_name_is_a_block_call_to_the_schema(validator, tmp_path):
    """The blocks a spec may call come from files the schema cannot see: archspec says."""
    text = HEADER + "layers: [{conv2: {filters: 8}}]\n"
    assert errors(validator, as_json(text)) == []
    assert "unknown op or block `conv2`" in spec_error(write(tmp_path, "t.yaml", text)).message


# --------------------------------------------------------------------------- archspec agrees


@pytest.mark.parametrize(
    "body",
    [
        "layers: [{conv2d: {filtres: 3, kernel_size: 3}}]",
        "layers: [{conv2d: {filters: 3, kernel_size: 3, padding: full}}]",
        "layers: [{conv2d: {filters: -3, kernel_size: 3}}]",
        "layers: [{dense: {units: 3, repeat: 0}}]",
        "layers: [{stages: {block: b, repeats: [1], argz: {}}}]",
        "layers: [flatten]\nextra: 1",
        "layers: [{dense: {units: 3, use_bias: no}}]",  # YAML 1.2: `no` is text
    ],
)
def test_schema_and_archspec_both_reject(validator, tmp_path, body):
    text = HEADER + body + "\n"
    assert errors(validator, as_json(text))
    spec_error(write(tmp_path, "t.yaml", text))


def test_schema_and_archspec_both_accept_expressions_where_values_go(validator, tmp_path):
    text = HEADER + (
        "params: {f: 3, r: 1.0e-4}\n"
        "layers: [{conv2d: {filters: $f, kernel_size: 3, kernel_regularizer: {l2: $r}}}, "
        "flatten, {dropout: 0.5}, {dense: $f},\n"
        "         {dense: {units: 2, kernel_regularizer: {l2: 1e-4}}}]\n"
    )
    assert errors(validator, as_json(text)) == []
    archspec.load(write(tmp_path, "t.yaml", text)).graph()


class Files:
    """Documents written as JSON (YAML 1.2 reads JSON as it is) and checked by both sides."""

    def __init__(self, folder: Path, validator: Any) -> None:
        self.folder, self.validator = folder, validator

    def schema_accepts(self, doc: Any) -> bool:
        return not errors(self.validator, doc)

    def archspec_accepts(self, doc: Any, **others: Any) -> bool:
        for name, other in others.items():
            (self.folder / f"{name}.yaml").write_text(json.dumps(other), encoding="utf-8")
        path = self.folder / "main.yaml"
        path.write_text(json.dumps(doc), encoding="utf-8")
        try:
            archspec.load(path).graph()
        except SpecError:
            return False
        return True

    def agree(self, doc: Any, **others: Any) -> bool:
        """Both accept or both refuse ``doc``; returns the verdict."""
        verdict = self.schema_accepts(doc)
        assert verdict == self.archspec_accepts(doc, **others), (doc, verdict)
        return verdict


@pytest.fixture(scope="module")
def files(tmp_path_factory, validator) -> Files:
    return Files(tmp_path_factory.mktemp("agree"), validator)


def spec(**fields: Any) -> dict[str, Any]:
    doc = {"archspec": 1, "name": "t", "input": [8, 8, 3], "layers": ["flatten"]}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


SIZES = st.one_of(st.integers(-3, 4), st.none(), st.just(2.5), st.just("8"), st.just("$s"))


@SETTINGS
@given(shape=st.lists(SIZES, max_size=4), settings_form=st.booleans())
def test_input_sizes_are_positive(files, shape, settings_form):
    value = {"shape": shape} if settings_form else shape
    files.agree(spec(input=value, params={"s": 4}))
    files.agree(spec(input=..., inputs={"image": value}, params={"s": 4}))


NAME_TEXT = st.text(alphabet=string.ascii_letters[:6] + "_09 -./$", min_size=0, max_size=6)


@SETTINGS
@given(name=NAME_TEXT | st.sampled_from([*RESERVED_PARAM_NAMES, "x_1", "_y"]))
def test_parameter_names(files, name):
    accepted = files.agree(spec(params={name: 1}))
    assert accepted == (name.isidentifier() and name.isascii() and name not in RESERVED_PARAM_NAMES)


@SETTINGS
@given(name=NAME_TEXT | st.sampled_from([*REGISTRY.names(), "stages", "my_block"]))
def test_block_names(files, name):
    blocks = {name: {"layers": ["relu"]}}
    accepted = files.agree(spec(blocks=blocks))
    assert accepted == (
        name.isidentifier() and name.isascii() and name not in REGISTRY and name != "stages"
    )


@SETTINGS
@given(names=st.lists(NAME_TEXT | st.sampled_from([*RESERVED_PARAM_NAMES, "prev"]), max_size=3))
def test_block_input_names(files, names):
    """(A block is called: archspec checks the blocks a spec calls, the schema every block.)"""
    block = {"inputs": names, "graph": {"out": [{"concatenate": ["input", "input", *names]}]}}
    files.agree(spec(blocks={"cell": block}, layers=[{"cell": {n: "^1" for n in names}}]))


@SETTINGS
@given(name=NAME_TEXT | st.sampled_from(["input", "main", "out"]))
def test_branch_names(files, name):
    files.agree(spec(layers=..., graph={name: ["relu"]}))


@SETTINGS
@given(
    name=st.text(alphabet="ab1_.-$ /", max_size=12)
    | st.sampled_from(["m" * 200, "m" * 201, "m" * 199 + "${n}", "m_${n}", "m_${n}_${n}", "a$$b"])
)
def test_model_names(files, name):
    """(What an expression gives is the expander's to check: the samples give good text.)"""
    files.agree(spec(name=name, params={"n": 2}))


@SETTINGS
@given(
    name=st.text(alphabet="ab/\t\x7f\x85 ", max_size=6)
    | st.sampled_from(["a/b", "${'a' + 'b'}", "c${n // 2}", "c$${n}", ""])
)
def test_layer_names(files, name):
    """A layer in a block called `blk`, where `name: ""` takes the block's own name."""
    blocks = {"blk": {"params": {"n": 4}, "layers": [{"dense": 2, "name": name}]}}
    files.agree(spec(blocks=blocks, layers=[{"blk": {"name": "blk"}}]))


@SETTINGS
@given(
    value=st.integers(-2, 3)
    | st.sampled_from([2.5, -0.5, "3", True, None, [2]])
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
)
def test_integer_only_fields(files, value):
    """A number with a fraction is refused where archspec takes whole numbers only.
    (JSON does not tell `2.0` from `2`, so a whole float is left to archspec.)"""
    files.agree(spec(layers=[{"dense": 2, "repeat": value}]))
    files.agree(spec(layers=[{"dense": value}]))
    block = {"b": {"layers": ["relu"]}}
    files.agree(spec(blocks=block, layers=[{"stages": {"block": "b", "repeats": [value]}}]))


PRESENCE = [..., None, "given"]


@pytest.mark.parametrize(
    ("layers", "graph", "input_", "inputs"), itertools.product(PRESENCE, repeat=4)
)
def test_exactly_one_body_and_one_input_in_a_spec(files, layers, graph, input_, inputs):
    doc = spec(
        layers=["relu"] if layers == "given" else layers,
        graph={"a": ["relu"]} if graph == "given" else graph,
        input=[4] if input_ == "given" else input_,
        inputs={"x": [4]} if inputs == "given" else inputs,
    )
    accepted = files.agree(doc)
    assert accepted == ([layers, graph].count("given") == 1 == [input_, inputs].count("given"))


@pytest.mark.parametrize(("layers", "graph"), itertools.product(PRESENCE, repeat=2))
def test_exactly_one_body_in_a_block(files, layers, graph):
    block = {"layers": ["relu"] if layers == "given" else layers}
    block["graph"] = {"a": ["relu"]} if graph == "given" else graph
    block = {k: v for k, v in block.items() if v is not ...}
    accepted = files.agree(spec(blocks={"b": block}))
    assert accepted == ([layers, graph].count("given") == 1)


@pytest.mark.parametrize(
    ("variant", "accepted"),
    [
        ({"extends": "base.yaml"}, True),
        ({"extends": "base.yaml", "params": {"n": 3}}, True),
        ({"extends": "base.yaml", "name": "v"}, True),
        ({"extends": "base.yaml", "layers": None, "graph": {"a": ["relu"]}}, True),
        ({"extends": "base.yaml", "graph": {"a": ["relu"]}, "layers": ["relu"]}, False),
        ({"params": {"n": 3}}, False),  # no `extends`: a spec, which needs its name
        ({"extends": ""}, False),
    ],
)
def test_name_is_optional_in_a_variant(files, variant, accepted):
    base = spec(params={"n": 2})
    assert files.agree({"archspec": 1, **variant}, base=base) == accepted


@pytest.mark.parametrize(
    ("version", "accepted"),
    [(1, True), (2, False), (0, False), ("1", False), (True, False), (None, False), ([1], False)],
)
def test_the_version_key(files, version, accepted):
    assert files.agree(spec(archspec=version)) == accepted
    assert files.agree(spec(archspec=...)) is False


def test_a_block_library_validates_on_its_own(files, validator):
    library = {"archspec": 1, "description": "d", "blocks": {"head": {"layers": ["relu"]}}}
    assert errors(validator, library) == []
    assert files.agree(spec(imports=["lib.yaml"], layers=["head"]), lib=library)
    for broken, path in [
        ({**library, "blocks": {"head": {"layrs": ["relu"]}}}, ["blocks", "head"]),
        ({**library, "blocks": {"head": {}}}, ["blocks", "head"]),
        ({**library, "archspec": 2}, ["archspec"]),
    ]:
        found = errors(validator, broken)
        assert [list(e.absolute_path) for e in found] == [path], [e.message for e in found]
        assert not files.archspec_accepts(spec(imports=["lib.yaml"], layers=["relu"]), lib=broken)


def test_a_library_with_a_spec_key_is_read_as_a_spec(validator):
    """`layers` beside `blocks` makes a spec, which then needs its name and input."""
    doc = {"archspec": 1, "blocks": {}, "layers": ["relu"]}
    found = sorted(e.message for e in errors(validator, doc))
    assert found == ["'input' is a required property", "'name' is a required property"]


# --------------------------------------------------------------------------- samples


#: values tried for an attribute, after its default, until its model takes one
CANDIDATES: list[Any] = [
    1, 2, 3, 0.5, True, False, "same", "relu", "zeros", "l2", "max", "non_neg", "nearest",
    [1, 1], [2, 2], [1, 1, 1], [[1, 1], [1, 1]], [[1, 1], [1, 1], [1, 1]], -1, [1], [-1],
    [4, -1], ["a", "b"], "a", 0, [None, 1], [0.5, 0.5], {"l2": 0.001},
    {"class": "he_normal", "seed": 1}, {"class": "max_norm", "max_value": 2.0},
    {"dense": 4}, {"lstm": 4}, {"lstm": {"units": 4, "go_backwards": True}}, None,
]  # fmt: skip


def _problems(model: Any, data: dict[str, Any]) -> int:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return len(exc.errors())
    return 0


def _candidates(field: Any) -> list[Any]:
    default = field.default
    return ([default] if isinstance(default, int | float | str | list) else []) + CANDIDATES


def sample_attributes(op: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Attribute values the op's model accepts: the fewest it needs, and for every other
    attribute a value (with a partner where the model wants two together)."""
    model, fields = op.attrs, op.attrs.model_fields
    chosen: dict[str, Any] = {}
    for name in [n for n, f in fields.items() if f.is_required()]:
        chosen[name] = min(
            _candidates(fields[name]), key=lambda v: _problems(model, {**chosen, name: v})
        )
    for name in fields:  # optional attributes a model validator asks for (`ops.add`'s `y`)
        if _problems(model, chosen) and name not in chosen:
            best = min(
                _candidates(fields[name]), key=lambda v: _problems(model, {**chosen, name: v})
            )
            if _problems(model, {**chosen, name: best}) < _problems(model, chosen):
                chosen[name] = best
    assert not _problems(model, chosen), (op.name, chosen)
    optional: dict[str, dict[str, Any]] = {}
    for name in [n for n in fields if n not in chosen]:
        for value in _candidates(fields[name]):
            if not _problems(model, {**chosen, name: value}):
                optional[name] = {name: value}
                break
    for a, b in itertools.permutations([n for n in fields if n not in chosen], 2):
        if a in optional:
            continue
        for va, vb in itertools.product(_candidates(fields[a]), _candidates(fields[b])):
            if not _problems(model, {**chosen, a: va, b: vb}):
                optional[a] = {a: va, b: vb}
                break
    return chosen, optional


def test_every_attribute_of_every_op_has_a_sample():
    for op in REGISTRY.ops():
        required, optional = sample_attributes(op)
        assert set(required) | set(optional) == set(op.attrs.model_fields), op.name
