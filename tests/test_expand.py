"""Expansion: blocks, repeats, stages, branches, conditions, naming and parameters."""

from __future__ import annotations

import textwrap

import archspec
from tests.helpers import names, spec_error, write

HEAD = "archspec: 1\nname: t\ninput: [32, 32, 3]\n"


def test_default_names_follow_keras_style_dedup(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        layers:
          - conv2d: {filters: 4, kernel_size: 3}
          - conv2d: {filters: 4, kernel_size: 3}
          - flatten
          - dense: 10
    """,
    )
    assert names(p) == ["input_layer", "conv2d", "conv2d_1", "flatten", "dense"]


def test_block_scopes_and_name_templates(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          cbr:
            params: {filters: int}
            layers:
              - conv2d: {filters: $filters, kernel_size: 3, name: conv}
              - batch_norm: {name: bn}
              - activation: relu
        layers:
          - cbr: {filters: 8, name: stem}
          - cbr: 8
          - cbr: {filters: 8}
          - global_avg_pool
          - dense: {units: 3, name: "head${1 + 1}"}
    """,
    )
    assert names(p) == [
        "input_layer",
        "stem_conv", "stem_bn", "stem_activation",
        "cbr_conv", "cbr_bn", "cbr_activation",
        "cbr_1_conv", "cbr_1_bn", "cbr_1_activation",
        "global_average_pooling2d", "head2",
    ]  # fmt: skip


def test_repeat_binds_index(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        layers:
          - conv2d: {filters: $8 * index, kernel_size: 3, padding: same, name: "c${index}"}
            repeat: 3
    """,
    )
    graph = archspec.load(p).graph()
    assert list(graph.nodes) == ["input_layer", "c1", "c2", "c3"]
    assert [graph.nodes[f"c{i}"].attrs.filters for i in (1, 2, 3)] == [8, 16, 24]
    assert graph.nodes["c2"].inputs == ["c1"]


STAGES = HEAD + textwrap.dedent("""
    params: {depths: [2, 1]}
    blocks:
      unit:
        params: {filters: int, stride: 1, pair: "int[2]", first: false}
        layers:
          - conv2d: {filters: $filters, kernel_size: "$pair[0]", strides: $stride, padding: same}
            name: conv
          - dropout: {rate: $0.5 if first else 0.1, name: drop}
    layers:
      - stages:
          block: unit
          repeats: $depths
          name: s${stage}
          args: {filters: [8, 16], pair: [3, 3]}
          first: {stride: [1, 2], first: true}
""")


def test_stages_spread_per_stage_lists_and_apply_first_overrides(tmp_path):
    p = write(tmp_path, "s.yaml", STAGES)
    graph = archspec.load(p).graph()
    assert list(graph.nodes) == [
        "input_layer",
        "s1_block1_conv", "s1_block1_drop", "s1_block2_conv", "s1_block2_drop",
        "s2_block1_conv", "s2_block1_drop",
    ]  # fmt: skip
    conv = {n: graph.nodes[n].attrs for n in graph.nodes if n.endswith("conv")}
    assert [c.filters for c in conv.values()] == [8, 8, 16]
    assert [c.strides for c in conv.values()] == [1, 1, 2]
    # `pair` is an int[2]: [3, 3] is one value for every stage, not one per stage
    assert {c.kernel_size for c in conv.values()} == {3}
    drops = [graph.nodes[n].attrs.rate for n in graph.nodes if n.endswith("drop")]
    assert drops == [0.5, 0.1, 0.5]


def test_stage_list_of_the_wrong_length_is_an_error(tmp_path):
    p = write(tmp_path, "s.yaml", STAGES.replace("filters: [8, 16]", "filters: [8, 16, 32]"))
    err = spec_error(p)
    assert "`filters` needs int, or a list of 2 such values (one per stage)" in err.message
    assert p.read_text().splitlines()[err.loc.line - 1][err.loc.col - 1 :].startswith("[8, 16, 32]")


def test_overrides_change_repeats(tmp_path):
    p = write(tmp_path, "s.yaml", STAGES)
    assert len(names(p, depths=[1, 1, 1][:2])) == 5
    err = spec_error(p, depths="many")
    assert "expected int[], a list" in err.message


GRAPH = HEAD + textwrap.dedent("""
    params: {project: false}
    blocks:
      res:
        params: {filters: int, project: false}
        graph:
          shortcut:
            if: $project
            then: [{conv2d: {filters: $filters, kernel_size: 1, name: proj}}]
          main:
            - conv2d: {filters: $filters, kernel_size: 3, padding: same, name: c1}
          out:
            - add: [shortcut, main]
              name: add
            - activation: {activation: relu, name: out}
    layers:
      - conv2d: {filters: 4, kernel_size: 1, name: stem}
      - res: {filters: 4, project: $project, name: r}
""")


def test_conditional_branch_is_identity_when_off(tmp_path):
    p = write(tmp_path, "s.yaml", GRAPH)
    graph = archspec.load(p).graph()
    assert graph.nodes["r_add"].inputs == ["stem", "r_c1"]
    graph = archspec.load(p, project=True).graph()
    assert graph.nodes["r_add"].inputs == ["r_proj", "r_c1"]
    assert graph.nodes["r_proj"].inputs == ["stem"]


def test_branches_may_be_written_in_any_order(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          res:
            params: {}
            graph:
              main:
                from: shortcut
                layers: [{conv2d: {filters: 3, kernel_size: 3, padding: same, name: c1}}]
              shortcut: [{conv2d: {filters: 3, kernel_size: 1, name: proj}}]
              join: [{add: [shortcut, main], name: add}]
        layers: [{res: {name: r}}]
    """,
    )
    graph = archspec.load(p).graph()
    # `main` is declared first but reads `shortcut`, so it is expanded after it
    assert list(graph.nodes) == ["input_layer", "r_proj", "r_c1", "r_add"]
    assert graph.nodes["r_c1"].inputs == ["r_proj"]
    assert graph.nodes["r_add"].inputs == ["r_proj", "r_c1"]


