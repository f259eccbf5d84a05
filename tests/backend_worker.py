"""Builds specs under whichever Keras backend ``KERAS_BACKEND`` names, runs and saves them.

Keras fixes its backend when it is first imported, so a comparison between backends
needs a process of its own for each. ``tests/test_backends.py`` builds every case under
TensorFlow, saves its weights, a ``.keras`` file and an input batch, and runs this script
once under JAX for all cases (one start-up of JAX, not one per spec)::

    KERAS_BACKEND=jax python tests/backend_worker.py manifest.json

The manifest is a JSON list of cases, each with the keys ``name``, ``spec``,
``overrides``, ``weights`` (a ``.weights.h5`` file), ``inputs`` (``.npy`` files),
``outputs`` (an ``.npz`` file), ``keras_in`` (a ``.keras`` file written by the other
backend) and ``keras_out`` (where to write this backend's ``.keras`` file). For each case
the spec is built with the overrides, the weights loaded, the model run on the inputs in
inference mode and every layer's output written to ``outputs``, by layer name; the model is saved to
``keras_out``, and ``keras_in`` is loaded and compared with it. Standard output receives
one JSON object: the backend, the Keras version and, per case, the model's config JSON,
its weights' paths, shapes and dtypes, what the loaded ``.keras`` file held, and the
seconds each stage took.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _weights(model: Any) -> list[list[Any]]:
    return [[w.path, list(w.shape), w.dtype] for w in model.weights]


def probe(model: Any) -> Any:
    """A model with the same inputs whose outputs are every layer's and tensor
    operation's output, by name, so a comparison sees each of them, not only what reaches
    the end (in a deep model with random weights little of the input does)."""
    import keras

    ops = [op for op in model.operations if not isinstance(op, keras.layers.InputLayer)]
    return keras.Model(model.input, {op.name: op.output for op in ops})


def _largest_difference(ours: list[Any], theirs: list[Any]) -> float | None:
    """The largest absolute difference between two models' weights; None if their shapes
    differ."""
    import numpy as np

    if [a.shape for a in ours] != [b.shape for b in theirs]:
        return None
    differences = (
        float(np.max(np.abs(a.astype("float64") - b.astype("float64")), initial=0.0))
        for a, b in zip(ours, theirs, strict=True)
    )
    return max(differences, default=0.0)


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Build, load the weights, predict, save, and read the other backend's file."""
    import keras
    import numpy as np

    import archspec

    keras.backend.clear_session()
    started = time.perf_counter()
    model = archspec.load(case["spec"], case.get("overrides") or {}).build()
    built = time.perf_counter()
    model.load_weights(case["weights"])
    inputs = [np.load(path) for path in case["inputs"]]
    # one compiled call, as Keras runs inference; op-by-op calls compile every op alone
    outputs = probe(model).predict_on_batch(inputs[0] if len(inputs) == 1 else inputs)
    np.savez(case["outputs"], **{k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()})
    ran = time.perf_counter()
    model.save(case["keras_out"])
    loaded = keras.saving.load_model(case["keras_in"])
    largest = _largest_difference(model.get_weights(), loaded.get_weights())
    return {
        "name": case["name"],
        "config": json.loads(model.to_json()),
        "weights": _weights(model),
        "loaded": {
            "config": json.loads(loaded.to_json()),
            "weights": _weights(loaded),
            "largest_weight_difference": largest,
        },
        "build_s": round(built - started, 3),
        "run_s": round(ran - built, 3),
        "files_s": round(time.perf_counter() - ran, 3),
    }


def main(manifest: str) -> None:
    started = time.perf_counter()
    import keras

    imported = time.perf_counter()
    cases = json.loads(Path(manifest).read_text(encoding="utf-8"))
    results = [run_case(case) for case in cases]
    json.dump(
        {
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
            "import_s": round(imported - started, 3),
            "cases": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    # the script lives in tests/; archspec is imported from the repository it belongs to
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1])
