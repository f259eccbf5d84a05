"""Reshaping, normalisation, activation, merging and noise layers, each checked against Keras.

For every op, hypothesis draws attribute values and input shapes, and:

- archspec accepts the layer exactly when Keras builds it (the constructor and a call on
  symbolic inputs), and a refusal is one located error at the layer's line;
- the static output shape, trainable and non-trainable parameter counts equal Keras's;
- the compiled layer's config equals that of a Keras layer built here by hand;
- a functional model using the hand-built layer imports back to the same IR (no diff).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import layers

import archspec
from archspec.analysis.stats import analyse
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from archspec.errors import SpecError
from archspec.ops import REGISTRY

#: examples per op; ARCHSPEC_OPS_EXAMPLES=200 searches longer, with new examples each run
EXAMPLES = int(os.environ.get("ARCHSPEC_OPS_EXAMPLES", "0")) or 25
DERANDOMIZE = "ARCHSPEC_OPS_EXAMPLES" not in os.environ
SEEDS = st.none() | st.sampled_from([0, 7, 2**32 - 1])
SIZES = st.integers(1, 6)
UNKNOWN = st.none() | SIZES
#: sizes tried for an axis of unknown size when a model is run
RUN_SIZES = (3, 2, 1, 4, 6, 8)


def _shape(rank: int, unknown: bool = True) -> st.SearchStrategy[list[int | None]]:
    size = st.one_of(SIZES, SIZES, UNKNOWN) if unknown else SIZES
    return st.lists(size, min_size=rank, max_size=rank)


ANY_RANK = st.integers(1, 4).flatmap(_shape)
AXES = st.sampled_from([-1, -2, 0, 1, 2, 3, 4]) | st.sampled_from([[1, 2], [-1, 1], [2, 1], [1, 1]])
NAMES_1D = st.sampled_from(["zeros", "ones", "random_normal", "glorot_uniform", "he_normal"])
REGULARIZER = st.sampled_from(["l1", "l2"])
NOISE = st.sampled_from(
    [[None, 1], [1, None], [None, None, 1], [None, 1, None], [None, 2, None], [None, None, None, 1]]
)


def _attrs(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {k: st.just(v) if not isinstance(v, st.SearchStrategy) else v for k, v in required.items()},
        optional=optional,
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
        _attrs({"units": SIZES}, {"use_bias": st.booleans(), "activation": st.just("relu")}),
        st.integers(1, 4).flatmap(_shape).map(lambda s: [s]),
        lambda a: layers.Dense(**a),
    ),
    "reshape": (
        _attrs(
            {
                "target_shape": st.sampled_from(
                    [[-1], [-1, 2], [2, -1], [4, -1, 1], [6], [2, 3], [3, 2, 1], [1, -1, 3]]
                )
            },
            {},
        ),
        st.integers(1, 3).flatmap(_shape).map(lambda s: [s]),
        lambda a: layers.Reshape(a["target_shape"]),
    ),
    "permute": (
        _attrs({"dims": st.sampled_from([[1], [2, 1], [1, 2], [2, 1, 3], [3, 1, 2]])}, {}),
        st.integers(1, 3).flatmap(_shape).map(lambda s: [s]),
        lambda a: layers.Permute(a["dims"]),
    ),
    "repeat_vector": (
        _attrs({"n": SIZES}, {}),
        st.integers(1, 2).flatmap(_shape).map(lambda s: [s]),
        lambda a: layers.RepeatVector(a["n"]),
    ),
    "identity": (_attrs({}, {}), ANY_RANK.map(lambda s: [s]), lambda a: layers.Identity()),
    "layer_normalization": (
        _attrs({}, {"axis": AXES, "rms_scaling": st.booleans(), **NORM_ATTRS}),
        st.integers(1, 4).flatmap(_shape).map(lambda s: [s]),
        _same(layers.LayerNormalization),
    ),
    "group_normalization": (
        _attrs(
            {},
            {
                "groups": st.sampled_from([1, 2, 3, 4, 32]),
                "axis": st.sampled_from([-1, 1, 2, 0, 5]),
                **NORM_ATTRS,
            },
        ),
        st.integers(1, 3).flatmap(_shape).map(lambda s: [s]),
        _same(layers.GroupNormalization),
    ),
    "unit_normalization": (
        _attrs({}, {"axis": AXES}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.UnitNormalization),
    ),
    "softmax": (_attrs({}, {"axis": AXES}), ANY_RANK.map(lambda s: [s]), _same(layers.Softmax)),
    "leaky_relu": (
        _attrs({}, {"negative_slope": st.sampled_from([0.0, 0.3, 0.01])}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.LeakyReLU),
    ),
    "prelu": (
        _attrs(
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
        _attrs({}, {"alpha": st.sampled_from([1.0, 0.5, -1.0])}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.ELU),
    ),
    "dropout": (
        # a rate of 0 never draws the mask, so Keras would not show a wrong noise shape
        _attrs({"rate": st.sampled_from([0.1, 0.5])}, {"seed": SEEDS, "noise_shape": NOISE}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.Dropout),
    ),
    "spatial_dropout1d": (
        _attrs({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        st.integers(1, 4).flatmap(_shape).map(lambda s: [s]),
        _same(layers.SpatialDropout1D),
    ),
    "spatial_dropout2d": (
        _attrs({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        st.integers(1, 4).flatmap(_shape).map(lambda s: [s]),
        _same(layers.SpatialDropout2D),
    ),
    "spatial_dropout3d": (
        _attrs({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        st.integers(2, 5).flatmap(_shape).map(lambda s: [s]),
        _same(layers.SpatialDropout3D),
    ),
    "gaussian_noise": (
        _attrs({"stddev": st.sampled_from([0.0, 0.1, 1.0])}, {"seed": SEEDS}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.GaussianNoise),
    ),
    "gaussian_dropout": (
        _attrs({"rate": st.sampled_from([0.0, 0.5])}, {"seed": SEEDS}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.GaussianDropout),
    ),
    "alpha_dropout": (
        # a rate of 0 never draws the mask, so Keras would not show a wrong noise shape
        _attrs({"rate": st.sampled_from([0.1, 0.5])}, {"seed": SEEDS, "noise_shape": NOISE}),
        ANY_RANK.map(lambda s: [s]),
        _same(layers.AlphaDropout),
    ),
    **{
        f"{kind}{axes}d": (
            _attrs({}, {key: _edges(axes)}),
            st.integers(axes, axes + 2).flatmap(_shape).map(lambda s: [s]),
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
            _attrs(
                {"pool_size": _window(axes)} if kind == "average" else {},
                {
                    **({} if kind == "average" else {"pool_size": _window(axes)}),
                    "strides": _window(axes),
                    "padding": st.sampled_from(["valid", "same"]),
                },
            ),
            st.integers(axes, axes + 2).flatmap(_shape).map(lambda s: [s]),
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
            _attrs({}, {"keepdims": st.booleans()}),
            st.integers(axes, axes + 2).flatmap(_shape).map(lambda s: [s]),
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
        _attrs({}, {"size": st.integers(1, 3)}),
        st.integers(1, 3).flatmap(_shape).map(lambda s: [s]),
        _same(layers.UpSampling1D),
    ),
    "up_sampling2d": (
        _attrs(
            {},
            {
                "size": st.integers(1, 3) | st.lists(st.integers(1, 3), min_size=2, max_size=2),
                "interpolation": st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos5"]),
            },
        ),
        st.integers(2, 4).flatmap(_shape).map(lambda s: [s]),
        _same(layers.UpSampling2D),
    ),
    "up_sampling3d": (
        _attrs(
            {}, {"size": st.integers(1, 3) | st.lists(st.integers(1, 3), min_size=3, max_size=3)}
        ),
        st.integers(3, 5).flatmap(_shape).map(lambda s: [s]),
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
        .flatmap(_shape)
        .flatmap(lambda first: others(first).map(lambda rest: [first, *rest]))
    )


MERGES = {
    "subtract": (layers.Subtract, st.just(2)),
    "average": (layers.Average, st.integers(2, 3)),
    "maximum": (layers.Maximum, st.integers(2, 3)),
    "minimum": (layers.Minimum, st.integers(2, 3)),
}


# ---------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def folder():
    path = Path(tempfile.mkdtemp(prefix="archspec-ops-catalogue-"))
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def _load(folder: Path, doc: dict[str, Any]) -> archspec.ArchSpec:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return archspec.load(path)


def _keras_builds(make: Callable[[], Any], shapes: list[list[int | None]]) -> Any:
    """The hand-built layer's model, or None when Keras refuses the layer, the call on
    symbolic inputs, or running it on a batch of two for every size of the unknown axes."""
    inputs = [keras.Input(tuple(s)) for s in shapes]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rms_scaling is deprecated; softmax over size 1
            layer = make()
            out = layer(inputs if len(inputs) > 1 else inputs[0])
    except Exception:  # noqa: BLE001 - any refusal by Keras counts
        return None
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], out)
    rng = np.random.default_rng(0)
    for fill in _fills(shapes):
        data = [rng.standard_normal((2, *shape)).astype("float32") for shape in fill]
        try:
            model(data if len(data) > 1 else data[0], training=True)
        except Exception:  # noqa: BLE001, S112 - the next size may fit
            continue
        return model
    return None


def _fills(shapes: list[list[int | None]]) -> list[list[list[int]]]:
    """Concrete shapes: every unknown axis of one size, or the first one of a size and the
    others 1 (so a reshape into 6 values has a fill for two unknown axes)."""
    fills = []
    for size in RUN_SIZES:
        fills.append([[size if d is None else d for d in s] for s in shapes])
    for size in range(1, 7):
        first = iter([size])
        fills.append([[next(first, 1) if d is None else d for d in s] for s in shapes])
    return fills


def _config(layer: Any) -> dict[str, Any]:
    """The layer's config as a saved model holds it (JSON: tuples are lists)."""
    return json.loads(json.dumps({k: v for k, v in layer.get_config().items() if k != "name"}))


