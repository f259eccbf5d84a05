"""Reshaping, normalisation, activation, merging and noise layers, each checked against Keras.

For every op, hypothesis draws attribute values and input shapes, and:

- archspec accepts the layer exactly when Keras builds it (the constructor and a call on
  symbolic inputs), and a refusal is one located error at the layer's line;
- the static output shape, trainable and non-trainable parameter counts equal Keras's;
- the compiled layer's config equals that of a Keras layer built here by hand;
- a functional model using the hand-built layer imports back to the same IR (no diff).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from keras import layers

from archspec.ops import REGISTRY
from tests.ops_harness import (
    ANY_RANK,
    AXES,
    NAMES_1D,
    NOISE,
    REGULARIZER,
    SEEDS,
    SETTINGS,
    SIZES,
    archspec_refuses,
    attrs_of,
    check_layer,
    check_op,
    shape_of,
)


def _same(cls: Callable[..., Any]) -> Callable[[dict[str, Any]], Any]:
    """The hand-built layer: the Keras class with the test's keyword arguments."""
    return lambda kwargs: cls(**kwargs)


def _edges(axes: int) -> st.SearchStrategy[Any]:
    """Padding or cropping: one number, one per axis (a pair for one axis), or pairs."""
    sizes = st.integers(0, 3)
    pairs = st.lists(st.lists(sizes, min_size=2, max_size=2), min_size=axes, max_size=axes)
    return sizes | st.lists(sizes, min_size=max(axes, 2), max_size=max(axes, 2)) | pairs


def _window(axes: int) -> st.SearchStrategy[Any]:
    """A pooling window or stride: one number for every axis, or one per axis."""
    sizes = st.integers(1, 4)
    return sizes | st.lists(sizes, min_size=axes, max_size=axes)


NORM_ATTRS = {
    "epsilon": st.sampled_from([1e-3, 1e-5, 0.5]),
    "center": st.booleans(),
    "scale": st.booleans(),
    "beta_initializer": NAMES_1D,
    "gamma_initializer": NAMES_1D,
    "beta_regularizer": REGULARIZER,
    "gamma_regularizer": REGULARIZER,
}

