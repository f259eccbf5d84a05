"""The further example specs compile to models equal to hand-written Keras references.

The same check as test_models.py: the same layers, configs and connections, the same
parameter counts and output shapes, and equal outputs after copying the reference's
weights into the compiled model; and archspec's static shapes and counts, layer by
layer, equal Keras's.
"""

from __future__ import annotations

import pytest

import archspec
from tests.conftest import SPECS, assert_equivalent, assert_static_analysis_equals_keras

# spec (relative to specs/examples), its reference in tests/references/examples_extra.py,
# and its parameter count
CASES = {
    "vit_small": 138_442,
    "conv1d_text_classifier": 2_822_914,
    "bilstm_classifier": 2_757_761,
    "resnet50_seed": 23_600_006,
    "resnet_functional_seed": 11_196_042,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_model_equals_reference(name: str):
    from tests.references import examples_extra

    spec = archspec.load(SPECS / "examples" / f"{name}.yaml")
    compiled = spec.build()
    reference = getattr(examples_extra, name)()
    assert compiled.count_params() == reference.count_params() == CASES[name]
    assert_equivalent(compiled, reference, graph=spec.graph())
    assert_static_analysis_equals_keras(spec.graph(), compiled)


def test_seed_resnet50_keeps_the_seed_names():
    """The layers the seed names keep their names; 53,120 of its parameters are not trained."""
    from archspec.analysis.stats import analyse

    graph = archspec.load(SPECS / "examples" / "resnet50_seed.yaml").graph()
    assert {"conv1", "bn_conv1", "res2a_branch1", "bn5c_branch2c", "fc6"} <= set(graph.nodes)
    assert analyse(graph).totals.non_trainable_params == 53_120