def _archspec_refuses(attrs: dict[str, Any], shape: list[int | None]) -> bool:
    """Whether ``axis`` names the batch axis, or one axis twice, or ``noise_shape`` has
    not one entry per axis: Keras may take each.

    Softmax or normalisation across the batch makes each example's output depend on the
    others in its batch, and an axis named twice is a slip; archspec refuses both.
    """
    noise = attrs.get("noise_shape")
    rank = len(shape)
    if noise is not None and len(noise) != rank + 1:
        return True  # Keras broadcasts a shorter mask; archspec asks for one entry per axis
    if noise is not None and any(
        n not in (None, 1) and d == 1 for n, d in zip(noise[1:], shape, strict=True)
    ):
        return True  # Keras broadcasts the input up to the mask: the output grows in training
    axis = attrs.get("axis")
    axes = [axis] if isinstance(axis, int) else axis or []
    if any(a in (0, -(rank + 1)) for a in axes):
        return True
    return len({a + rank + 1 if a < 0 else a for a in axes}) < len(axes)


def _check(
    folder: Path,
    doc: dict[str, Any],
    make: Callable[[], Any],
    shapes: list,
    stricter: bool = False,
) -> None:
    """``stricter``: archspec refuses the layer on purpose even if Keras builds it."""
    keras.backend.clear_session(free_memory=False)
    reference = _keras_builds(make, shapes)
    try:
        spec = _load(folder, doc)
    except SpecError as exc:
        assert reference is None or stricter, f"archspec refused what Keras builds: {exc.format()}"
        assert exc.loc is not None and exc.path and exc.path.startswith(("layers[", "graph.")), (
            exc.format()
        )
        return
    assert not stricter, f"archspec accepted what it should refuse: {doc}"
    assert reference is not None, f"archspec accepted what Keras refuses: {doc}"
    graph = spec.graph()
    hand = reference.layers[-1]
    (name,) = [n for n, node in graph.nodes.items() if node.op != "input"]
    node = graph.nodes[name]
    assert node.shape == tuple(hand.output.shape[1:])
    stats = {s.name: s for s in analyse(graph).layers}[name]
    trainable = sum(math.prod(w.shape) for w in hand.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in hand.non_trainable_weights)
    assert (stats.trainable_params, stats.non_trainable_params) == (trainable, non_trainable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = spec.build()
    assert _config(model.get_layer(name)) == _config(hand)
    assert model.get_layer(name).count_params() == hand.count_params()
    result = diff(graph, to_ir(reference))
    assert result.identical, [(c.kind, c.where, c.attribute, c.a, c.b) for c in result.changes]


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# ---------------------------------------------------------------------------- tests


@pytest.mark.parametrize("op", sorted(CASES))
def test_layer_matches_keras(folder, op):
    attrs_strategy, shapes_strategy, hand = CASES[op]

    @SETTINGS
    @given(attrs=attrs_strategy, shapes=shapes_strategy)
    def check(attrs, shapes):
        doc = {"archspec": 1, "name": "t", "input": shapes[0], "layers": [{op: attrs}]}
        stricter = _archspec_refuses(attrs, shapes[0])
        _check(folder, doc, lambda: hand(attrs), shapes, stricter)

    check()


@pytest.mark.parametrize("op", sorted(MERGES))
def test_merge_matches_keras(folder, op):
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
        _check(folder, doc, cls, shapes)

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
