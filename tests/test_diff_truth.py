"""Two models that differ are never called identical.

Each test builds a pair of small models that differ in one respect only: a layer
applied twice, a frozen layer, a call argument, an input setting, an operation on
tensors, an overridden ``call``. The diff must report the difference or refuse the
model with one line; it must never say "identical".
"""

from __future__ import annotations

import inspect
import sys

import keras
import pytest
from click.testing import CliRunner
from keras import layers

from archspec.analysis.stats import analyse
from archspec.cli import main
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from archspec.errors import SpecError


def never_identical(a: keras.Model, b: keras.Model) -> list:
    """The changes between ``a`` and ``b`` (empty when one of them is refused)."""
    try:
        result = diff(to_ir(a), to_ir(b))
    except SpecError as exc:
        assert "\n" not in exc.format()
        return []
    assert not result.identical
    return result.changes


def refused(model: keras.Model) -> str:
    with pytest.raises(SpecError) as info:
        to_ir(model)
    return info.value.message


def chain(**frozen: bool) -> keras.Model:
    inputs = keras.Input((8,), name="x")
    x = layers.Dense(4, name="d1", trainable=not frozen.get("d1", False))(inputs)
    x = layers.BatchNormalization(name="bn", trainable=not frozen.get("bn", False))(x)
    return keras.Model(inputs, layers.Dense(2, name="d2", trainable=not frozen.get("d2", False))(x))


def test_shared_layer_is_refused_not_dropped(tmp_path):
    inputs = keras.Input((4,))
    dense = layers.Dense(4, name="d")
    shared = keras.Model(inputs, dense(dense(inputs)))
    inputs = keras.Input((4,))
    twice = keras.Model(inputs, layers.Dense(4, name="d2")(layers.Dense(4, name="d")(inputs)))
    once = keras.Model(inputs, layers.Dense(4, name="d")(inputs))
    assert "applied 2 times (shared weights)" in refused(shared)
    never_identical(shared, twice)
    never_identical(shared, once)
    shared.save(tmp_path / "shared.keras")
    once.save(tmp_path / "once.keras")
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "shared.keras"), str(tmp_path / "once.keras")]
    )
    assert result.exit_code == 2 and "applied 2 times" in result.output


def test_a_layer_shared_with_another_model_reads_this_models_call():
    """A layer called in another model too: only the call inside this model counts."""
    dense = layers.Dense(3, name="d")
    first = keras.Input((3,))
    other = keras.Model(first, dense(layers.ReLU(name="r")(first)))
    inputs = keras.Input((3,), name="x")
    model = keras.Model(inputs, dense(inputs))
    assert to_ir(model).nodes["d"].inputs == ["x"]
    assert to_ir(other).nodes["d"].inputs == ["r"]


@pytest.mark.parametrize("layer", ["d1", "bn", "d2"])
def test_frozen_layers_are_a_difference(layer):
    found = never_identical(chain(), chain(**{layer: True}))
    assert [(c.kind, c.where, c.a, c.b) for c in found] == [("trainable", layer, True, False)]
    # analysis counts a frozen layer's weights as non-trainable, as Keras does
    model = chain(**{layer: True})
    totals = analyse(to_ir(model)).totals
    assert totals.trainable_params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert totals.params == model.count_params()


def test_a_frozen_model_is_not_the_trainable_one(tmp_path):
    frozen = chain()
    frozen.trainable = False
    frozen.save(tmp_path / "frozen.keras")
    chain().save(tmp_path / "trainable.keras")
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "trainable.keras"), str(tmp_path / "frozen.keras"), "--json"]
    )
    assert result.exit_code == 1, result.output
    assert '"kind": "trainable"' in result.output


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda t: layers.Dropout(0.5, name="l")(t, training=True), "training=True"),
        (lambda t: layers.BatchNormalization(name="l")(t, training=True), "training=True"),
        (lambda t: layers.BatchNormalization(name="l")(t, training=False), "training=False"),
        (lambda t: layers.Dense(2, name="l")(t, training=True), "training=True"),
    ],
)
def test_call_arguments_are_refused(make, argument):
    inputs = keras.Input((4,))
    called = keras.Model(inputs, make(inputs))
    assert argument in refused(called)
    plain = keras.Model(inputs, layers.Activation("linear", name="other")(inputs))
    never_identical(called, plain)


