"""NASNet-A Mobile and Large against keras.applications: the same config, layer for
layer (the unnamed ReLUs, paddings, croppings, concatenations and additions included),
the same counts and, where affordable, the same outputs. The family's own parameters
(blocks, filters, skip_reduction, filter_multiplier) are checked against Keras's
generic `NASNet` function on small nets."""

from __future__ import annotations

import os

import pytest

import archspec
from tests.applications import assert_config_identical, check_application, slow
from tests.conftest import SPECS, assert_equivalent

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: NASNet-Large's outputs are compared (at 96x96 and 331x331) only with the slower checks;
#: the small nets of `test_nasnet_family_params` run its cells' wiring (skip_reduction)
SMALL = [96, 96, 3]


def test_nasnet_mobile():
    check_application("nasnet_mobile", "NASNetMobile", params=5_326_716)


def test_nasnet_large():
    check_application("nasnet_large", "NASNetLarge", outputs=False, params=88_949_818)


@pytest.mark.parametrize(
    "kwargs",
    [
        # NASNet-Large's skip_reduction, three times the filters from one stack to the next
        {
            "penultimate_filters": 432,
            "num_blocks": 1,
            "stem_block_filters": 8,
            "skip_reduction": True,
            "filter_multiplier": 3,
            "include_top": False,
            "pooling": "max",
            "input_shape": [48, 48, 3],
        },
        # another classifier on an odd size (correct_pad pads both sides alike)
        {
            "penultimate_filters": 192,
            "num_blocks": 1,
            "stem_block_filters": 8,
            "skip_reduction": False,
            "classes": 10,
            "classifier_activation": "linear",
            "input_shape": [65, 65, 3],
        },
        # two normal cells a stack, without the top, average pooling
        {
            "penultimate_filters": 96,
            "num_blocks": 2,
            "stem_block_filters": 8,
            "skip_reduction": False,
            "include_top": False,
            "pooling": "avg",
            "input_shape": [64, 64, 3],
        },
    ],
    ids=["skip-reduction-x3-max", "classes10-65px", "two-blocks-avg"],
)
def test_nasnet_family_params(kwargs):
    """Small nets of Keras's generic `NASNet` (NASNetMobile and NASNetLarge call it)."""
    import keras
    from keras.src.applications.nasnet import NASNet

    keras.backend.clear_session()
    shape = tuple(kwargs["input_shape"])
    reference = NASNet(**{**kwargs, "input_shape": shape}, weights=None, name="nasnet_mobile")
    keras.backend.clear_session()
    spec = archspec.load(SPECS / "nasnet_mobile.yaml", kwargs)
    compiled = spec.build()
    assert_config_identical(compiled, reference)
    assert_equivalent(compiled, reference, graph=spec.graph())


@slow
def test_nasnet_large_outputs_small():
    overrides = {"include_top": False, "pooling": "max", "input_shape": SMALL}
    check_application(
        "nasnet_large",
        "NASNetLarge",
        overrides=overrides,
        include_top=False,
        pooling="max",
        input_shape=tuple(SMALL),
    )


@slow
def test_nasnet_large_outputs_full_size():
    check_application("nasnet_large", "NASNetLarge")