#: op -> (attribute strategy, input shapes strategy, the Keras layer built by hand)
CASES: dict[str, tuple[st.SearchStrategy, st.SearchStrategy, Callable]] = {
    "dense": (
        attrs_of({"units": SIZES}, {"use_bias": st.booleans(), "activation": st.just("relu")}),
        st.integers(1, 4).flatmap(shape_of).map(lambda s: [s]),
        lambda a: layers.Dense(**a),
    ),
    "reshape": (
        attrs_of(
            {
                "target_shape": st.sampled_from(
                    [[-1], [-1, 2], [2, -1], [4, -1, 1], [6], [2, 3], [3, 2, 1], [1, -1, 3]]
                )
            },
            {},
        ),
        st.integers(1, 3).flatmap(shape_of).map(lambda s: [s]),
        lambda a: layers.Reshape(a["target_shape"]),
    ),
    "permute": (
        attrs_of({"dims": st.sampled_from([[1], [2, 1], [1, 2], [2, 1, 3], [3, 1, 2]])}, {}),
        st.integers(1, 3).flatmap(shape_of).map(lambda s: [s]),
        lambda a: layers.Permute(a["dims"]),
    ),
    "repeat_vector": (
        attrs_of({"n": SIZES}, {}),
        st.integers(1, 2).flatmap(shape_of).map(lambda s: [s]),
        lambda a: layers.RepeatVector(a["n"]),
    ),
    "identity": (attrs_of({}, {}), ANY_RANK.map(lambda s: [s]), lambda a: layers.Identity()),
    "layer_normalization": (
        attrs_of({}, {"axis": AXES, "rms_scaling": st.booleans(), **NORM_ATTRS}),
        st.integers(1, 4).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.LayerNormalization),
    ),
    "group_normalization": (
        attrs_of(
            {},
            {
                "groups": st.sampled_from([1, 2, 3, 4, 32]),
                "axis": st.sampled_from([-1, 1, 2, 0, 5]),
                **NORM_ATTRS,
            },
        ),
        st.integers(1, 3).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.GroupNormalization),
    ),
    "unit_normalization": (
        attrs_of({}, {"axis": AXES}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.UnitNormalization),
    ),
    "softmax": (attrs_of({}, {"axis": AXES}), ANY_RANK.map(lambda s: [s]), _same(layers.Softmax)),
    "leaky_relu": (
        attrs_of({}, {"negative_slope": st.sampled_from([0.0, 0.3, 0.01])}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.LeakyReLU),
    ),
    "prelu": (
        attrs_of(
            {},
            {
                "shared_axes": st.sampled_from([1, 2, [1, 2], [2, 1], [3], [4]]),
                "alpha_initializer": NAMES_1D,
                "alpha_regularizer": REGULARIZER,
            },
        ),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.PReLU),
    ),
    "elu": (
        attrs_of({}, {"alpha": st.sampled_from([1.0, 0.5, -1.0])}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.ELU),
    ),
    "dropout": (
        # a rate of 0 never draws the mask, so Keras would not show a wrong noise shape
        attrs_of({"rate": st.sampled_from([0.1, 0.5])}, {"seed": SEEDS, "noise_shape": NOISE}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.Dropout),
    ),
    "spatial_dropout1d": (
        attrs_of({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        st.integers(1, 4).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.SpatialDropout1D),
    ),
    "spatial_dropout2d": (
        attrs_of({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        st.integers(1, 4).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.SpatialDropout2D),
    ),
    "spatial_dropout3d": (
        attrs_of({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        st.integers(2, 5).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.SpatialDropout3D),
    ),
    "gaussian_noise": (
        attrs_of({"stddev": st.sampled_from([0.0, 0.1, 1.0])}, {"seed": SEEDS}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.GaussianNoise),
    ),
    "gaussian_dropout": (
        attrs_of({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.GaussianDropout),
    ),
    "alpha_dropout": (
        # a rate of 0 never draws the mask, so Keras would not show a wrong noise shape
        attrs_of({"rate": st.sampled_from([0.1, 0.5])}, {"seed": SEEDS, "noise_shape": NOISE}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.AlphaDropout),
    ),
    **{
        f"{kind}{axes}d": (
            attrs_of({}, {key: _edges(axes)}),
            st.integers(axes, axes + 2).flatmap(shape_of).map(lambda s: [s]),
            _same(cls),
        )
        for kind, key, axes, cls in (
            ("zero_padding", "padding", 1, layers.ZeroPadding1D),
            ("zero_padding", "padding", 3, layers.ZeroPadding3D),
            ("cropping", "cropping", 1, layers.Cropping1D),
            ("cropping", "cropping", 2, layers.Cropping2D),
            ("cropping", "cropping", 3, layers.Cropping3D),
        )
    },
    **{
        f"{kind}_pooling{axes}d": (
            attrs_of(
                {"pool_size": _window(axes)} if kind == "average" else {},
                {
                    **({} if kind == "average" else {"pool_size": _window(axes)}),
                    "strides": _window(axes),
                    "padding": st.sampled_from(["valid", "same"]),
                },
            ),
            st.integers(axes, axes + 2).flatmap(shape_of).map(lambda s: [s]),
            _same(cls),
        )
        for kind, axes, cls in (
            ("max", 1, layers.MaxPooling1D),
            ("average", 1, layers.AveragePooling1D),
            ("max", 3, layers.MaxPooling3D),
            ("average", 3, layers.AveragePooling3D),
        )
    },
    **{
        f"global_{kind}_pooling{axes}d": (
            attrs_of({}, {"keepdims": st.booleans()}),
            st.integers(axes, axes + 2).flatmap(shape_of).map(lambda s: [s]),
            _same(cls),
        )
        for kind, axes, cls in (
            ("average", 1, layers.GlobalAveragePooling1D),
            ("max", 1, layers.GlobalMaxPooling1D),
            ("average", 3, layers.GlobalAveragePooling3D),
            ("max", 3, layers.GlobalMaxPooling3D),
        )
    },
    "up_sampling1d": (
        attrs_of({}, {"size": st.integers(1, 3)}),
        st.integers(1, 3).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.UpSampling1D),
    ),
    "up_sampling2d": (
        attrs_of(
            {},
            {
                "size": st.integers(1, 3) | st.lists(st.integers(1, 3), min_size=2, max_size=2),
                "interpolation": st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos5"]),
            },
        ),
        st.integers(2, 4).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.UpSampling2D),
    ),
    "up_sampling3d": (
        attrs_of(
            {}, {"size": st.integers(1, 3) | st.lists(st.integers(1, 3), min_size=3, max_size=3)}
        ),
        st.integers(3, 5).flatmap(shape_of).map(lambda s: [s]),
        _same(layers.UpSampling3D),
    ),
}


def _merge_shapes(count: int) -> st.SearchStrategy[list[list[int | None]]]:
    """Inputs that mostly agree, sometimes with a size 1 that broadcasts or a mismatch."""

    def others(first: list[int | None]) -> st.SearchStrategy:
        one = st.lists(
            st.sampled_from(first) if first else st.just(1),
            min_size=len(first),
            max_size=len(first),
        )
        similar = st.tuples(*(st.sampled_from([d, d, 1, None, 3]) for d in first)).map(list)
        return st.lists(st.just(first) | similar | one, min_size=count - 1, max_size=count - 1)

    return (
        st.integers(1, 3)
        .flatmap(shape_of)
        .flatmap(lambda first: others(first).map(lambda rest: [first, *rest]))
    )


MERGES = {
    "subtract": (layers.Subtract, st.just(2)),
    "average": (layers.Average, st.integers(2, 3)),
    "maximum": (layers.Maximum, st.integers(2, 3)),
    "minimum": (layers.Minimum, st.integers(2, 3)),
}


# ---------------------------------------------------------------------------- tests


@pytest.mark.parametrize("op", sorted(CASES))
def test_layer_matches_keras(ops_folder, op):
    check_op(ops_folder, op, CASES[op], archspec_refuses)


@pytest.mark.parametrize("op", sorted(MERGES))
def test_merge_matches_keras(ops_folder, op):
    cls, counts = MERGES[op]

    @SETTINGS
    @given(shapes=counts.flatmap(_merge_shapes))
    def check(shapes):
        names = [f"x{i}" for i in range(len(shapes))]
        doc = {
            "archspec": 1,
            "name": "t",
            "inputs": dict(zip(names, shapes, strict=True)),
            "graph": {"out": [{op: names}]},
        }
        check_layer(ops_folder, doc, cls, shapes)

    check()


def test_every_op_here_is_checked():
    new = {
        "reshape", "permute", "repeat_vector", "identity", "layer_normalization",
        "group_normalization", "unit_normalization", "softmax", "leaky_relu", "prelu", "elu",
        "subtract", "average", "maximum", "minimum", "spatial_dropout1d", "spatial_dropout2d",
        "spatial_dropout3d", "gaussian_noise", "gaussian_dropout", "alpha_dropout",
        "zero_padding1d", "zero_padding3d", "cropping1d", "cropping2d", "cropping3d",
        "up_sampling1d", "up_sampling2d", "up_sampling3d", "max_pooling1d",
        "average_pooling1d", "max_pooling3d", "average_pooling3d", "global_average_pooling1d",
        "global_max_pooling1d", "global_average_pooling3d", "global_max_pooling3d",
    }  # fmt: skip
    assert new <= set(REGISTRY.names())
    assert new <= set(CASES) | set(MERGES)
