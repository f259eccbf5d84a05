"""The same spec always gives the same model: names, config JSON and, seeded, weights."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import archspec
from tests.conftest import ROOT, SPECS


@pytest.mark.parametrize("name", ["googlenet", "resnet18", "examples/xception_seed"])
def test_same_spec_same_config_and_names(name):
    first = archspec.load(SPECS / f"{name}.yaml").build()
    second = archspec.load(SPECS / f"{name}.yaml").build()
    assert first.to_json() == second.to_json()
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]


def test_same_seed_same_initial_weights():
    import keras

    def weights(seed):
        keras.utils.set_random_seed(seed)
        model = archspec.load(SPECS / "resnet18.yaml").build()
        return model.get_weights()

    a, b, c = weights(7), weights(7), weights(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_config_is_the_same_in_a_fresh_process():
    code = (
        "import archspec, json, sys; "
        "m = archspec.load('specs/googlenet.yaml', aux=True).build(); "
        "sys.stdout.write(m.to_json())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    here = archspec.load(SPECS / "googlenet.yaml", aux=True).build()
    assert json.loads(out) == json.loads(here.to_json())


def test_expansion_is_deterministic():
    a = archspec.load(SPECS / "densenet121.yaml").graph()
    b = archspec.load(SPECS / "densenet121.yaml").graph()
    assert list(a.nodes) == list(b.nodes)
    assert all(a.nodes[n].attrs == b.nodes[n].attrs for n in a.nodes if a.nodes[n].op != "input")
