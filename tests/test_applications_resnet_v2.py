"""ResNet-50/101/152 v2 and Inception-ResNet-v2 against keras.applications: the same
config, layer for layer (the unnamed shortcut max pools and conv2d_bn layers included),
the same counts and, where affordable, the same outputs."""

from __future__ import annotations

import os

import pytest

from tests.applications import check_application, slow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Inception-ResNet-v2's outputs are compared at 96x96 (Keras takes 75 and up), and at
#: 299x299 only with the slower checks
SMALL = [96, 96, 3]


def test_resnet50v2():
    check_application("resnet50v2", "ResNet50V2", params=25_613_800)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        ({"include_top": False, "pooling": "max"}, {"include_top": False, "pooling": "max"}),
        (
            {"classes": 10, "classifier_activation": None, "input_shape": [64, 64, 3]},
            {"classes": 10, "classifier_activation": None, "input_shape": (64, 64, 3)},
        ),
    ],
    ids=["headless-max", "classes10-64px"],
)
def test_resnet50v2_variants(overrides, kwargs):
    check_application("resnet50v2", "ResNet50V2", overrides=overrides, **kwargs)


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [
        ("resnet101v2", "ResNet101V2", 44_675_560),
        ("resnet152v2", "ResNet152V2", 60_380_648),
    ],
)
def test_deeper_resnet_v2(spec, application, params):
    check_application(spec, application, outputs=False, params=params)


def test_inception_resnet_v2():
    check_application("inception_resnet_v2", "InceptionResNetV2", outputs=False, params=55_873_736)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        ({"include_top": False, "pooling": "max"}, {"include_top": False, "pooling": "max"}),
        ({"classes": 10, "input_shape": SMALL}, {"classes": 10, "input_shape": tuple(SMALL)}),
    ],
    ids=["headless-max", "classes10-96px"],
)
def test_inception_resnet_v2_variants(overrides, kwargs):
    # the outputs (at 96x96) are compared once, with the classifier
    outputs = overrides.get("include_top", True)
    check_application(
        "inception_resnet_v2", "InceptionResNetV2", overrides=overrides, outputs=outputs, **kwargs
    )


@slow
def test_inception_resnet_v2_outputs_full_size():
    check_application("inception_resnet_v2", "InceptionResNetV2")
