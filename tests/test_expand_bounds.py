"""Expansion is bounded: recursion, work that adds no layers, long graphs, names, `--set`.

Each class is tried with generated specs, not only the corpus cases: whatever the
nesting of repeats, stages and block calls, expansion answers within about a second
with a graph or one SpecError.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archspec
from archspec.analysis.stats import analyse
from archspec.errors import SpecError
from archspec.expand.expander import (
    MAX_BLOCK_DEPTH,
    MAX_NAME_CHARS,
    WORK_PER_NODE,
    Expander,
    resolve_top_params,
)
from archspec.loader.document import load_spec

FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _load(tmp_path, text: str, **kwargs):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return archspec.load(path, **kwargs)


def _error(tmp_path, text: str, **kwargs) -> str:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, text, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------------- recursion


@pytest.mark.parametrize("length", [1, 2, 5])
def test_a_cycle_of_blocks_with_the_same_arguments_is_named(tmp_path, length):
    names = [f"b{i}" for i in range(length)]
    blocks = "".join(
        f"  {name}:\n    layers:\n      - dense: 4\n      - {names[(i + 1) % length]}\n"
        for i, name in enumerate(names)
    )
    text = f"archspec: 1\nname: m\ninput: [4]\nblocks:\n{blocks}layers: [b0]\n"
    message = _error(tmp_path, text)
    cycle = " -> ".join([*names, "b0"])
    assert f"block `b0` calls itself with the same arguments and input shape ({cycle})" in message


def test_recursion_without_an_end_stops_at_the_nesting_limit(tmp_path):
    # the argument changes at every level, so no call repeats another exactly
    text = """archspec: 1
name: m
input: [4]
blocks:
  grow:
    params: {n: int}
    layers:
      - activation: relu
        name: a
      - grow: {n: $n + 1}
        name: g
layers:
  - grow: {n: 0}
    name: g
"""
    message = _error(tmp_path, text)
    assert f"block calls nest more than {MAX_BLOCK_DEPTH} deep (grow -> grow)" in message
    assert " ... " in message  # the path of 64 nested calls is shortened
    assert len(message) < 700


@given(depth=st.integers(1, MAX_BLOCK_DEPTH))
@FAST
def test_recursion_ended_by_an_if_expands(tmp_path, depth):
    text = f"""archspec: 1
name: m
input: [4]
blocks:
  tower:
    params: {{depth: int}}
    layers:
      - dense: 4
        name: d
      - tower: {{depth: $depth - 1}}
        name: t
        if: $depth > 1
layers:
  - tower: {{depth: {depth}}}
    name: t
"""
    graph = _load(tmp_path, text).graph()
    assert len(graph) == depth + 1
    assert list(graph.nodes)[-1] == "_".join(["t"] * depth) + "_d"


# --------------------------------------------------------------------------- work


def _nested_spec(levels: list[tuple[str, int, bool]]) -> str:
    """Blocks b0 -> b1 -> ... each calling the next by `repeat` or `stages`, layers optional."""
    blocks = []
    for i, (how, count, layer) in enumerate(levels):
        body = [f"      - dense: 2\n        if: {str(layer).lower()}\n"]
        if i + 1 < len(levels):
            if how == "repeat":
                body.append(f"      - b{i + 1}:\n        repeat: {count}\n")
            else:
                body.append(f"      - stages: {{block: b{i + 1}, repeats: [{count}, {count}]}}\n")
        else:
            body.append("      - dense: 2\n        if: false\n")
        blocks.append(f"  b{i}:\n    layers:\n" + "".join(body))
    return (
        "archspec: 1\nname: m\ninput: [2]\nblocks:\n"
        + "".join(blocks)
        + "layers:\n  - b0:\n    repeat: 2\n  - dense: 1\n"
    )


LEVELS = st.lists(
    st.tuples(
        st.sampled_from(["repeat", "stages"]),
        st.integers(1, 10**6) | st.sampled_from([1, 2, 99_999, 100_000]),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


@given(levels=LEVELS)
@FAST
def test_nested_repeats_of_few_layers_stay_within_the_work_limit(tmp_path, levels):
    path = tmp_path / "spec.yaml"
    path.write_text(_nested_spec(levels))
    spec, raw = load_spec(path)
    expander = Expander(spec, node_limit=20_000, raw=raw)
    start = time.perf_counter()
    try:
        graph = expander.run(resolve_top_params(spec, {}))
    except SpecError as exc:
        message = str(exc)
        assert "limit" in message or "steps" in message, message
    else:
        assert len(graph) <= 20_000
    # refused before the work is done, not after: well under the limit of 80,000 steps
    # when the projection multiplies the copies of every enclosing repeat
    assert expander.work <= expander.work_limit
    assert time.perf_counter() - start < 10  # a guard against hangs, not a benchmark


def test_the_work_limit_follows_the_node_limit(tmp_path):
    text = _nested_spec([("repeat", 3_000, False), ("repeat", 1, False)])
    message = _error(tmp_path, text, node_limit=1_000)
    assert f"more than {WORK_PER_NODE * 1_000:,} steps" in message
    # nothing but the input and the last layer is switched on
    assert len(_load(tmp_path, text, node_limit=10_000).graph()) == 2


# --------------------------------------------------------------------------- long graphs


def test_a_long_chain_of_branches_expands_without_recursion(tmp_path):
    branches = ["  b0: [{dense: 2}]\n"] + [
        f"  b{i}:\n    from: b{i - 1}\n    layers: [{{dense: 2}}]\n" for i in range(1, 3_000)
    ]
    text = (
        "archspec: 1\nname: m\ninput: [2]\ngraph:\n"
        + "".join(reversed(branches))
        + "outputs: [b2999]\n"
    )
    # declared in reverse, so ordering them follows 3,000 dependencies in one chain
    graph = _load(tmp_path, text).graph()
    assert len(graph) == 3_001
    assert analyse(graph).totals.params == 3_000 * 6


def test_a_hundred_thousand_layers_analyse(tmp_path):
    text = "archspec: 1\nname: m\ninput: [2]\nlayers:\n  - dense: 2\n    repeat: 99999\n"
    start = time.perf_counter()
    graph = _load(tmp_path, text).graph()
    assert analyse(graph).totals.params == 99_999 * 6
    assert time.perf_counter() - start < 60  # about 3 s here; a guard against hangs


# --------------------------------------------------------------------------- names


@given(name=st.text(min_size=1, max_size=300))
@FAST
def test_layer_names_are_usable_or_refused(tmp_path, name):
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    text = f'archspec: 1\nname: m\ninput: [2]\nlayers:\n  - dense: 2\n    name: "{quoted}"\n'
    try:
        graph = _load(tmp_path, text).graph()
    except SpecError as exc:
        assert "\n" not in str(exc) and "\x1b" not in str(exc)
        return
    (layer,) = [n for n in graph.nodes if n != "input_layer"]
    assert "/" not in layer and len(layer) <= MAX_NAME_CHARS
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in layer)


# --------------------------------------------------------------------------- --set


SET_SPEC = """archspec: 1
name: m
params: {{value: {default}}}
input: {shape}
blocks:
  inner:
    params: {{k: {ptype}, derived: $k * 1}}
    layers:
      - {op}: {{{attr}: {use}{extra}}}
  outer:
    params: {{w: {ptype}}}
    layers:
      - inner: {{k: $w}}
