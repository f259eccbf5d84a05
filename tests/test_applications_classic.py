"""VGG, ResNet, Inception-v3, Xception and DenseNet specs equal keras.applications.

Each bundled spec builds the model its keras.applications constructor builds with
``weights=None``: the same ``get_config()`` (layers, names, inbound nodes, model name),
parameter counts, output shapes and outputs (see :mod:`tests.applications`). The
constructor's arguments are the specs' parameters of the same names.
"""

from __future__ import annotations

import pytest

from tests.applications import APPLICATIONS, check_application, slow

#: the ten specs of this file
SPECS = [
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet101",
    "resnet152",
    "inception_v3",
    "xception",
    "densenet121",
    "densenet169",
    "densenet201",
]


@pytest.mark.parametrize("spec", SPECS)
def test_default(spec: str):
    """The default constructor at its default size: config, counts and outputs."""
    check_application(spec, APPLICATIONS[spec])


#: the constructor's arguments, given to the spec as parameters and to keras.applications
#: as keyword arguments: for every family a headless model with global pooling at another
#: input size, and a 10-class linear classifier on VGG's own top and on `imagenet_head`,
#: which the other families share
VARIANTS = [
    ("vgg19", {"include_top": False, "pooling": "avg", "input_shape": (48, 64, 3)}),
    ("vgg16", {"classes": 10, "classifier_activation": "linear", "input_shape": (32, 32, 3)}),
    ("resnet50", {"include_top": False, "pooling": "max", "input_shape": (40, 48, 3)}),
    ("inception_v3", {"include_top": False, "pooling": "max", "input_shape": (75, 99, 3)}),
    ("xception", {"include_top": False, "pooling": "avg", "input_shape": (71, 90, 3)}),
    ("xception", {"classes": 10, "classifier_activation": "linear", "input_shape": (71, 71, 3)}),
    ("densenet121", {"include_top": False, "pooling": "max", "input_shape": (32, 40, 3)}),
]

#: the other pooling of each family, the open input size Keras gives a headless model,
#: the largest models at a small size and the other families' classifiers
SLOW_VARIANTS = [
    ("vgg16", {"include_top": False, "pooling": "max"}),
    ("resnet152", {"include_top": False, "pooling": "avg", "input_shape": (32, 40, 3)}),
    ("resnet50", {"classes": 10, "classifier_activation": "linear", "input_shape": (32, 32, 3)}),
    ("inception_v3", {"include_top": False, "pooling": "avg"}),
    (
        "inception_v3",
        {"classes": 10, "classifier_activation": "linear", "input_shape": (75, 75, 3)},
    ),
    ("xception", {"include_top": False, "pooling": "max"}),
    ("densenet201", {"include_top": False, "pooling": "avg", "input_shape": (32, 40, 3)}),
    ("densenet121", {"classes": 10, "classifier_activation": "linear", "input_shape": (32, 32, 3)}),
]


def _ids(variants) -> list[str]:
    return [f"{spec}-" + "-".join(f"{k}={v}" for k, v in args.items()) for spec, args in variants]


def _check(spec: str, arguments: dict) -> None:
    overrides = {k: list(v) if isinstance(v, tuple) else v for k, v in arguments.items()}
    check_application(spec, APPLICATIONS[spec], overrides=overrides, **arguments)


@pytest.mark.parametrize(("spec", "arguments"), VARIANTS, ids=_ids(VARIANTS))
def test_variant(spec: str, arguments: dict):
    _check(spec, arguments)


@slow
@pytest.mark.parametrize(("spec", "arguments"), SLOW_VARIANTS, ids=_ids(SLOW_VARIANTS))
def test_more_variants(spec: str, arguments: dict):
    _check(spec, arguments)
