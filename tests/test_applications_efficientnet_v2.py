"""EfficientNetV2-B0 to B3, S, M and L against keras.applications: the same config,
layer for layer, the same counts and, where affordable, the same outputs."""

from __future__ import annotations

import os

import pytest

from tests.applications import check_application, slow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def test_efficientnet_v2_b0():
    check_application("efficientnet_v2_b0", "EfficientNetV2B0", params=7_200_312)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        (
            {"include_top": False, "pooling": "avg", "include_preprocessing": False},
            {"include_top": False, "pooling": "avg", "include_preprocessing": False},
        ),
        (
            {"classes": 10, "classifier_activation": "linear", "input_shape": [96, 128, 3]},
            {"classes": 10, "classifier_activation": "linear", "input_shape": (96, 128, 3)},
        ),
    ],
    ids=["headless-avg-raw", "classes10-96x128"],
)
def test_efficientnet_v2_b0_variants(overrides, kwargs):
    check_application("efficientnet_v2_b0", "EfficientNetV2B0", overrides=overrides, **kwargs)


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [
        ("efficientnet_v2_b1", "EfficientNetV2B1", 8_212_124),
        ("efficientnet_v2_b2", "EfficientNetV2B2", 10_178_374),
        ("efficientnet_v2_b3", "EfficientNetV2B3", 14_467_622),
    ],
)
def test_efficientnet_v2_b_scaled(spec, application, params):
    check_application(spec, application, outputs=False, params=params)


def test_efficientnet_v2_s():
    check_application("efficientnet_v2_s", "EfficientNetV2S", params=21_612_360)


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [
        ("efficientnet_v2_m", "EfficientNetV2M", 54_431_388),
        ("efficientnet_v2_l", "EfficientNetV2L", 119_027_848),
    ],
)
def test_efficientnet_v2_large(spec, application, params):
    check_application(spec, application, outputs=False, params=params)


@slow
def test_efficientnet_v2_l_outputs_full_size():
    check_application("efficientnet_v2_l", "EfficientNetV2L")