def test_a_branch_that_leads_nowhere_is_an_error(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          res:
            params: {}
            graph:
              side: [flatten, {dense: {units: 2, name: lost}}]
              main: [flatten]
        layers: [res]
    """,
    )
    err = spec_error(p)
    assert err.message == "layer `res_flatten` does not lead to any output"
    assert err.loc.line == 8


def test_unquoted_index_in_flow_mapping_gets_a_hint(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        params: {sizes: [3, 5]}
        layers: [{conv2d: {filters: 1, kernel_size: $sizes[0]}}]
    """,
    )
    err = spec_error(p)
    assert err.message.startswith("invalid YAML")
    assert "quote expressions" in err.hint


def test_cycle_between_branches(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          loop:
            params: {}
            graph:
              a: [{add: [b, input]}]
              b: [{add: [a, input]}]
        layers: [loop]
    """,
    )
    err = spec_error(p)
    assert err.message.startswith("branches form a cycle: a -> b -> a")
    assert err.loc.line == 8


def test_unknown_node_reference(tmp_path):
    p = write(tmp_path, "s.yaml", GRAPH.replace("[shortcut, main]", "[shortcut, mian]"))
    err = spec_error(p)
    assert "refers to `mian`, which is not a node here" in err.message
    assert err.hint == "did you mean `main`?"


def test_duplicate_explicit_names(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        layers:
          - flatten
          - dense: {units: 3, name: head}
          - dense: {units: 3, name: head}
    """,
    )
    err = spec_error(p)
    assert "layer name `head` is already used" in err.message
    assert err.loc.line == 7