def test_what_keras_records_by_itself_is_read():
    """Dropout's call records `training=False` (its default), a plain BN call `mask=None`."""
    inputs = keras.Input((4,))
    x = layers.BatchNormalization(name="bn")(layers.Dropout(0.5, name="drop")(inputs))
    graph = to_ir(keras.Model(inputs, x))
    assert [n.op for n in graph.nodes.values()] == ["input", "dropout", "batch_normalization"]


def test_masks_are_refused():
    inputs, mask = keras.Input((4,)), keras.Input((4,), dtype="bool")
    masked = keras.Model([inputs, mask], layers.BatchNormalization(name="l")(inputs, mask=mask))
    assert "called with `mask=a tensor`" in refused(masked)
    plain = keras.Model([inputs, mask], layers.BatchNormalization(name="l")(inputs))
    never_identical(masked, plain)


def test_tensor_operations_are_read_not_skipped():
    inputs = keras.Input((4,))
    dense = layers.Dense(4, name="d")(inputs)
    shifted = keras.Model(inputs, layers.ReLU(name="r")(dense + 3.0))
    plain = keras.Model(inputs, layers.ReLU(name="r")(layers.Dense(4, name="d")(inputs)))
    found = never_identical(shifted, plain)
    assert [(c.kind, c.a) for c in found] == [("removed", "ops.add")]
    scaled = keras.Model(inputs, layers.ReLU(name="r")(layers.Dense(4, name="d")(inputs) + 2.0))
    found = never_identical(shifted, scaled)
    assert ("attribute", "y", 3.0, 2.0) in [(c.kind, c.attribute, c.a, c.b) for c in found]
    # an operation archspec has no op for is refused, never dropped
    sine = keras.Model(inputs, layers.ReLU(name="r")(keras.ops.sin(dense)))
    assert "keras.src.ops.numpy.Sin" in refused(sine)


def test_input_settings_are_compared():
    def model(**kwargs):
        inputs = keras.Input((4,), name="x", **kwargs)
        return keras.Model(inputs, layers.Dense(2, name="d")(inputs))

    found = never_identical(model(), model(dtype="float16"))
    assert ("attribute", "dtype", "default", "float16") in [
        (c.kind, c.attribute, c.a, c.b) for c in found
    ]
    found = never_identical(model(), model(batch_size=4))
    assert ("batch_size", "default", 4) in [(c.attribute, c.a, c.b) for c in found]
    assert diff(to_ir(model()), to_ir(model())).identical


def test_models_whose_call_is_not_their_graph():
    class Doubled(keras.Model):
        def call(self, inputs):
            return super().call(inputs) * 2

    inputs = keras.Input((4,))
    outputs = layers.Dense(2, name="d")(inputs)
    doubled = Doubled(inputs, outputs)
    assert "overrides `call`" in refused(doubled)
    never_identical(doubled, keras.Model(inputs, outputs))

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    subclassed = Subclassed()
    subclassed(keras.ops.ones((1, 4)))
    assert "is a subclassed model" in refused(subclassed)


def test_custom_subclass_of_a_keras_layer_is_not_that_layer():
    class Dense(layers.Dense):  # same class name as the Keras layer, other behaviour
        def call(self, x):
            return super().call(x) * 2

    inputs = keras.Input((4,))
    custom = keras.Model(inputs, Dense(2, name="d")(inputs))
    plain = keras.Model(inputs, layers.Dense(2, name="d")(inputs))
    assert "test_diff_truth" in refused(custom)
    never_identical(custom, plain)


def test_long_sequential_model_within_a_low_recursion_limit():
    """A chain of 1,200 layers imports and diffs with far fewer frames than layers."""
    n = 1_200
    model = keras.Sequential([keras.Input((4,)), *(layers.ReLU(name=f"r{k}") for k in range(n))])
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 300)
    try:
        graph = to_ir(model)
        other = to_ir(model)
        other.nodes["r600"].attrs = other.nodes["r600"].attrs.model_copy(update={"max_value": 6.0})
        result = diff(graph, other)
    finally:
        sys.setrecursionlimit(limit)
    assert len(graph) == n + 1 and graph.outputs == [f"r{n - 1}"]
    assert [(c.where, c.attribute) for c in result.changes] == [("r600", "max_value")]
