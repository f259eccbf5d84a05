"""keras.applications models built from tensor arithmetic and layers of their own.

MobileNetV3 writes its hard sigmoid as `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`; ConvNeXt adds
its residual with `+`, scales branches with its own `LayerScale`, and nests Sequential
models for its stem and downsampling. Both import into the IR node for node, and a diff
of each bundled spec against its constructor finds nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import keras
import pytest

from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir


@pytest.mark.parametrize(
    ("spec", "name"),
    [("mobilenet_v3_small", "MobileNetV3Small"), ("convnext_tiny", "ConvNeXtTiny")],
)
def test_diff_of_a_spec_against_its_application_exits_0(spec, name):
    """The command a user runs: the bundled spec against the constructor, by import path."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "archspec",
            "diff",
            f"specs/{spec}.yaml",
            f"keras.applications.{name}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "layers paired by names; identical" in result.stdout


def test_arithmetic_and_nested_models_are_read_node_for_node():
    keras.backend.clear_session()
    mobilenet = to_ir(keras.applications.MobileNetV3Small(weights=None))
    ops = Counter(node.op for node in mobilenet.nodes.values())
    assert ops["ops.add"] == ops["ops.multiply"] == 9  # one hard sigmoid per excite block
    assert ops["rescaling"] == 1
    add = next(n for n in mobilenet.nodes.values() if n.op == "ops.add")
    assert (add.attrs.x, add.attrs.y) == (mobilenet.nodes[add.inputs[0]].name, 3.0)

    convnext = to_ir(keras.applications.ConvNeXtTiny(weights=None))
    ops = Counter(node.op for node in convnext.nodes.values())
    assert ops["layer_scale"] == ops["ops.add"] == 18
    stem = convnext.nodes["convnext_tiny_stem_conv"]
    assert stem.scopes == ("convnext_tiny_stem",)  # read in place from the nested model
    again = to_ir(keras.applications.ConvNeXtTiny(weights=None))
    assert diff(convnext, again).identical