def test_several_outputs_and_conditional_outputs(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        params: {aux: false}
        graph:
          trunk: [{conv2d: {filters: 4, kernel_size: 3}}, flatten]
          side: {from: trunk, if: $aux, then: [{dense: {units: 2, name: aux_out}}]}
          main: {from: trunk, layers: [{dense: {units: 5, name: main_out}}]}
        outputs: [main, {from: side, if: $aux}]
    """,
    )
    assert archspec.load(p).graph().outputs == ["main_out"]
    assert archspec.load(p, aux=True).graph().outputs == ["main_out", "aux_out"]
    model = archspec.load(p, aux=True).build()
    assert [tuple(o.shape) for o in model.outputs] == [(None, 5), (None, 2)]


def test_several_inputs(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        """
        archspec: 1
        name: two
        inputs: {image: [8, 8, 3], mask: [8, 8, 3]}
        graph:
          both: [{multiply: [image, mask]}, flatten, {dense: 1}]
    """,
    )
    model = archspec.load(p).build()
    assert [i.name for i in model.inputs] == ["image", "mask"]


def test_block_parameter_errors(tmp_path):
    text = HEAD + textwrap.dedent("""
        blocks:
          b:
            params: {filters: int, k: 3}
            layers: [{conv2d: {filters: $filters, kernel_size: $k}}]
        layers:
          - b: {ARGS}
    """)
    err = spec_error(write(tmp_path, "a.yaml", text.replace("ARGS", "k: 1")))
    assert err.message == "block `b` needs a value for its parameter `filters` (int)"
    err = spec_error(write(tmp_path, "b.yaml", text.replace("ARGS", "filters: 2.5")))
    assert "parameter `filters` of block `b`: expected int, got 2.5" in err.message
    err = spec_error(write(tmp_path, "c.yaml", text.replace("ARGS", "filters: 2, kk: 1")))
    assert err.message == "block `b` has no parameter `kk`" and err.hint == "did you mean `k`?"
    err = spec_error(write(tmp_path, "d.yaml", text.replace("ARGS", "filters: 0")))
    assert "`conv2d` attribute `filters`: Input should be greater than 0, got 0" in err.message
    assert err.context.startswith("in block `b` called at") and err.context.endswith(":10:5")
    assert err.path == "layers[0].b.layers[0]"


def test_repeated_calls_validate_each_distinct_value_by_type(tmp_path):
    # `1` equals `true` and `1.0` in Python; a strict attribute accepts only one of them,
    # so calls that pass them in turn must not share one validated result
    text = HEAD + textwrap.dedent("""
        blocks:
          b:
            params: {bias: any, units: any}
            layers: [{dense: {units: $units, use_bias: $bias}}]
        layers:
          - flatten
          - b: {bias: true, units: 4}
          - b: {bias: true, units: 4}
          - b: {ARGS}
    """)
    graph = archspec.load(write(tmp_path, "ok.yaml", text.replace("ARGS", "bias: false, units: 4")))
    dense = [n for n in graph.graph().nodes.values() if n.op == "dense"]
    assert [n.attrs.use_bias for n in dense] == [True, True, False]
    err = spec_error(write(tmp_path, "a.yaml", text.replace("ARGS", "bias: 1, units: 4")))
    assert err.message.startswith("`dense` attribute `use_bias`: Input should be a valid boolean")
    assert err.path == "layers[3].b.layers[0]"
    err = spec_error(write(tmp_path, "b.yaml", text.replace("ARGS", "bias: true, units: 4.0")))
    assert err.message.startswith("`dense` attribute `units`: Input should be a valid integer")


def test_an_unhashable_value_is_still_validated(tmp_path):
    # a YAML set can only come from --set; it cannot key the validation cache
    p = write(tmp_path, "s.yaml", HEAD, "params: {u: any}\nlayers: [flatten, {dense: $u}]\n")
    err = spec_error(p, u={"a"})
    assert err.message == "`dense` attribute `units`: Input should be a valid integer, got {'a'}"


def test_repeat_must_be_positive_and_bounded(tmp_path):
    err = spec_error(write(tmp_path, "a.yaml", HEAD + "layers: [{dense: {units: 1, repeat: 0}}]\n"))
    assert err.message == "`repeat` must be at least 1, got 0"
    err = spec_error(
        write(tmp_path, "b.yaml", HEAD + "layers: [{dense: {units: 1, repeat: 10000000}}]\n")
    )
    assert "is more than the 400,000 expansion steps allowed" in err.message


def test_defaults_may_be_expressions_over_earlier_parameters(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          b:
            params: {width: int, expanded: $4 * width}
            layers: [{dense: {units: $expanded, name: d}}]
        layers: [flatten, {b: {width: 3}}]
    """,
    )
    assert archspec.load(p).graph().nodes["b_d"].attrs.units == 12


