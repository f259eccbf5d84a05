"""Build time of compiled specs against the keras.applications constructors.

For each model, the whole archspec path (read YAML, validate, expand, emit Keras)
and the ``keras.applications`` constructor (``weights=None``) are timed in the same
process, interleaved, after a warm-up of each; the ratio of the medians is the figure
of merit (goal: at most 1.05).

    python benchmarks/build_vs_reference.py [--repeats N] [--json] [SPEC ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import archspec  # noqa: E402

SPECS = Path(__file__).resolve().parent.parent / "specs"
#: one model of each keras.applications family (and ResNet-152 for a deep one)
MODELS = {
    "vgg16": "VGG16",
    "resnet50": "ResNet50",
    "resnet152": "ResNet152",
    "resnet50v2": "ResNet50V2",
    "inception_v3": "InceptionV3",
    "inception_resnet_v2": "InceptionResNetV2",
    "xception": "Xception",
    "densenet121": "DenseNet121",
    "mobilenet": "MobileNet",
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v3_small": "MobileNetV3Small",
    "nasnet_mobile": "NASNetMobile",
    "efficientnet_b0": "EfficientNetB0",
    "efficientnet_v2_b0": "EfficientNetV2B0",
    "convnext_tiny": "ConvNeXtTiny",
}


def _time(build) -> float:
    keras.backend.clear_session()
    gc.collect()
    start = time.perf_counter()
    model = build()
    elapsed = time.perf_counter() - start
    del model
    return elapsed


def measure(name: str, repeats: int) -> dict[str, float]:
    spec_path = SPECS / f"{name}.yaml"
    constructor = getattr(keras.applications, MODELS[name])

    def compiled():
        return archspec.load(spec_path).build()

    def reference():
        return constructor(weights=None)

    _time(compiled), _time(reference)  # warm-up: imports, caches, first graph trace
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(_time(compiled))
        theirs.append(_time(reference))
    a, b = statistics.median(ours), statistics.median(theirs)
    return {"archspec_s": a, "keras_applications_s": b, "ratio": a / b}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("models", nargs="*", help="spec names (default: one per family)")
    args = parser.parse_args()
    results = {name: measure(name, args.repeats) for name in args.models or MODELS}
    machine = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "repeats": args.repeats,
    }
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
        return
    print(f"{'model':<20} {'archspec':>10} {'keras.app':>10} {'ratio':>7}")
    for name, r in results.items():
        print(
            f"{name:<20} {r['archspec_s']:>9.3f}s {r['keras_applications_s']:>9.3f}s "
            f"{r['ratio']:>7.3f}"
        )
    print(f"medians of {args.repeats} interleaved runs; {machine}")


if __name__ == "__main__":
    main()