layers:
  - {call}
  - flatten
"""
TARGETS = {  # op, attribute, extra attributes, parameter type and default, input
    "conv2d": ("filters", ", kernel_size: 1", "int", 8, [4, 4, 2]),
    "dense": ("units", "", "int", 8, [8]),
    "dropout": ("rate", "", "float", 0.5, [4, 4, 2]),
}


@given(
    route=st.sampled_from(["direct", "block", "nested", "default", "stages"]),
    op=st.sampled_from(sorted(TARGETS)),
    value=st.sampled_from([0, -1, -100, 1.5, 2.5, "x", True, [1, 2]]),
)
@FAST
def test_an_out_of_range_set_value_is_reported_at_the_set(tmp_path, route, op, value):
    attr, extra, ptype, default, shape = TARGETS[op]
    call = {
        "direct": f"{op}: {{{attr}: $value{extra}}}",
        "block": "inner: {k: $value}",
        "default": "inner: {k: $value}",
        "nested": "outer: {w: $value}",
        "stages": "stages: {block: inner, repeats: [1, 2], args: {k: $value}}",
    }[route]
    use = "$derived" if route == "default" else "$k"
    text = SET_SPEC.format(
        default=default,
        shape=shape,
        ptype=ptype,
        op=op,
        attr=attr,
        use=use,
        extra=extra,
        call=call,
    )
    _load(tmp_path, text)  # the spec's own default is fine
    if op == "dropout" and value == 0:
        return  # a rate of 0 is in range
    # whatever is wrong with the value, the message points at the command line
    message = _error(tmp_path, text, value=value)
    assert ": --set value: " in message, message
    if isinstance(value, int | float) and not isinstance(value, bool):
        if ptype == "int" and isinstance(value, float):
            return  # refused by the parameter's own type, before any layer uses it
        assert f"used at {tmp_path / 'spec.yaml'}:" in message, message


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("  - dense: 4\n    repeat: $n\n", 0),
        ("  - stages: {block: b, repeats: [1, $n]}\n", -2),
        ("  - stages: {block: b, repeats: $counts}\n", [1, 0]),
    ],
)
def test_a_repeat_count_from_the_command_line_is_reported_at_the_set(tmp_path, body, value):
    head = (
        "archspec: 1\nname: m\nparams: {n: 2, counts: [1, 2]}\ninput: [4]\n"
        "blocks:\n  b:\n    layers: [{dense: 4}]\nlayers:\n"
    )
    name = "counts" if isinstance(value, list) else "n"
    _load(tmp_path, head + body)
    message = _error(tmp_path, head + body, **{name: value})
    assert f": --set {name}: `repeat" in message
    assert "must be at least 1" in message and "(used at " in message