def test_unknown_op_hint(tmp_path):
    err = spec_error(write(tmp_path, "s.yaml", HEAD + "layers: [{conv2: {filters: 1}}]\n"))
    assert err.format().endswith("unknown op or block `conv2` (did you mean `conv2d`?)")


def test_blocks_may_not_hide_ops(tmp_path):
    err = spec_error(
        write(
            tmp_path,
            "s.yaml",
            HEAD + "blocks:\n  dense: {params: {}, layers: [flatten]}\nlayers: [dense]\n",
        )
    )
    assert "would hide the built-in `dense`" in err.message


def test_in_shape_is_the_input_of_each_step_and_block(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          halve:
            params: {keep: "$in_shape[-1] // 2"}
            layers: [{conv2d: {filters: $keep, kernel_size: 1, name: c}}]
          project_if_needed:
            params: {filters: int}
            graph:
              shortcut:
                if: $in_shape[-1] != filters
                then: [{conv2d: {filters: $filters, kernel_size: 1, name: proj}}]
              main: [{conv2d: {filters: $filters, kernel_size: 3, padding: same, name: c}}]
              out: [{add: [main, shortcut], name: add}]
        layers:
          - conv2d: {filters: 16, kernel_size: 3, padding: same, name: stem}
          - halve: {name: h}
          - project_if_needed: {filters: 8, name: same_width}
          - project_if_needed: {filters: 4, name: narrower}
          - conv2d: {filters: "$in_shape[-1] * 3", kernel_size: 1, name: last}
    """,
    )
    graph = archspec.load(p).graph()
    assert graph.nodes["h_c"].shape == (32, 32, 8)
    assert "same_width_proj" not in graph.nodes  # 8 channels in, 8 wanted: identity
    assert graph.nodes["narrower_proj"].shape == (32, 32, 4)
    assert graph.nodes["last"].attrs.filters == 12


def test_static_shapes_and_shape_errors(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        graph:
          a: [{conv2d: {filters: 4, kernel_size: 3, strides: 2, padding: same}}]
          b: [{conv2d: {filters: 4, kernel_size: 3}}]
          out: [{add: [a, b]}]
    """,
    )
    err = spec_error(p)
    assert err.message.startswith(
        "`add`: inputs have different shapes: (16, 16, 4), (30, 30, 4) "
        f"[`conv2d` (16, 16, 4) from {p}:5:7; `conv2d_1` (30, 30, 4) from {p}:6:7]"
    )
    assert err.loc.line == 7
    small = write(
        tmp_path,
        "small.yaml",
        HEAD,
        """
        layers: [{max_pool: 4}, {max_pool: 4}, {max_pool: 4}]
    """,
    )
    err = spec_error(small)
    assert err.path == "layers[2]"
    assert "a 4x4 window does not fit in a spatial size of 2" in err.message


def test_empty_local_name_takes_the_scope_name(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        blocks:
          module:
            params: {}
            graph:
              a: [{conv2d: {filters: 2, kernel_size: 1, name: a}}]
              b: [{conv2d: {filters: 2, kernel_size: 1, name: b}}]
              out: [{concatenate: [a, b], name: ""}]
        layers: [{module: {name: mixed0}}]
    """,
    )
    assert names(p) == ["input_layer", "mixed0_a", "mixed0_b", "mixed0"]


def test_regularizers(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        HEAD,
        """
        layers:
          - flatten
          - dense: {units: 2, kernel_regularizer: l2, name: named}
          - dense: {units: 2, kernel_regularizer: {l1: 0.5, l2: 0.25}, name: factors}
    """,
    )
    model = archspec.load(p).build()
    assert model.get_layer("named").get_config()["kernel_regularizer"]["config"] == {"l2": 0.01}
    config = model.get_layer("factors").get_config()["kernel_regularizer"]
    assert (config["class_name"], config["config"]) == ("L1L2", {"l1": 0.5, "l2": 0.25})
    bad = write(
        tmp_path, "bad.yaml", HEAD, "layers: [{dense: {units: 2, kernel_regularizer: l3}}]\n"
    )
    assert "`dense` attribute `kernel_regularizer`" in spec_error(bad).message
