"""Tensor arithmetic and keras.applications' own layers, each checked against Keras.

The reference is written as a person writes it in Keras: Python operators and
``keras.ops`` calls on symbolic tensors, and the keras.applications layer classes.
Hypothesis draws operands (numbers, the step before, other nodes in either order) and
shapes, including ones that cannot be broadcast; archspec must accept exactly what
Keras builds and runs, and its node must equal the one Keras recorded (see
tests/ops_harness.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import keras
import pytest
from hypothesis import given
from hypothesis import strategies as st
from keras.src.applications.convnext import LayerScale, StochasticDepth
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

from archspec.ops import REGISTRY
from tests.ops_harness import SETTINGS, SIZES, check_layer, shape_of

#: op -> how a person writes it in Keras, on two operands
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "ops.add": operator.add,
    "ops.subtract": operator.sub,
    "ops.multiply": operator.mul,
    "ops.true_divide": operator.truediv,
    "ops.divide": keras.ops.divide,
    "ops.power": keras.ops.power,
    "ops.maximum": keras.ops.maximum,
    "ops.minimum": keras.ops.minimum,
}
UNARY: dict[str, Callable[[Any], Any]] = {
    "ops.negative": operator.neg,
    "ops.absolute": keras.ops.abs,
    "ops.square": keras.ops.square,
    "ops.sqrt": keras.ops.sqrt,
    "ops.exp": keras.ops.exp,
    "ops.log": keras.ops.log,
    "ops.tanh": keras.ops.tanh,
}
REDUCE: dict[str, Callable[..., Any]] = {
    "ops.mean": keras.ops.mean,
    "ops.sum": keras.ops.sum,
    "ops.max": keras.ops.max,
}
NUMBERS = st.sampled_from([3.0, 1.0 / 6.0, 2, -1.5, 0.5])


def _similar(first: list[int | None]) -> st.SearchStrategy[list[int | None]]:
    """A second shape that broadcasts with ``first``, or nearly: sizes agree, are 1 or
    unknown, or differ; sometimes another number of axes."""
    same_rank = st.tuples(*(st.sampled_from([d, d, 1, None, 5]) for d in first)).map(list)
    return same_rank | st.integers(1, 3).flatmap(shape_of)


TWO_SHAPES = (
    st.integers(1, 3).flatmap(shape_of).flatmap(lambda a: _similar(a).map(lambda b: [a, b]))
)


def _one_input(op: str, attrs: Any, shape: list[int | None]) -> dict[str, Any]:
    return {"archspec": 1, "name": "t", "input": shape, "layers": [{op: attrs}]}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_with_a_number_matches_keras(ops_folder, op):
    fn = BINARY[op]

    @SETTINGS
    @given(shape=st.integers(1, 3).flatmap(shape_of), number=NUMBERS, first=st.booleans())
    def check(shape, number, first):
        attrs = {"x": number} if first else number  # the shorthand is `y`
        make = (lambda: lambda t: fn(number, t)) if first else (lambda: lambda t: fn(t, number))
        check_layer(ops_folder, _one_input(op, attrs, shape), make, [shape])

    check()


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_on_two_nodes_matches_keras(ops_folder, op):
    fn = BINARY[op]

    @SETTINGS
    @given(shapes=TWO_SHAPES, named=st.sampled_from(["x", "y"]))
    def check(shapes, named):
        # the branch starts from `a`; the other operand names `b`
        doc = {
            "archspec": 1,
            "name": "t",
            "inputs": {"a": shapes[0], "b": shapes[1]},
            "graph": {"out": {"from": "a", "layers": [{op: {named: "b"}}]}},
        }
        if named == "y":
            make = lambda: lambda ts: fn(ts[0], ts[1])  # noqa: E731
        else:
            make = lambda: lambda ts: fn(ts[1], ts[0])  # noqa: E731
        # Keras lines a shorter shape's batch axis up with an axis of the longer one
        stricter = len(shapes[0]) != len(shapes[1])
        check_layer(ops_folder, doc, make, shapes, stricter)

    check()


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_op_matches_keras(ops_folder, op):
    fn = UNARY[op]

    @SETTINGS
    @given(shape=st.integers(1, 3).flatmap(shape_of))
    def check(shape):
        check_layer(ops_folder, _one_input(op, None, shape), lambda: fn, [shape])

    check()


AXES = st.sampled_from([1, 2, -1, 0, 3, -4]) | st.sampled_from([[1, 2], [2, 1], [1, 1], [-1, 1]])


@pytest.mark.parametrize("op", sorted(REDUCE))
def test_reduction_matches_keras(ops_folder, op):
    fn = REDUCE[op]

    @SETTINGS
    @given(shape=st.integers(1, 3).flatmap(shape_of), axis=AXES, keepdims=st.booleans())
    def check(shape, axis, keepdims):
        doc = _one_input(op, {"axis": axis, "keepdims": keepdims}, shape)
        axes = [axis] if isinstance(axis, int) else axis
        rank = len(shape) + 1
        normal = [a + rank if a < 0 else a for a in axes]
        # the batch axis, or an axis named twice: archspec refuses what Keras may take
        stricter = 0 in normal or len(set(normal)) < len(normal)
        check_layer(
            ops_folder,
            doc,
            lambda: lambda t: fn(t, axis=axis, keepdims=keepdims),
            [shape],
            stricter,
        )

    check()


def test_layer_scale_matches_keras(ops_folder):
    @SETTINGS
    @given(
        shape=st.integers(1, 3).flatmap(shape_of),
        dim=SIZES,
        init=st.sampled_from([1e-6, 0.1, 1.0]),
    )
    def check(shape, dim, init):
        attrs = {"init_values": init, "projection_dim": dim}
        # Keras broadcasts a last axis of 1 (or an unknown one) up to the factors
        stricter = shape[-1] != dim
        check_layer(
            ops_folder,
            _one_input("layer_scale", attrs, shape),
            lambda: LayerScale(**attrs),
            [shape],
            stricter,
        )

    check()


def test_stochastic_depth_matches_keras(ops_folder):
    @SETTINGS
    @given(shape=st.integers(1, 3).flatmap(shape_of), rate=st.sampled_from([0.0, 0.1, 0.5]))
    def check(shape, rate):
        doc = _one_input("stochastic_depth", rate, shape)
        check_layer(ops_folder, doc, lambda: StochasticDepth(rate), [shape])

    check()


def test_scaled_residual_matches_keras(ops_folder):
    @SETTINGS
    @given(shapes=TWO_SHAPES, scale=st.sampled_from([0.17, 0.1, 1.0]))
    def check(shapes, scale):
        doc = {
            "archspec": 1,
            "name": "t",
            "inputs": {"a": shapes[0], "b": shapes[1]},
            "graph": {"out": [{"scaled_residual": {"inputs": ["a", "b"], "scale": scale}}]},
        }
        stricter = len(shapes[0]) != len(shapes[1])
        check_layer(ops_folder, doc, lambda: CustomScaleLayer(scale), shapes, stricter)

    check()


def test_both_operands_numbers_or_none_are_refused(tmp_path):
    from archspec.errors import SpecError
    from tests.ops_harness import load

    for attrs, wanted in (
        ({"x": 1.0, "y": 2.0}, "both operands are numbers"),
        ({}, "give the other operand"),
    ):
        with pytest.raises(SpecError, match=wanted) as info:
            load(tmp_path, _one_input("ops.add", attrs, [3]))
        assert info.value.loc is not None and info.value.path == "layers[0]"


def test_every_arithmetic_op_here_is_checked():
    ops = {op.name for op in REGISTRY.ops() if op.keras_module == "keras.src.ops.numpy"}
    assert ops == set(BINARY) | set(UNARY) | set(REDUCE)
