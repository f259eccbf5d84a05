"""MobileNet, MobileNetV2 and MobileNetV3-Small/Large against keras.applications: the
same config, layer for layer (the model names built from `alpha` and the input size,
the padding that depends on the input size, MobileNetV3's `x + 3.0` and `* (1 / 6)`
operations and its unnamed activations included), the same counts and the same outputs.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.applications import check_application

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def variant(**params: Any) -> Any:
    """One case: the spec's parameters and the same keras.applications arguments."""
    kwargs = {k: tuple(v) if k == "input_shape" else v for k, v in params.items()}
    return pytest.param(params, kwargs, id="-".join(f"{k}={v}" for k, v in params.items()))


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [("mobilenet", "MobileNet", 4_253_864), ("mobilenet_v2", "MobileNetV2", 3_538_984)],
)
def test_default(spec, application, params):
    check_application(spec, application, params=params)


@pytest.mark.parametrize(
    ("spec", "application", "params"),
    [
        ("mobilenet_v3_small", "MobileNetV3Small", 2_554_968),
        ("mobilenet_v3_large", "MobileNetV3Large", 5_507_432),
    ],
)
def test_default_v3(spec, application, params):
    check_application(spec, application, params=params)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        variant(alpha=0.5, input_shape=[128, 128, 3]),
        variant(include_top=False, pooling="avg", alpha=0.25),
        variant(
            depth_multiplier=2,
            dropout=0.3,
            classes=10,
            classifier_activation="linear",
            input_shape=[96, 96, 3],
        ),
    ],
)
def test_mobilenet_variants(overrides, kwargs):
    check_application("mobilenet", "MobileNet", overrides=overrides, **kwargs)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        # an odd size pads the strided blocks on both sides
        variant(alpha=0.35, include_top=False, pooling="max", input_shape=[97, 97, 3]),
        variant(alpha=1.4, classes=10, input_shape=[96, 96, 3]),
    ],
)
def test_mobilenet_v2_variants(overrides, kwargs):
    check_application("mobilenet_v2", "MobileNetV2", overrides=overrides, **kwargs)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        variant(minimalistic=True, include_top=False, pooling="avg"),
        variant(alpha=0.75, include_preprocessing=False),
        # no Dropout layer at rate 0; alpha above 1 widens the head too
        variant(alpha=1.25, dropout_rate=0.0, classes=10, classifier_activation="linear"),
    ],
)
def test_mobilenet_v3_small_variants(overrides, kwargs):
    check_application("mobilenet_v3_small", "MobileNetV3Small", overrides=overrides, **kwargs)


def test_mobilenet_v3_large_variant():
    # Large is Small's model with another table: one case for the table's other columns
    params = {
        "minimalistic": True,
        "alpha": 0.75,
        "include_preprocessing": False,
        "include_top": False,
        "pooling": "avg",
    }
    check_application("mobilenet_v3_large", "MobileNetV3Large", overrides=params, **params)
