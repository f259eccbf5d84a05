"""The emitter: whatever Keras raises becomes a located error; long chains build."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

import archspec
from archspec.errors import SpecError
from tests.helpers import write

SPEC = """\
archspec: 1
name: s
input: [8]
layers:
  - dense: 4
  - activation: relu
"""


@pytest.fixture(autouse=True)
def _fresh_session():
    import keras

    keras.backend.clear_session(free_memory=False)


@pytest.mark.parametrize("error", [TypeError, RuntimeError, AttributeError, RecursionError])
@pytest.mark.parametrize("where", ["__init__", "__call__"])
def test_any_exception_keras_raises_for_a_layer_is_a_located_error(
    tmp_path, monkeypatch, error, where
):
    import keras

    def broken(self, *args, **kwargs):
        raise error("refused\nsecond line")

    class Broken(keras.layers.Dense):
        pass

    setattr(Broken, where, broken)
    monkeypatch.setattr(keras.layers, "Dense", Broken)
    spec = archspec.load(write(tmp_path, "s.yaml", SPEC))
    with pytest.raises(SpecError) as info:
        spec.build()
    assert info.value.message == "Keras cannot build `dense` (Dense): refused"
    assert "second line" not in info.value.message
    assert (info.value.loc.line, info.value.path) == (5, "layers[0]")


def test_keras_boilerplate_lines_are_skipped_in_the_message(tmp_path, monkeypatch):
    import keras

    class Broken(keras.layers.Activation):
        def __call__(self, *args, **kwargs):
            raise ValueError(
                "Exception encountered when calling Activation.call().\n\n"
                "\x1b[1mthe telling line\x1b[0m\n\nArguments received: ..."
            )

    monkeypatch.setattr(keras.layers, "Activation", Broken)
    with pytest.raises(SpecError) as info:
        archspec.load(write(tmp_path, "s.yaml", SPEC)).build()
    assert "the telling line" in str(info.value)
    assert (info.value.loc.line, info.value.path) == (6, "layers[1]")


def test_a_model_keras_cannot_assemble_is_a_located_error(tmp_path, monkeypatch):
    import keras

    def broken(*args, **kwargs):
        raise RuntimeError("cannot assemble")

    monkeypatch.setattr(keras, "Model", broken)
    with pytest.raises(SpecError) as info:
        archspec.load(write(tmp_path, "s.yaml", SPEC)).build()
    assert info.value.message == "Keras cannot assemble the model: cannot assemble"
    assert info.value.path == "layers[1]"


def test_a_long_chain_builds_and_runs(tmp_path):
    """Keras sorts a functional graph recursively, one frame per layer: about 3,000 layers
    passed Python's limit before the emitter made room."""
    layers = 3_000
    path = write(
        tmp_path,
        "chain.yaml",
        f"archspec: 1\nname: chain\ninput: [4]\nlayers:\n"
        f"  - activation: linear\n    repeat: {layers}\n",
    )
    limit = sys.getrecursionlimit()
    start = time.perf_counter()
    model = archspec.load(path).build()
    elapsed = time.perf_counter() - start
    assert len(model.layers) == layers + 1
    assert sys.getrecursionlimit() == limit
    out = model(np.ones((2, 4), "float32"))
    assert np.asarray(out).tolist() == [[1.0] * 4] * 2
    assert elapsed < 30, f"took {elapsed:.1f} s"
