"""Static analysis: MACs, scopes, depth, JSON, and no framework import."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import archspec
from archspec.analysis.report import rows
from archspec.analysis.stats import analyse
from archspec.cli import main
from tests.conftest import SPECS
from tests.helpers import spec_error, write
from tests.test_cli import run


def test_lenet_macs_by_hand():
    analysis = analyse(archspec.load(SPECS / "lenet5.yaml").graph())
    macs = {layer.name: layer.macs for layer in analysis.layers}
    assert macs["conv2d"] == 28 * 28 * (5 * 5 * 3) * 6
    assert macs["conv2d_1"] == 10 * 10 * (5 * 5 * 6) * 16
    assert macs["dense"] == 400 * 120
    assert macs["max_pooling2d"] == 0
    assert analysis.totals.macs == 352_800 + 240_000 + 48_000 + 10_080 + 840


@pytest.mark.parametrize(
    ("name", "macs"),
    [
        # published multiply-accumulate counts of these architectures
        ("vgg16", 15_470_264_320),
        ("googlenet", 1_582_671_872),
        ("inception_v3", 5_713_216_096),
    ],
)
def test_whole_model_macs(name, macs):
    assert analyse(archspec.load(SPECS / f"{name}.yaml").graph()).totals.macs == macs


def test_separable_and_depthwise_macs(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        """
        archspec: 1
        name: s
        input: [8, 8, 4]
        layers:
          - separable_conv2d: {filters: 6, kernel_size: 3, padding: same, name: sep}
          - depthwise_conv2d: {kernel_size: 3, depth_multiplier: 2, name: dw}
    """,
    )
    stats = {layer.name: layer for layer in analyse(archspec.load(p).graph()).layers}
    assert stats["sep"].macs == 8 * 8 * (3 * 3 * 4 + 4 * 6)
    assert stats["sep"].params == 3 * 3 * 4 + 4 * 6 + 6
    assert stats["dw"].macs == 6 * 6 * 3 * 3 * 6 * 2
    assert stats["dw"].output_shape == (6, 6, 12)


def test_scopes_sum_their_layers():
    analysis = analyse(archspec.load(SPECS / "resnet50.yaml").graph())
    stages = [s for s in analysis.scopes if s.depth == 1]
    assert [s.name for s in stages] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    conv4 = next(s for s in stages if s.name == "conv4")
    inside = [layer for layer in analysis.layers if layer.scopes[:1] == ("conv4",)]
    assert conv4.params == sum(layer.params for layer in inside)
    assert conv4.macs == sum(layer.macs for layer in inside)
    assert conv4.output_shape == (14, 14, 1024)
    assert sum(1 for s in analysis.scopes if s.scopes[:1] == ("conv4",) and s.depth == 2) == 6


def test_depth_collapses_the_hierarchy():
    analysis = analyse(archspec.load(SPECS / "resnet50.yaml").graph())
    top = [(kind, stats.name) for _, kind, stats in rows(analysis, depth=1)]
    assert top == [
        ("layer", "input_layer"), ("layer", "conv1_pad"), ("scope", "conv1"),
        ("layer", "pool1_pad"), ("layer", "pool1_pool"), ("scope", "conv2"),
        ("scope", "conv3"), ("scope", "conv4"), ("scope", "conv5"),
        ("layer", "avg_pool"), ("layer", "predictions"),
    ]  # fmt: skip
    full = rows(analysis, depth=None)
    assert sum(1 for _, kind, _ in full if kind == "layer") == len(analysis.layers)


def test_info_json_and_table_without_tensorflow():
    result = run("info", "specs/resnet152.yaml", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"name", "totals", "layers", "blocks"}
    assert data["totals"] == {
        "params": 60_419_944,
        "trainable_params": 60_268_520,
        "non_trainable_params": 151_424,
        "macs": data["totals"]["macs"],
    }
    assert data["totals"]["macs"] > 11_000_000_000
    assert set(data["layers"][1]) == {
        "name", "op", "path", "scope", "output_shape", "params", "trainable_params",
        "non_trainable_params", "macs", "trainable", "dtype",
    }  # fmt: skip
    table = run("info", "specs/resnet50.yaml", "--depth", "1")
    assert table.returncode == 0, table.stderr
    assert "conv4" in table.stdout and "62 layers" in table.stdout
    assert "25,636,712" in table.stdout and "3,857,973,248" in table.stdout


def test_info_with_overrides_and_errors(tmp_path):
    result = CliRunner().invoke(main, ["info", "specs/lenet5.yaml", "--set", "classes=7", "--json"])
    assert json.loads(result.output)["layers"][-1]["output_shape"] == [7]
    bad = write(
        tmp_path,
        "bad.yaml",
        """
        archspec: 1
        name: bad
        input: [8, 8, 3]
        graph:
          a: [{conv2d: {filters: 4, kernel_size: 1}}]
          b: [{conv2d: {filters: 5, kernel_size: 1}}]
          out: [{concatenate: {inputs: [a, b], axis: 1}}]
    """,
    )
    assert "inputs differ outside the joining axis" in spec_error(bad).message
    result = CliRunner().invoke(main, ["info", str(bad)])
    assert result.exit_code == 2


def test_positive_axes_count_the_batch_axis_as_keras_does(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        """
        archspec: 1
        name: s
        input: [8, 6, 3]
        graph:
          a: [{conv2d: {filters: 4, kernel_size: 1, name: a}}]
          b: [{conv2d: {filters: 4, kernel_size: 1, name: b}}]
          out:
            - concatenate: {inputs: [a, b], axis: 1, name: rows}
            - batch_normalization: {axis: 3, name: bn}
    """,
    )
    spec = archspec.load(p)
    stats = {layer.name: layer for layer in analyse(spec.graph()).layers}
    model = spec.build()
    assert (
        stats["rows"].output_shape == (16, 6, 4) == tuple(model.get_layer("rows").output.shape[1:])
    )
    assert (stats["bn"].trainable_params, stats["bn"].non_trainable_params) == (8, 8)
    assert model.get_layer("bn").count_params() == 16
    bad = write(
        tmp_path, "bad.yaml", "archspec: 1\nname: b\ninput: [8, 8, 3]\nlayers: [{bn: {axis: 4}}]\n"
    )
    assert "axis 4 is not a feature axis of a 4-D tensor" in spec_error(bad).message


def test_dense_on_an_unflattened_tensor_works_on_the_last_axis(tmp_path):
    p = write(
        tmp_path,
        "s.yaml",
        """
        archspec: 1
        name: s
        input: [8, 8, 3]
        layers:
          - conv2d: {filters: 4, kernel_size: 3}
          - dense: {units: 10}
    """,
    )
    graph = archspec.load(p).graph()
    node = graph.nodes["dense"]
    assert node.shape == (6, 6, 10)  # as Keras's Dense: the kernel acts on the last axis
    layer = next(s for s in analyse(graph).layers if s.name == "dense")
    assert (layer.trainable_params, layer.macs) == (4 * 10 + 10, 6 * 6 * 4 * 10)
