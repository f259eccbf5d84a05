"""Shared test helpers: the equivalence check every compiled spec must pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


@pytest.fixture(autouse=True)
def _chdir_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def assert_equivalent(compiled, reference, *, atol: float = 1e-5, batch: int = 2) -> None:
    """Same layers, configs, connections, counts and shapes; equal outputs after copying weights."""
    import numpy as np

    from archspec.compare.keras_import import copy_weights, import_keras
    from archspec.compare.structural import compare

    a, b = import_keras(compiled), import_keras(reference)
    differences = compare(a, b)
    assert not differences, "\n".join(str(d) for d in differences)
    assert a.params == b.params == reference.count_params() == compiled.count_params()
    assert a.trainable_params == b.trainable_params
    assert a.non_trainable_params == b.non_trainable_params
    assert compiled.output_shape == reference.output_shape

    _randomise_batch_norm(reference)
    copied = copy_weights(reference, compiled)
    assert copied == sum(1 for layer in reference.layers if layer.weights)
    rng = np.random.default_rng(1234)
    shapes = (
        compiled.input_shape if isinstance(compiled.input_shape, list) else [compiled.input_shape]
    )
    data = [rng.random((batch, *s[1:]), dtype=np.float32) for s in shapes]
    args = data[0] if len(data) == 1 else data
    out_a = compiled(args, training=False)
    out_b = reference(args, training=False)
    outs_a = out_a if isinstance(out_a, list | tuple) else [out_a]
    outs_b = out_b if isinstance(out_b, list | tuple) else [out_b]
    for x, y in zip(outs_a, outs_b, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def _randomise_batch_norm(model) -> None:
    """Give batch-norm layers non-trivial statistics so the output check exercises them."""
    import numpy as np

    rng = np.random.default_rng(99)
    for layer in model.layers:
        if layer.__class__.__name__ != "BatchNormalization":
            continue
        weights = []
        for w in layer.weights:
            shape = tuple(w.shape)
            if "variance" in w.path or "gamma" in w.path:
                weights.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
            else:
                weights.append(rng.normal(0.0, 0.1, shape).astype("float32"))
        layer.set_weights(weights)
