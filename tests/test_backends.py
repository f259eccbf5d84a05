"""Compiled models run under JAX as they do under TensorFlow.

archspec emits plain Keras 3 layers (and the few classes keras.applications defines), so
a compiled model is not tied to TensorFlow. Each case below is built here, under the
suite's backend, with randomised batch-norm statistics and layer-scale factors; its
weights and a generated input batch are saved, and ``tests/backend_worker.py`` builds
every case again in one process under ``KERAS_BACKEND=jax``, loads the weights and runs
the batch. Both backends must agree on every layer's output, the model's config JSON
(every layer's config and connections) and the weights' paths, shapes and dtypes, and a
``.keras`` file saved under either backend must load under the other as the same model.

The cases are chosen for what they exercise: residual bottlenecks with projections and
batch norm; MobileNetV3's rescaling, hard-swish written as tensor operations and
squeeze-and-excite and asymmetric padding; ConvNeXt's nested Sequential models, layer
norm, ImageNet normalisation and LayerScale; a vision transformer's multi-head attention,
reshape and depthwise convolution; a bidirectional LSTM over integer token ids. They are
kept small: under JAX the first build of a model compiles one small program per weight
shape for its initialisers (tens of milliseconds each on a CPU), and one JAX process
serves every case.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import archspec
from tests.applications import config_differences
from tests.backend_worker import probe
from tests.conftest import ROOT, SPECS, _randomise_statistics

#: the worker's wall-clock limit, JAX's start-up and every build and run included
WORKER_TIMEOUT_S = 240
#: outputs agree to this times each output's largest magnitude (at least 1; float32)
TOLERANCE = 1e-4

HEAD = {"classes": 10, "classifier_activation": "linear"}
#: name -> (spec under specs/, overrides, integer inputs' exclusive upper bound or None
#: for images with pixels in [0, 255))
CASES: dict[str, tuple[str, dict[str, Any], int | None]] = {
    "resnet50": ("resnet50", {"depths": [2, 1, 1, 1], "input_shape": [64, 64, 3], **HEAD}, None),
    "mobilenet_v3_small": ("mobilenet_v3_small", {"input_shape": [64, 64, 3], **HEAD}, None),
    "convnext_tiny": (
        "convnext_tiny",
        {"depths": [1, 1, 2, 1], "width": 32, "input_shape": [32, 32, 3], **HEAD},
        None,
    ),
    "vit_small": ("examples/vit_small", {"depth": 2}, None),
    "bilstm_classifier": ("examples/bilstm_classifier", {"vocabulary": 1000, "steps": 16}, 1000),
}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is not installed (pip install jax)"
)


def _inputs(model, high: int | None, rng: np.random.Generator) -> list[np.ndarray]:
    """A batch of 2 for each of the model's inputs: token ids below ``high``, or images
    in [0, 255) whose brightness and contrast differ between the examples (noise of the
    same statistics everywhere would average out to the same output in a pooled model)."""
    batch = []
    for tensor in model.inputs:
        shape = (2, *tensor.shape[1:])
        if high is not None:
            batch.append(rng.integers(0, high, shape).astype(tensor.dtype))
            continue
        low = rng.uniform(0, 100, (2,) + (1,) * (len(shape) - 1))
        span = rng.uniform(50, 155, low.shape)
        batch.append((low + span * rng.random(shape)).astype("float32"))
    return batch


def _both_backends(folder, backend: str = "jax") -> tuple[dict[str, Any], dict[str, Any], str]:
    """Every case here and, in one worker process, under ``backend``: (here, there, the
    worker's backend). Each side holds per case every layer's output, the config, the weights'
    paths, shapes and dtypes, and what the `.keras` file of the other side held."""
    import keras

    rng = np.random.default_rng(2024)
    manifest, here = [], {}
    for name, (spec, overrides, high) in CASES.items():
        keras.backend.clear_session()
        model = archspec.load(SPECS / f"{spec}.yaml", overrides).build()
        _randomise_statistics(model)
        model.save_weights(folder / f"{name}.weights.h5")
        model.save(folder / f"{name}.here.keras")
        inputs = _inputs(model, high, rng)
        for i, array in enumerate(inputs):
            np.save(folder / f"{name}.input{i}.npy", array)
        here[name] = {
            "config": json.loads(model.to_json()),
            "weights": _weight_list(model),
            "inputs": inputs,
            "outputs": _run(probe(model), inputs),
        }
        manifest.append(
            {
                "name": name,
                "spec": str(SPECS / f"{spec}.yaml"),
                "overrides": overrides,
                "weights": str(folder / f"{name}.weights.h5"),
                "inputs": [str(folder / f"{name}.input{i}.npy") for i in range(len(inputs))],
                "outputs": str(folder / f"{name}.outputs.npz"),
                "keras_in": str(folder / f"{name}.here.keras"),
                "keras_out": str(folder / f"{name}.there.keras"),
            }
        )
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # XLA's CPU back end at optimisation level 0 compiles the many small programs of a
    # build (one per initialiser and weight shape) in a third of the time; the arithmetic
    # is the same
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "backend_worker.py"), str(folder / "manifest.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=WORKER_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    there = {}
    for case in report["cases"]:
        name = case["name"]
        with np.load(folder / f"{name}.outputs.npz") as saved:
            outputs = dict(saved)
        there[name] = {**case, "outputs": outputs, "keras_file": folder / f"{name}.there.keras"}
    return here, there, report["backend"]


def _run(model, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The model's outputs on ``inputs`` in inference mode, by output name."""
    import keras

    outputs = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
    if not isinstance(outputs, dict):
        names = model.output_names
        outputs = dict(zip(names, outputs if len(names) > 1 else [outputs], strict=True))
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


def _weight_list(model) -> list[tuple[str, tuple[int, ...], str]]:
    return [(w.path, tuple(w.shape), w.dtype) for w in model.weights]


def _comparable(weights) -> list[tuple[str, tuple[int, ...], str]]:
    """Weights as (path, shape, dtype), with int64 read as int32: JAX keeps 64-bit
    integers only with ``jax_enable_x64``, so a Normalization layer's ``count`` (int64
    under TensorFlow) is int32 under JAX. Both load from the same files."""
    return [
        (path, tuple(shape), "int32" if dtype == "int64" else dtype)
        for path, shape, dtype in weights
    ]


def _assert_close(
    ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray], tolerance: float
) -> None:
    """The same outputs, each with finite values, equal to ``tolerance`` times its own
    largest magnitude (at least 1)."""
    assert sorted(theirs) == sorted(ours)
    for name, x in ours.items():
        y = theirs[name]
        assert x.shape == y.shape, name
        assert np.all(np.isfinite(x)), name
        scale = max(1.0, float(np.max(np.abs(x))))
        np.testing.assert_allclose(y, x, atol=tolerance * scale, rtol=0, err_msg=name)


