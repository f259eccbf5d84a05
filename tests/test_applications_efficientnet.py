"""EfficientNet-B0 to B7 against keras.applications: the same config, layer for layer
(the unnamed rescaling and normalisation included), the same counts and, where
affordable, the same outputs."""

from __future__ import annotations

import os

import pytest

from tests.applications import check_application, slow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: the larger models' outputs are compared at 64x64, and at full size only with the
#: slower checks
SMALL = [64, 64, 3]


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [
        ("efficientnet_b0", "EfficientNetB0", 5_330_571),
        ("efficientnet_b1", "EfficientNetB1", 7_856_239),
    ],
)
def test_efficientnet(spec, application, params):
    check_application(spec, application, params=params)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        ({"include_top": False, "pooling": "max"}, {"include_top": False, "pooling": "max"}),
        (
            # 97 (odd) and 80 (even) take the two zero paddings before a strided convolution
            {"classes": 10, "classifier_activation": "linear", "input_shape": [97, 80, 3]},
            {"classes": 10, "classifier_activation": "linear", "input_shape": (97, 80, 3)},
        ),
    ],
    ids=["headless-max", "classes10-97x80"],
)
def test_efficientnet_b0_variants(overrides, kwargs):
    check_application("efficientnet_b0", "EfficientNetB0", overrides=overrides, **kwargs)


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [
        ("efficientnet_b2", "EfficientNetB2", 9_177_569),
        ("efficientnet_b3", "EfficientNetB3", 12_320_535),
        ("efficientnet_b4", "EfficientNetB4", 19_466_823),
        ("efficientnet_b5", "EfficientNetB5", 30_562_527),
        ("efficientnet_b6", "EfficientNetB6", 43_265_143),
        ("efficientnet_b7", "EfficientNetB7", 66_658_687),
    ],
)
def test_efficientnet_scaled(spec, application, params):
    check_application(spec, application, outputs=False, params=params)


@pytest.mark.parametrize(
    ("spec", "application"),
    [("efficientnet_b3", "EfficientNetB3"), ("efficientnet_b7", "EfficientNetB7")],
)
def test_efficientnet_outputs_small(spec, application):
    check_application(spec, application, overrides={"input_shape": SMALL}, input_shape=tuple(SMALL))


@slow
def test_efficientnet_b7_outputs_full_size():
    check_application("efficientnet_b7", "EfficientNetB7")
