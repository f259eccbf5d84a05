"""ConvNeXt-Tiny/Small/Base/Large/XLarge against keras.applications: the same config,
layer for layer (the nested Sequential stem and downsampling blocks, the `inputs + x`
residual operations and the unnamed layers of the headless model included), the same
counts and, where affordable, the same outputs.

`drop_path_rate` and `layer_scale_init_value` are not arguments of ConvNeXtTiny & co.,
so those variants are checked against keras.applications' `ConvNeXt` builder.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.applications import check_application, slow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

APPLICATIONS = {
    "tiny": "ConvNeXtTiny",
    "small": "ConvNeXtSmall",
    "base": "ConvNeXtBase",
    "large": "ConvNeXtLarge",
    "xlarge": "ConvNeXtXLarge",
}
#: outputs are compared at 64x64 where the default size would cost too much time
SMALL = [64, 64, 3]


def reference_model(variant: str, **kwargs: Any):
    """keras.applications.ConvNeXt<Variant>(weights=None, **kwargs), or the `ConvNeXt`
    builder with the variant's configuration for the arguments only it takes."""
    import keras

    if "drop_path_rate" not in kwargs and "layer_scale_init_value" not in kwargs:
        return getattr(keras.applications, APPLICATIONS[variant])(weights=None, **kwargs)
    from keras.src.applications import convnext

    config = convnext.MODEL_CONFIGS[variant]
    return convnext.ConvNeXt(
        depths=config["depths"],
        projection_dims=config["projection_dims"],
        name=f"convnext_{variant}",
        weights=None,
        **kwargs,
    )


def check(
    variant: str,
    overrides: dict[str, Any] | None = None,
    *,
    outputs: bool = True,
    params: int | None = None,
    **kwargs: Any,
) -> None:
    """check_application, with the reference from :func:`reference_model`."""
    check_application(
        f"convnext_{variant}",
        APPLICATIONS[variant],
        overrides=overrides,
        outputs=outputs,
        params=params,
        make_reference=lambda **given: reference_model(variant, **given),
        **kwargs,
    )


def test_convnext_tiny():
    check("tiny", params=28_589_128)


def test_convnext_small_outputs_small():
    check("small", {"input_shape": SMALL}, input_shape=tuple(SMALL))


@pytest.mark.parametrize(
    ("variant", "params"),
    [("base", 88_591_464), ("large", 197_767_336), ("xlarge", 350_196_968)],
)
def test_larger_convnext(variant, params):
    check(variant, outputs=False, params=params)


def case(name: str, **params: Any) -> Any:
    """One case: the spec's parameters and the same Keras arguments."""
    kwargs = {k: tuple(v) if k == "input_shape" else v for k, v in params.items()}
    return pytest.param(params, kwargs, id=name)


@pytest.mark.parametrize(
    ("overrides", "kwargs"),
    [
        case("headless-avg", include_top=False, pooling="avg"),
        case("headless-max-raw", include_top=False, pooling="max", include_preprocessing=False),
        case(
            "classes10-drop-path",
            classes=10,
            classifier_activation="linear",
            drop_path_rate=0.1,
            layer_scale_init_value=0.5,
            input_shape=SMALL,
        ),
    ],
)
def test_convnext_tiny_variants(overrides, kwargs):
    check("tiny", overrides, **kwargs)


@slow
def test_convnext_xlarge_outputs_full_size():
    check("xlarge")
