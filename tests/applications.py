"""The check every keras.applications spec passes: the compiled model's ``get_config()``
equals the keras.applications model's, layer for layer, names included.

Both models are built in a fresh Keras session, so the layers keras.applications leaves
unnamed carry the names Keras gives them there (`conv2d`, `conv2d_1`, ...), which the
specs reproduce with ``auto_names: keras``. Then :func:`tests.conftest.assert_equivalent`
diffs the two through archspec's importer, compares parameter counts and shapes, copies
the reference's weights across and compares outputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import archspec
from tests.conftest import SPECS, assert_equivalent, assert_static_analysis_equals_keras

#: every keras.applications constructor and the bundled spec that reproduces it
APPLICATIONS: dict[str, str] = {
    "convnext_base": "ConvNeXtBase",
    "convnext_large": "ConvNeXtLarge",
    "convnext_small": "ConvNeXtSmall",
    "convnext_tiny": "ConvNeXtTiny",
    "convnext_xlarge": "ConvNeXtXLarge",
    "densenet121": "DenseNet121",
    "densenet169": "DenseNet169",
    "densenet201": "DenseNet201",
    **{f"efficientnet_b{i}": f"EfficientNetB{i}" for i in range(8)},
    **{f"efficientnet_v2_b{i}": f"EfficientNetV2B{i}" for i in range(4)},
    "efficientnet_v2_s": "EfficientNetV2S",
    "efficientnet_v2_m": "EfficientNetV2M",
    "efficientnet_v2_l": "EfficientNetV2L",
    "inception_resnet_v2": "InceptionResNetV2",
    "inception_v3": "InceptionV3",
    "mobilenet": "MobileNet",
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v3_large": "MobileNetV3Large",
    "mobilenet_v3_small": "MobileNetV3Small",
    "nasnet_large": "NASNetLarge",
    "nasnet_mobile": "NASNetMobile",
    "resnet50": "ResNet50",
    "resnet101": "ResNet101",
    "resnet152": "ResNet152",
    "resnet50v2": "ResNet50V2",
    "resnet101v2": "ResNet101V2",
    "resnet152v2": "ResNet152V2",
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "xception": "Xception",
}

#: differences a spec cannot avoid, by the config path they sit at, with the reason;
#: none today (README, "Bundled specs")
ALLOWED: dict[str, str] = {}


def config_differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Every place where two Keras configs differ, as ``path: ours != theirs`` lines.

    Values are compared with their types, so `1` and `1.0` differ as they would in the
    saved JSON.
    """
    out: list[str] = []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            where = f"{path}.{key}"
            if key not in theirs:
                out.append(f"{where}: only in the spec's model: {ours[key]!r}"[:400])
            elif key not in ours:
                out.append(f"{where}: only in the reference: {theirs[key]!r}"[:400])
            else:
                out.extend(config_differences(ours[key], theirs[key], where))
    elif isinstance(ours, list | tuple) and isinstance(theirs, list | tuple):
        if len(ours) != len(theirs):
            out.append(f"{path}: {len(ours)} items != {len(theirs)}")
        for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            out.extend(config_differences(a, b, f"{path}[{i}]"))
    elif type(ours) is not type(theirs) or ours != theirs:
        out.append(f"{path}: {ours!r} != {theirs!r}"[:400])
    return out


def _named(path: str, config: Mapping[str, Any]) -> str:
    """``.layers[12].config.axis`` as ``layers[conv2_block1_1_bn].config.axis``."""
    match = re.match(r"\.layers\[(\d+)\](.*)", path)
    if not match:
        return path
    layers = config.get("layers", [])
    index = int(match.group(1))
    name = layers[index].get("name", index) if index < len(layers) else index
    return f"layers[{name}]{match.group(2)}"


def build_pair(
    spec_name: str,
    application: str,
    *,
    overrides=None,
    make_reference: Callable[..., Any] | None = None,
    **kwargs,
):
    """(spec, compiled model, reference model), each model built in a fresh session.

    The reference is ``keras.applications.<application>(weights=None, **kwargs)``, or
    ``make_reference(**kwargs)`` for arguments only a family's private builder takes
    (ConvNeXt's ``drop_path_rate``).
    """
    import keras

    keras.backend.clear_session()
    if make_reference is None:
        reference = getattr(keras.applications, application)(weights=None, **kwargs)
    else:
        reference = make_reference(**kwargs)
    keras.backend.clear_session()
    spec = archspec.load(SPECS / f"{spec_name}.yaml", overrides or {})
    compiled = spec.build()
    return spec, compiled, reference


def assert_config_identical(compiled, reference) -> None:
    """``get_config()`` equal as data, except the documented :data:`ALLOWED` paths."""
    ours = compiled.get_config()
    differences = [
        line
        for line in config_differences(ours, reference.get_config())
        if not any(re.match(pattern, line) for pattern in ALLOWED)
    ]
    shown = "\n".join(_named(line, ours) for line in differences[:30])
    assert not differences, f"{len(differences)} config differences:\n{shown}"


def check_application(
    spec_name: str,
    application: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    outputs: bool = True,
    params: int | None = None,
    make_reference: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> None:
    """The spec (with ``overrides``) builds the model ``keras.applications.<application>``
    builds with ``weights=None`` and ``kwargs``: the same config, counts and outputs."""
    spec, compiled, reference = build_pair(
        spec_name, application, overrides=overrides, make_reference=make_reference, **kwargs
    )
    assert_config_identical(compiled, reference)
    if params is not None:
        assert compiled.count_params() == params
    assert_equivalent(compiled, reference, graph=spec.graph(), outputs=outputs)
    assert_static_analysis_equals_keras(spec.graph(), compiled)


#: marks the slower checks (outputs of the largest models at full size); they run with
#: ``ARCHSPEC_SLOW_TESTS=1 python -m pytest -m slow`` (see ``tests/conftest.py``)
slow = pytest.mark.slow