def _check_outputs(here: dict[str, Any], there: dict[str, Any]) -> None:
    """Every layer's and tensor operation's output agrees, not only the model's: with
    random weights little of the input reaches the end of a deep model, so the last layer
    alone would miss a wrong early layer."""
    config = here["config"]["config"]["layers"]
    layers = [layer["name"] for layer in config if layer["class_name"] != "InputLayer"]
    assert sorted(here["outputs"]) == sorted(layers)
    # the inputs reach the first layer: the two examples give different answers
    first = here["outputs"][layers[0]]
    assert not np.allclose(first[0], first[1])
    _assert_close(here["outputs"], there["outputs"], TOLERANCE)


def _check_config(here: dict[str, Any], there: dict[str, Any]) -> None:
    """The model's config JSON (every layer's config, the connections, the dtype
    policies) is the same data under both backends."""
    differences = config_differences(there["config"], here["config"])
    assert not differences, "\n".join(differences[:20])


def _check_weights(here: dict[str, Any], there: dict[str, Any]) -> None:
    assert _comparable(there["weights"]) == _comparable(here["weights"])


def _check_keras_file_read_there(here: dict[str, Any], there: dict[str, Any]) -> None:
    """A `.keras` file saved here loads under JAX as the model the spec builds there,
    with the same weights. (Weight paths are not compared: a loaded nested model's or
    Bidirectional wrapper's weights lose the enclosing layer's name from their paths,
    under TensorFlow too.)"""
    loaded = there["loaded"]
    differences = config_differences(loaded["config"], here["config"])
    assert not differences, "\n".join(differences[:20])
    shapes = [(shape, dtype) for _, shape, dtype in _comparable(loaded["weights"])]
    assert shapes == [(shape, dtype) for _, shape, dtype in _comparable(here["weights"])]
    assert loaded["largest_weight_difference"] == 0.0


def _check_keras_file_read_here(here: dict[str, Any], there: dict[str, Any]) -> None:
    """A `.keras` file saved under JAX loads here and gives this backend's outputs (it
    holds the weights saved here)."""
    import keras

    keras.backend.clear_session()
    model = keras.saving.load_model(there["keras_file"])
    differences = config_differences(json.loads(model.to_json()), here["config"])
    assert not differences, "\n".join(differences[:20])
    _assert_close(here["outputs"], _run(probe(model), here["inputs"]), 1e-6)


CHECKS = [
    _check_outputs,
    _check_config,
    _check_weights,
    _check_keras_file_read_there,
    _check_keras_file_read_here,
]


def test_compiled_models_agree_under_jax(tmp_path):
    """Every check on every case; all failures are reported together. One test, not one
    per case: the JAX process serves all cases, and the suite's parallel workers would
    each start their own."""
    import keras

    if keras.backend.backend() == "jax":
        pytest.skip("the suite itself runs under JAX; there is nothing to compare with")
    here, there, backend = _both_backends(tmp_path)
    assert backend == "jax"
    assert set(there) == set(CASES)
    failures = []
    for name in CASES:
        for check in CHECKS:
            try:
                check(here[name], there[name])
            except AssertionError as exc:
                failures.append(f"{name}, {check.__name__.removeprefix('_check_')}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_batch_norm_statistics_reach_the_outputs():
    """The comparison is sensitive to what it checks: after the statistics are
    randomised, putting one batch-norm layer's moving variance back moves the outputs
    by more than the tolerance."""
    import keras

    spec, overrides, high = CASES["resnet50"]
    keras.backend.clear_session()
    model = archspec.load(SPECS / f"{spec}.yaml", overrides).build()
    _randomise_statistics(model)
    inputs = _inputs(model, high, np.random.default_rng(0))
    before = _run(model, inputs)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    layer = norms[len(norms) // 2]
    gamma, beta, mean, variance = layer.get_weights()
    layer.set_weights([gamma, beta, mean, np.ones_like(variance)])
    with pytest.raises(AssertionError):
        _assert_close(before, _run(model, inputs), TOLERANCE)


def test_build_under_jax_prints_only_its_own_lines(tmp_path):
    """Keras imports TensorFlow while it saves a `.keras` file, whatever the backend; its
    native start-up lines must not reach a user of `build`, least of all with -q."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}  # a user's shell
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = tmp_path / "lenet5.keras"
    command = [sys.executable, "-m", "archspec", "build", "lenet5", "-o", str(out)]
    quiet = subprocess.run(
        [*command, "-q"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert out.is_file()
