"""Independent clients agree with archspec: check-jsonschema, and yaml-language-server.

check-jsonschema reads YAML with its own reader (ruamel.yaml) and validates with the
schema file as a user would run it. One run reads every file at once: the bundled specs
and block libraries, generated specs that use every op and attribute and every form of
the language reference, misspelt specs, and the error corpus, where each file is either
refused by the schema (a fault JSON Schema can state) or left to archspec (shapes,
expressions, names that refer to other parts, files, the loader's bounds).

yaml-language-server, the engine of VS Code's and Neovim's YAML support, is checked the
same way when its executable is given (``ARCHSPEC_YAMLLS=/path/to/yaml-language-server``
or on PATH): no diagnostic on a good file, one on a file with one misspelling.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import archspec
from archspec.ops import REGISTRY
from archspec.spec.models import STEP_KEYS
from tests.conftest import ROOT, SPECS
from tests.test_schema import SCHEMA_FILE, _typo, sample_attributes

pytest.importorskip("check_jsonschema")

CORPUS = ROOT / "tests" / "bad_specs"
BUNDLED = sorted(SPECS.rglob("*.yaml"))

#: faults the schema states: each file is refused
REFUSED = {
    "alias_bomb.yaml",  # its keys are not a spec's (the bomb itself is the loader's)
    "attribute_wrong_type.yaml",
    "bad_input_shape.yaml",
    "block_hides_op.yaml",
    "call_argument_not_a_name.yaml",
    "else_without_if.yaml",
    "empty.yaml",
    "format_version_text.yaml",
    "format_version_true.yaml",
    "input_and_inputs.yaml",
    "kernel_size_zero.yaml",
    "layer_name_with_escape.yaml",
    "layer_name_with_slash.yaml",
    "missing_attribute.yaml",
    "missing_format_version.yaml",
    "missing_name.yaml",
    "model_name_too_long.yaml",
    "negative_filters.yaml",
    "no_body.yaml",
    "not_a_mapping_list.yaml",
    "not_a_mapping_scalar.yaml",
    "only_comments.yaml",
    "op_dropout_seed_out_of_range.yaml",
    "op_glu_activation.yaml",
    "op_identity_initializer_on_kernel.yaml",
    "op_relu_negative_threshold.yaml",
    "op_subtract_three_inputs.yaml",
    "op_threshold_activation.yaml",
    "repeat_negative.yaml",
    "repeat_zero.yaml",
    "stages_without_mapping.yaml",
    "unknown_activation.yaml",
    "unknown_attribute.yaml",
    "unknown_padding.yaml",
    "unknown_top_level_field.yaml",
    "unsupported_format_version.yaml",
    "yaml12_no_is_text.yaml",  # `no` is text in YAML 1.2: the schema and archspec agree
    "empty_inputs.yaml",  # `inputs: {}`: minProperties
    "param_required_yes.yaml",  # `required: yes` is text, not a boolean
}
#: text that ruamel.yaml refuses too: bad YAML, duplicate keys, tags it does not know
UNREADABLE = {
    "duplicate_attribute.yaml",
    "duplicate_top_level_key.yaml",
    "non_utf8.yaml",
    "python_name_tag.yaml",
    "python_object_tag.yaml",
    "yaml_bad_indentation.yaml",
    "yaml_control_character.yaml",
    "yaml_include_tag.yaml",
    "yaml_tab_indentation.yaml",
    "yaml_unclosed_bracket.yaml",
    "yaml_unquoted_index_in_flow.yaml",
}
#: faults only archspec sees; the schema takes each file
ARCHSPEC_ONLY = {
    # shapes and sizes, known once the spec is expanded
    "add_shape_mismatch.yaml", "concat_shape_mismatch.yaml", "spatial_size_below_one.yaml",
    "op_cropping_leaves_nothing.yaml", "op_dense_too_large.yaml", "op_kernel_too_large.yaml",
    "op_group_norm_groups_not_dividing_channels.yaml", "op_groups_not_dividing_channels.yaml",
    "op_prelu_shared_axis_out_of_range.yaml", "op_reshape_size_mismatch.yaml",
    "op_spatial_dropout2d_on_sequence.yaml", "op_unknown_channels.yaml",
    "op_unknown_size_before_dense.yaml", "op_zero_padding_too_large.yaml",
    # attributes that must agree with each other (the models' own validators)
    "op_empty_regularizer.yaml", "op_groups_not_dividing_filters.yaml",
    "op_strides_with_dilation.yaml", "op_unequal_depthwise_strides.yaml",
    # names that refer to other parts of the spec, or to files
    "block_argument_wrong_type.yaml", "block_calls_itself.yaml", "block_cycle.yaml",
    "block_in_two_imports.yaml", "branch_cycle.yaml", "branch_named_like_input.yaml",
    "branch_starts_from_unknown_node.yaml", "dangling_branch.yaml", "duplicate_layer_name.yaml",
    "missing_block_parameter.yaml", "unknown_block.yaml", "unknown_block_parameter.yaml",
    "unknown_node_reference.yaml", "unknown_op.yaml", "undefined_name.yaml",
    "stage_list_wrong_length.yaml", "extends_cycle.yaml", "extends_cycle_other.yaml",
    "extends_not_a_spec.yaml", "extends_outside_spec_folder.yaml", "import_absolute_path.yaml",
    "import_directory.yaml", "import_not_a_spec.yaml", "import_outside_spec_folder.yaml",
    "missing_base_file.yaml", "missing_import.yaml",
    # what expressions give, and the limits of expansion
    "division_by_zero.yaml", "expression_attribute_access.yaml",
    "expression_forbidden_call.yaml", "expression_invert_operator.yaml",
    "expression_nested_list_too_large.yaml", "expression_percent_on_text.yaml",
    "expression_round_digits.yaml", "expression_sum_of_lists.yaml",
    "expression_type_error.yaml", "expression_zero_to_negative_power.yaml",
    "if_not_boolean.yaml", "nested_repeats_switched_off.yaml", "repeat_too_large.yaml",
    "stages_exceed_node_limit.yaml", "stages_of_empty_block.yaml",
    # values given with --set
    "set_value_out_of_range.yaml", "set_wrong_type.yaml", "unknown_set_parameter.yaml",
    # the loader's bounds and rules, below what a JSON document can tell: `1.0` is `1`
    # in JSON, integers have no width, and a YAML reader resolves tags and nesting
    "format_version_decimal.yaml", "integer_literal_too_wide.yaml",
    "integer_seed_too_wide.yaml", "nesting_too_deep.yaml", "nesting_too_deep_through_alias.yaml",
    "yaml_binary_tag.yaml",
}  # fmt: skip
#: not given to check-jsonschema: it recurses without end on a list that contains itself
NOT_RUN = {"alias_inside_itself.yaml"}


def test_every_corpus_file_is_classified_once():
    files = {p.name for p in CORPUS.glob("*.yaml") if not p.name.startswith("expected")}
    groups = [REFUSED, UNREADABLE, ARCHSPEC_ONLY, NOT_RUN]
    assert sum(len(g) for g in groups) == len(set().union(*groups))
    assert set().union(*groups) == files


# --------------------------------------------------------------------------- generated files


def _dump(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def _spec(name: str, steps: list[Any]) -> dict[str, Any]:
    return {"archspec": 1, "name": name, "input": [8, 8, 3], "params": {"p": 1}, "layers": steps}


def _as_expressions(value: Any) -> Any:
    """Every value an expression: lists item by item, mappings (but `class`) key by key."""
    if isinstance(value, list):
        return [_as_expressions(v) for v in value] or "$p"
    if isinstance(value, dict):
        return {k: v if k == "class" else _as_expressions(v) for k, v in value.items()}
    return "$p"


def generated_specs(folder: Path) -> list[Path]:
    """Specs that use every op under every name, every attribute, each op's shorthand and
    bare forms, expressions in every place, and every form of the language reference."""
    mappings, shorthands, expressions = [], [], []
    for op in REGISTRY.ops():
        required, optional = sample_attributes(op)
        groups = [{}] + list(optional.values())
        for name in (op.name, *op.aliases):
            mappings.extend({name: {**required, **group}} for group in groups)
            expressions.extend([{name: _as_expressions({**required, **group})} for group in groups])
            if op.shorthand is not None and op.shorthand in required:
                shorthands.append({name: required[op.shorthand]})
                shorthands.append({name: "$p", "name": "short", "repeat": 2})
            if not required:
                shorthands.extend([name, {name: None}, {name: {"if": "$p > 0", "name": "x"}}])
        for group in groups:
            op.attrs.model_validate({**required, **group})  # the model takes every sample
    paths = [
        _dump(folder / "ops_mappings.yaml", _spec("ops_mappings", mappings)),
        _dump(folder / "ops_shorthands.yaml", _spec("ops_shorthands", shorthands)),
        _dump(folder / "ops_expressions.yaml", _spec("ops_expressions", expressions)),
    ]
    for name in ("forms.yaml", "forms_lib.yaml", "forms_variant.yaml"):
        (folder / name).write_text(FORMS[name], encoding="utf-8")
        paths.append(folder / name)
    return paths


def misspelt_specs(folder: Path, count: int = 24) -> dict[Path, tuple[str, str]]:
    """Specs of one step with one misspelt attribute: path -> (step key, the typo)."""
    pick = random.Random(1)
    ops = REGISTRY.ops()
    out: dict[Path, tuple[str, str]] = {}
    while len(out) < count:
        op = pick.choice(ops)
        required, optional = sample_attributes(op)
        attrs = {**required, **pick.choice([{}, *optional.values()])}
        if not attrs:
            continue
        wrong = pick.choice(sorted(attrs))
        typo = _typo(wrong, pick.randrange(10**6))
        if typo in op.attrs.model_fields or typo in STEP_KEYS or not typo:
            continue
        step = {op.name: {(typo if k == wrong else k): v for k, v in attrs.items()}}
        path = _dump(folder / f"typo_{len(out):02d}.yaml", _spec("typo", [step]))
        out[path] = (op.name, typo)
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clients")


@pytest.fixture(scope="module")
def generated(folder) -> list[Path]:
    return generated_specs(folder)


@pytest.fixture(scope="module")
def misspelt(folder) -> dict[Path, tuple[str, str]]:
    return misspelt_specs(folder)


@pytest.fixture(scope="module")
def verdicts(generated, misspelt) -> dict[str, dict[str, Any]]:
    """check-jsonschema's verdict on every file, from one run: name -> errors, unreadable."""
    corpus = [CORPUS / n for n in sorted(REFUSED | UNREADABLE | ARCHSPEC_ONLY)]
    files = [*BUNDLED, *generated, *misspelt, *corpus]
    command = [sys.executable, "-m", "check_jsonschema", "-o", "json"]
    result = subprocess.run(
        [*command, "--schemafile", str(SCHEMA_FILE), *map(str, files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    out: dict[str, dict[str, Any]] = {str(f): {"errors": [], "unreadable": False} for f in files}
    for error in report.get("errors", []):
        out[error["filename"]]["errors"].append(error)
    for error in report.get("parse_errors", []):
        out[error["filename"]]["unreadable"] = True
    return out


def test_bundled_specs_and_libraries_pass(verdicts):
    for path in BUNDLED:
        verdict = verdicts[str(path)]
        assert verdict == {"errors": [], "unreadable": False}, (path, verdict)


def test_generated_specs_pass(verdicts, generated):
    for path in generated:
        verdict = verdicts[str(path)]
        assert verdict == {"errors": [], "unreadable": False}, (path.name, verdict["errors"][:3])


def test_archspec_builds_the_graph_of_every_form(generated):
    folder = generated[0].parent
    forms = archspec.load(folder / "forms.yaml", classes=10).graph()
    variant = archspec.load(folder / "forms_variant.yaml").graph()
    assert (forms.name, variant.name) == ("forms_8", "forms_16")
    assert forms.outputs and variant.outputs


def test_one_misspelling_is_one_error_at_the_step(verdicts, misspelt):
    for path, (op, typo) in misspelt.items():
        errors = verdicts[str(path)]["errors"]
        assert len(errors) == 1, (path.name, errors)
        (error,) = errors
        key = f".{op}" if op.isidentifier() else f"['{op}']"
        assert error["path"] == f"$.layers[0]{key}", error
        assert repr(typo) in error["message"] and not error["has_sub_errors"], error


def test_the_corpus_faults_the_schema_states_are_refused(verdicts):
    for name in sorted(REFUSED):
        verdict = verdicts[str(CORPUS / name)]
        assert verdict["errors"] and not verdict["unreadable"], name


def test_the_corpus_faults_only_archspec_sees_are_left_to_it(verdicts):
    for name in sorted(ARCHSPEC_ONLY):
        verdict = verdicts[str(CORPUS / name)]
        assert verdict == {"errors": [], "unreadable": False}, (name, verdict)


def test_the_corpus_yaml_faults_are_unreadable(verdicts):
    for name in sorted(UNREADABLE):
        assert verdicts[str(CORPUS / name)]["unreadable"], name


# --------------------------------------------------------------------------- yaml-language-server


def _language_server() -> str | None:
    return os.environ.get("ARCHSPEC_YAMLLS") or shutil.which("yaml-language-server")


@pytest.mark.skipif(_language_server() is None, reason="yaml-language-server is not installed")
def test_yaml_language_server_agrees(generated, misspelt):
    good = [*BUNDLED, *[p for p in generated if p.name.startswith("forms")]]
    refused = [CORPUS / n for n in ("unknown_attribute.yaml", "bad_input_shape.yaml")]
    found = diagnostics(str(_language_server()), SCHEMA_FILE, [*good, *misspelt, *refused])
    for path in good:
        assert found[path] == [], (path, found[path][:3])
    for path, (_, typo) in misspelt.items():
        assert [typo in d["message"] for d in found[path]] == [True], found[path]
    for path in refused:
        assert len(found[path]) == 1, found[path]


def diagnostics(server: str, schema: Path, files: list[Path]) -> dict[Path, list[dict]]:
    """What yaml-language-server reports for each file, with ``schema`` mapped to them all."""
    process = subprocess.Popen(
        [server, "--stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    uris = {f.resolve().as_uri(): f for f in files}
    found: dict[Path, list[dict]] = {}
    done = threading.Event()
    settings = {
        "yaml": {
            "validate": True,
            "schemaStore": {"enable": False},
            "schemas": {schema.resolve().as_uri(): [str(f.resolve()) for f in files]},
        }
    }

    def send(message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        process.stdin.flush()

    def read() -> None:
        while True:
            length = 0
            while (line := process.stdout.readline().strip()) != b"":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not length:
                return
            message = json.loads(process.stdout.read(length))
            if message.get("method") == "workspace/configuration":
                items = message["params"]["items"]
                send({"id": message["id"], "result": [settings["yaml"] for _ in items]})
            elif "id" in message and "method" in message:
                send({"id": message["id"], "result": None})
            elif message.get("method") == "textDocument/publishDiagnostics":
                uri = message["params"]["uri"]
                if uri in uris:
                    found[uris[uri]] = message["params"]["diagnostics"]
                    if len(found) == len(files):
                        done.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        send({"id": 0, "method": "initialize", "params": {"processId": None, "rootUri": None,
              "capabilities": {"workspace": {"configuration": True}}}})  # fmt: skip
        send({"method": "initialized", "params": {}})
        send({"method": "workspace/didChangeConfiguration", "params": {"settings": settings}})
        for uri, path in uris.items():
            document = {"uri": uri, "languageId": "yaml", "version": 1, "text": path.read_text()}
            send({"method": "textDocument/didOpen", "params": {"textDocument": document}})
        assert done.wait(120), f"no diagnostics for {len(files) - len(found)} files"
    finally:
        process.kill()
        process.wait()
    return found


# --------------------------------------------------------------------------- the forms

FORMS = {
    "forms.yaml": """\
archspec: 1
name: forms_${width}
description: Every form of the language reference in one spec.
imports: [forms_lib.yaml]
auto_names: scoped
dtype_policy: float32
params:
  width: 8
  depths: {type: "int[2]", default: [1, 2], doc: Blocks per stage.}
  use_bias: {type: bool, default: false}
  act: {default: relu, choices: [relu, gelu]}
  pooling: {type: str, default: null, choices: [null, avg, max]}
  wide: $2 * width
  rate: 1e-4
  classes: int
  flag: {type: bool, required: false, default: true}
inputs:
  image: [16, 16, 3]
  tokens: {shape: [4], dtype: int32}
blocks:
  conv_bn:
    doc: Convolution, batch normalisation and an optional ReLU.
    params: {filters: int, kernel: 1, stride: 1, relu: true}
    layers:
      - conv2d:
          filters: $filters
          kernel_size: $kernel
          strides: $stride
          padding: same
          use_bias: false
        name: conv
      - batch_normalization: {epsilon: 1.001e-5, gamma_initializer: ones}
        name: bn
      - activation: relu
        name: relu
        if: $relu
  residual:
    params: {filters: int, project: false}
    graph:
      shortcut:
        if: $project
        then: [conv_bn: {filters: $filters, relu: false, name: proj}]
      main:
        - conv_bn: {filters: $filters, kernel: 3}
          repeat: 2
          name: conv${index}
      out:
        - add: [shortcut, main]
        - relu
  cell:
    params: {filters: int}
    inputs: [prev]
    output: out
    graph:
      left: [{conv2d: {filters: $filters, kernel_size: 1}}]
      right: {from: prev, layers: [{conv2d: {filters: $filters, kernel_size: 1}}]}
      out: [{add: [left, right]}]
  transition:
    params: {filters: 8}
    layers:
      - conv2d:
          filters: $filters
          kernel_size: 1
          kernel_initializer:
            {class: variance_scaling, scale: 2.0, mode: fan_out, distribution: truncated_normal}
          kernel_regularizer: {l1: 1.0e-5, l2: 1.0e-4}
          bias_regularizer: l2
          kernel_constraint: {class: max_norm, max_value: 3, axis: [0, 1, 2]}
          bias_initializer: {class: constant, value: 0.1}
          bias_constraint: non_neg
        name: ""
graph:
  stem:
    from: image
    layers:
      - zero_padding2d: {padding: 1, name: pad}
      - conv_bn: {filters: $width, kernel: 3, name: stem}
        sequential: stem_model
      - stages:
          block: residual
          repeats: $depths
          name: stage${stage}
          block_name: unit${index}
          args: {filters: [8, 16]}
          first: {project: true}
          trainable: [true, false]
          dtype: float32
          between:
            - transition: {filters: 16}
      - cell: {filters: 16, prev: "^1"}
      - max_pooling2d: 2
      - global_average_pooling2d
  text:
    from: tokens
    layers:
      - embedding: {input_dim: 10, output_dim: 4}
      - flatten
      - dense: {units: 4, activation: $act, use_bias: $use_bias}
      - head2: 4
  head:
    from: stem
    layers:
      - dropout: 0.5
      - dense: {units: $classes, kernel_regularizer: {l2: $rate}, kernel_initializer: he_normal}
        dtype: float32
        trainable: true
      - ops.add: 3.0
      - relu: {max_value: 6.0}
      - ops.multiply: 0.16666666666666666
  aux:
    from: stem
    if: $pooling == "avg"
    then: [{dense: 2}]
    else: [{dense: {units: 3, name: aux_dense}}]
  merged: [{concatenate: [head, text]}]
outputs: [merged, {from: aux, if: $flag}]
""",
    "forms_lib.yaml": """\
archspec: 1
description: A block library.
blocks:
  head2:
    params: {units: int}
    layers: [{dense: {units: $units, kernel_initializer: {class: random_normal, stddev: 0.01}}}]
""",
    "forms_variant.yaml": "archspec: 1\nextends: forms.yaml\nparams: {width: 16, classes: 3}\n",
}
