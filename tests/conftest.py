"""Shared test helpers: the equivalence check every compiled spec must pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``slow`` run only with ``ARCHSPEC_SLOW_TESTS=1``."""
    if os.environ.get("ARCHSPEC_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slower check: set ARCHSPEC_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _chdir_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def assert_equivalent(
    compiled, reference, *, graph=None, atol: float = 1e-5, batch: int = 2, outputs: bool = True
):
    """Same layers, configs, connections, counts and shapes; equal outputs after copying weights.

    Uses archspec's own comparison engine: the reference is imported into the IR and
    diffed against the spec's IR (and against the compiled model, which checks the
    emitter), then the reference's weights are copied across and outputs compared
    (unless ``outputs`` is false, for models too large to run in the suite).
    """
    import numpy as np

    from archspec.analysis.stats import analyse
    from archspec.compare.diff import diff
    from archspec.compare.keras_import import copy_weights, leaf_layers, to_ir

    reference_ir = to_ir(reference)
    compiled_ir = to_ir(compiled)
    if graph is not None:
        # the emitter built exactly the spec's graph, layer names included
        emitted = diff(graph, compiled_ir)
        assert emitted.identical and emitted.alignment == "names", emitted.changes[:20]
    result = diff(compiled_ir, reference_ir)
    if not result.identical and result.alignment == "names":
        # a reference with Keras's automatic names may share some names by chance
        result = diff(compiled_ir, reference_ir, align_by="structure")
    assert result.identical, "\n".join(str(c) for c in result.changes[:20])

    ours, theirs = analyse(compiled_ir).totals, analyse(reference_ir).totals
    assert ours.params == theirs.params == reference.count_params() == compiled.count_params()
    assert ours.trainable_params == theirs.trainable_params
    assert ours.non_trainable_params == theirs.non_trainable_params
    assert compiled.output_shape == reference.output_shape
    if not outputs:
        return

    _randomise_statistics(reference)
    copied = copy_weights(reference, compiled, [(b, a) for a, b in result.pairs])
    assert copied == sum(1 for layer in leaf_layers(reference).values() if layer.weights)
    rng = np.random.default_rng(1234)
    shapes = (
        compiled.input_shape if isinstance(compiled.input_shape, list) else [compiled.input_shape]
    )
    # an open size (a headless keras.applications model) is run at 96, which every
    # family takes
    data = [
        rng.random((batch, *(96 if d is None else d for d in s[1:])), dtype=np.float32)
        for s in shapes
    ]
    args = data[0] if len(data) == 1 else data
    out_a = compiled(args, training=False)
    out_b = reference(args, training=False)
    outs_a = out_a if isinstance(out_a, list | tuple) else [out_a]
    outs_b = out_b if isinstance(out_b, list | tuple) else [out_b]
    for x, y in zip(outs_a, outs_b, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def assert_static_analysis_equals_keras(graph, model) -> None:
    """Every layer's static output shape and (trainable, non-trainable) counts, and the
    totals, equal those of the built Keras layer (nested models' layers included; tensor
    operations have no layer of their own and no weights)."""
    from archspec.analysis.stats import analyse
    from archspec.compare.keras_import import leaf_layers

    analysis = analyse(graph)
    layers = leaf_layers(model)
    for layer in analysis.layers:
        keras_layer = layers.get(layer.name)
        if keras_layer is None:
            assert not layer.trainable_params + layer.non_trainable_params, layer.name
            continue
        assert layer.output_shape == tuple(keras_layer.output.shape[1:]), layer.name
        trainable = sum(int(w.numpy().size) for w in keras_layer.trainable_weights)
        non_trainable = sum(int(w.numpy().size) for w in keras_layer.non_trainable_weights)
        assert (layer.trainable_params, layer.non_trainable_params) == (trainable, non_trainable)
    assert analysis.totals.params == model.count_params()
    assert analysis.totals.non_trainable_params == sum(
        int(w.numpy().size) for w in model.non_trainable_weights
    )


def _randomise_statistics(model) -> None:
    """Give batch-norm layers non-trivial statistics, and layer-scale factors (ConvNeXt's,
    1e-6 at first, which would hide their residual branches) values from 0.1 to 0.3, so
    the output check exercises every weight."""
    import numpy as np

    from archspec.compare.keras_import import leaf_layers

    rng = np.random.default_rng(99)
    for layer in leaf_layers(model).values():
        if layer.__class__.__name__ == "LayerScale":
            gamma = layer.get_weights()[0]
            layer.set_weights([rng.uniform(0.1, 0.3, gamma.shape).astype("float32")])
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


@pytest.fixture(scope="module")
def ops_folder():
    """A folder for the one-layer specs of an op's generated test (see tests/ops_harness.py)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="archspec-ops-"))
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()
