"""Preprocessing layers (rescaling, normalization, resizing, center_crop) checked against Keras.

For every op, hypothesis draws attribute values and input shapes, Keras-refused ones
included, and ``check_layer`` compares archspec with the Keras layer built by hand
(acceptance, located refusals, static shape, parameter counts, config, import). The
few things Keras takes but archspec refuses on purpose are named in ``_stricter`` and
checked to still be what Keras does, so a Keras upgrade that changes them is noticed.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from keras import layers

import archspec
from archspec.ops import REGISTRY
from archspec.ops.preprocessing import Interpolation
from tests.ops_harness import (
    SETTINGS,
    archspec_refuses,
    attrs_of,
    check_layer,
    load,
    shape_of,
)

NUMBERS = st.sampled_from([1 / 255, 2.0, -0.5, 0.0, 1, 3])
VARIANCES = st.sampled_from([1.0, 0.25, 4, 0.0])
#: mostly images, since the image layers take nothing else
RANKS = st.sampled_from([3, 3, 3, 1, 2, 4])
DIMS = st.sampled_from([(), (1,), (2,), (3,), (1, 3), (2, 1), (3, 2), (1, 1, 2)])
NORM_AXES = st.sampled_from([-1, -1, 1, 2, None, [1, 2], [2, 1], [-1, 1]]) | st.sampled_from(
    [-2, 3, 0, 4, [], [1, 1], [-1, 3]]
)


def _values(dims: tuple[int, ...], numbers: st.SearchStrategy) -> st.SearchStrategy[Any]:
    """A number (no dims) or nested lists of these dims."""
    if not dims:
        return numbers
    inner = _values(dims[1:], numbers)
    return st.lists(inner, min_size=dims[0], max_size=dims[0])


@st.composite
def _rescaling(draw: st.DrawFn) -> tuple[dict[str, Any], list[int | None]]:
    """Numbers, or lists mostly as long as the channels (or as long as a likely count)."""
    shape = draw(RANKS.flatmap(shape_of))
    channels = shape[-1] or draw(st.integers(1, 4))
    per_channel = NUMBERS | st.lists(NUMBERS, min_size=1, max_size=4)
    per_channel |= st.lists(NUMBERS, min_size=channels, max_size=channels)
    return draw(attrs_of({"scale": per_channel}, {"offset": per_channel})), shape


def _kept_sizes(axis: Any, shape: list[int | None]) -> list[int | None]:
    """Sizes of the axes a normalisation keeps, in order ([] where the axis is refused)."""
    axes = [] if axis is None else [axis] if isinstance(axis, int) else axis
    indices = [a + len(shape) if a < 0 else a - 1 for a in axes]
    if len(set(indices)) < len(indices) or any(not 0 <= i < len(shape) for i in indices):
        return []
    return [shape[i] for i in sorted(indices)]


@st.composite
def _normalization(draw: st.DrawFn) -> tuple[dict[str, Any], list[int | None]]:
    """`mean` and `variance`: neither, mostly shaped to fit the kept axes, or (now and
    then) of any shape, mismatched, or one of the two alone."""
    # a kept axis of unknown size is refused: half the inputs have known sizes only
    unknown = draw(st.booleans())
    shape = draw(st.integers(1, 3).flatmap(lambda rank: shape_of(rank, unknown)))
    attrs = draw(attrs_of({}, {"axis": NORM_AXES, "invert": st.booleans()}))
    form = draw(st.sampled_from(["neither", "fits", "fits", "fits", "any", "mismatched", "one"]))
    if form == "neither":
        return attrs, shape
    kept = _kept_sizes(attrs.get("axis", -1), shape)
    if form == "fits":
        last = kept[len(kept) - draw(st.integers(0, len(kept))) :]
        dims = tuple(draw(st.sampled_from([1, size or 2])) for size in last)
    else:
        dims = draw(DIMS)
    mean = draw(_values(dims, NUMBERS))
    if form == "one":
        return {**attrs, draw(st.sampled_from(["mean", "variance"])): mean}, shape
    # now and then a variance Keras gives NaN for
    negative = draw(st.sampled_from([False] * 9 + [True]))
    other = draw(DIMS) if form == "mismatched" else dims
    variance = draw(_values(other, st.just(-1.0) if negative else VARIANCES))
    return {**attrs, "mean": mean, "variance": variance}, shape


IMAGE_SIZE = {"height": st.integers(1, 8), "width": st.integers(1, 8)}
RESIZING_ATTRS = {
    "interpolation": st.sampled_from([*typing.get_args(Interpolation), "gaussian"]),
    "crop_to_aspect_ratio": st.booleans(),
    "pad_to_aspect_ratio": st.booleans(),
    "fill_mode": st.sampled_from(["constant", "constant", "reflect"]),
    "fill_value": st.sampled_from([0.0, 1.5, -1]),
    "antialias": st.booleans(),
}
IMAGES = RANKS.flatmap(shape_of)

#: op -> (strategy of (attributes, input shape), the Keras layer class built by hand)
CASES: dict[str, tuple[st.SearchStrategy, Callable[..., Any]]] = {
    "rescaling": (_rescaling(), layers.Rescaling),
    "normalization": (_normalization(), layers.Normalization),
    "resizing": (st.tuples(attrs_of(IMAGE_SIZE, RESIZING_ATTRS), IMAGES), layers.Resizing),
    "center_crop": (st.tuples(attrs_of(IMAGE_SIZE, {}), IMAGES), layers.CenterCrop),
}


def _stricter(op: str, attrs: dict[str, Any], shape: list[int | None]) -> bool:
    """Whether archspec refuses on purpose what Keras may build and run (see the module).

    A per-channel list on one channel widens the output past Keras's declared shape; a
    2-D input to an image layer loses its batch size; a negative variance gives NaN; an
    axis named twice is a slip.
    """
    if op == "rescaling":
        lists = [v for v in attrs.values() if isinstance(v, list) and len(v) > 1]
        return bool(lists) and shape[-1] == 1
    if op == "normalization":
        variance = np.asarray(attrs.get("variance", 0.0), dtype=float)
        return archspec_refuses(attrs, shape) or bool((variance < 0).any())
    return len(shape) == 2


def _check(folder, op: str, attrs: dict[str, Any], shape: list[int | None]) -> None:
    doc = {"archspec": 1, "name": "t", "input": shape, "layers": [{op: attrs}]}
    cls = CASES[op][1]
    stricter = _stricter(op, attrs, shape)
    check_layer(folder, doc, lambda: cls(**attrs), [shape], stricter)


# ---------------------------------------------------------------------------- generated


@pytest.mark.parametrize("op", sorted(CASES))
def test_layer_matches_keras(ops_folder, op):
    @SETTINGS
    @given(case=CASES[op][0])
    def check(case):
        _check(ops_folder, op, *case)

    check()


#: cases each worth a check on every run, whatever hypothesis draws
NAMED = [
    ("rescaling", {"scale": 1 / 255}, [4, 4, 3]),
    ("rescaling", {"scale": [0.5, 1, 2], "offset": -1}, [4, 4, 3]),
    ("rescaling", {"scale": [0.5, 1, 2]}, [4, 4, None]),
    ("rescaling", {"scale": [0.5]}, [4, 4, 3]),
    ("rescaling", {"scale": [0.5, 1, 2]}, [4, 4, 1]),  # Keras widens the output
    ("rescaling", {"scale": [0.5, 1, 2]}, [4, 4, 2]),
    ("rescaling", {"scale": [1, 2, 3], "offset": [1, 2]}, [4, 4, None]),
    ("normalization", {}, [4, 5, 3]),
    ("normalization", {"axis": [2, 1]}, [4, 5, 3]),
    ("normalization", {"axis": [-1, 1]}, [4, 5, 3]),
    ("normalization", {"axis": None}, [None, None, None]),
    ("normalization", {"axis": []}, [4, 5, 3]),
    ("normalization", {}, [4, 5, None]),
    ("normalization", {"mean": [1, 2, 3], "variance": [1, 4, 9], "invert": True}, [4, 5, 3]),
    ("normalization", {"mean": [1, 2, 3], "variance": [1, 4, 9]}, [4, 5, 1]),
    ("normalization", {"axis": [1, 2], "mean": [[1], [2]], "variance": [[1], [4]]}, [2, 5, 3]),
    ("normalization", {"axis": [1, 2], "mean": [1, 2], "variance": [1, 4]}, [5, 2, 3]),
    ("normalization", {"axis": None, "mean": 2, "variance": 4}, [None, 5]),
    ("normalization", {"axis": [1, 1], "mean": [1, 2], "variance": [1, 1]}, [2, 3]),
    ("normalization", {"mean": 1, "variance": -1}, [3]),
    ("normalization", {"mean": [1, 2], "variance": 1}, [2]),
    ("normalization", {"mean": [[1, 2]], "variance": [[1, 2]]}, [2]),
    ("normalization", {"axis": 0}, [2, 3]),
    ("resizing", {"height": 2, "width": 7}, [5, 6, 3]),
    ("resizing", {"height": 2, "width": 7, "crop_to_aspect_ratio": True}, [None, None, 3]),
    (
        "resizing",
        {"height": 2, "width": 7, "pad_to_aspect_ratio": True, "fill_value": 1},
        [1, 1, 1],
    ),
    ("resizing", {"height": 2, "width": 3, "interpolation": "area", "antialias": True}, [5, 6, 2]),
    ("resizing", {"height": 2, "width": 3}, [5, 6]),  # Keras replaces the batch size
    ("resizing", {"height": 2, "width": 3}, [5]),
    ("resizing", {"height": 2, "width": 3}, [2, 5, 6, 3]),
    ("center_crop", {"height": 2, "width": 3}, [5, 6, 3]),
    ("center_crop", {"height": 8, "width": 9}, [5, 6, 3]),  # larger: Keras resizes
    ("center_crop", {"height": 8, "width": 4}, [5, 6, None]),
    ("center_crop", {"height": 8, "width": 9}, [None, None, 3]),
    ("center_crop", {"height": 2, "width": 3}, [5, 6]),
]


@pytest.mark.parametrize(("op", "attrs", "shape"), NAMED, ids=str)
def test_named_case_matches_keras(ops_folder, op, attrs, shape):
    _check(ops_folder, op, attrs, shape)


# ---------------------------------------------------------------------------- outputs


def test_outputs_equal_the_hand_built_layers(tmp_path):
    """Given statistics and rescaling compute what the Keras layers built by hand compute."""
    doc = {
        "archspec": 1,
        "name": "t",
        "input": [4, 5, 3],
        "layers": [
            {"rescaling": {"scale": 1 / 255, "offset": -0.5}},
            {"rescaling": [0.5, 2, -1]},
            {"normalization": {"mean": [0.1, -0.2, 0.3], "variance": [0.5, 2, 1]}},
            {
                "normalization": {
                    "axis": [1, 2],
                    "mean": [[1], [2], [3], [4]],
                    "variance": [[0.25], [1], [4], [9]],
                }
            },
            {"normalization": {"axis": None, "mean": 0.5, "variance": 4, "invert": True}},
        ],
    }
    model = load(tmp_path, doc).build()
    x = keras.Input((4, 5, 3))
    y = x
    for step in doc["layers"]:
        ((op, attrs),) = step.items()
        attrs = attrs if isinstance(attrs, dict) else {"scale": attrs}
        y = {"rescaling": layers.Rescaling, "normalization": layers.Normalization}[op](**attrs)(y)
    hand = keras.Model(x, y)
    data = np.random.default_rng(3).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(model(data)), np.asarray(hand(data)), rtol=1e-6, atol=1e-6
    )


def test_a_scale_of_one_over_255_reads_back_exactly(tmp_path):
    """Keras keeps the Python float it is given: no float32 rounding in the config."""
    text = "archspec: 1\nname: t\ninput: [4, 4, 3]\nlayers:\n  - rescaling: $1/255\n"
    (tmp_path / "s.yaml").write_text(text)
    model = archspec.load(tmp_path / "s.yaml").build()
    assert model.layers[-1].get_config()["scale"] == 1 / 255


# ---------------------------------------------------------------------------- canonical forms


def _canonical(op: str, rank: int, **attrs: Any) -> dict[str, object]:
    return REGISTRY.get(op).attrs.model_validate(attrs).canonical(rank)


def test_canonical_forms_equal_where_keras_computes_alike():
    assert _canonical("normalization", 3) == _canonical("normalization", 3, axis=[3])
    assert _canonical("normalization", 3, axis=[-1, 1]) == _canonical(
        "normalization", 3, axis=[3, 1]
    )
    none = _canonical("normalization", 3, axis=None)
    assert (
        none == _canonical("normalization", 3, axis=[]) == _canonical("normalization", 3, axis=())
    )
    one = _canonical("normalization", 3, mean=2, variance=1)
    assert one == _canonical("normalization", 3, mean=[2.0], variance=[1])
    assert _canonical("rescaling", 3, scale=[0.5]) == _canonical("rescaling", 3, scale=0.5)
    assert _canonical("rescaling", 3, scale=1) == _canonical("rescaling", 3, scale=1.0, offset=0)
    assert _canonical("rescaling", 3, scale=[1, 2]) != _canonical("rescaling", 3, scale=[2, 1])


def test_keras_config_values_read_back():
    """What Keras's configs hold (axis as a tuple, () for None) validates and rebuilds alike."""
    for kwargs in ({}, {"axis": None}, {"axis": (2, 1)}, {"mean": (1, 2), "variance": [1, 2]}):
        layer = layers.Normalization(**kwargs)
        config = layer.get_config()
        op = REGISTRY.get("normalization")
        attrs = op.attrs.model_validate({k: config[k] for k in op.attrs.model_fields})
        again = layers.Normalization(**op.keras_kwargs(attrs)).get_config()
        assert {**again, "name": None} == {**config, "name": None}


# ---------------------------------------------------------------------------- Keras's own ways


def _run(layer: Any, shape: tuple[int, ...]) -> tuple[tuple, tuple]:
    """(declared output shape, shape of the output on a batch of two) of a one-layer model."""
    x = keras.Input(shape)
    model = keras.Model(x, layer(x))
    out = model(np.ones((2, *shape), "float32"))
    return tuple(model.output.shape), tuple(out.shape)


def test_keras_still_widens_a_single_channel_to_a_per_channel_scale():
    assert _run(layers.Rescaling([1.0, 2.0, 3.0]), (4, 4, 1)) == ((None, 4, 4, 1), (2, 4, 4, 3))


@pytest.mark.parametrize("cls", [layers.Resizing, layers.CenterCrop])
def test_keras_still_reads_a_2d_input_batch_axis_as_the_height(cls):
    assert _run(cls(2, 3), (5, 6)) == ((2, 3, 6), (2, 3, 6))


def test_keras_center_crop_still_resizes_an_image_smaller_than_the_crop():
    assert _run(layers.CenterCrop(8, 9), (5, 6, 3)) == ((None, 8, 9, 3), (2, 8, 9, 3))


def test_keras_still_gives_nan_for_a_negative_variance():
    layer = layers.Normalization(mean=0.0, variance=-1.0)
    assert np.isnan(np.asarray(layer(np.ones((2, 3), "float32")))).all()


def test_the_interpolations_are_those_tensorflow_resizes_with():
    from keras.src.backend.tensorflow.image import RESIZE_INTERPOLATIONS

    assert set(typing.get_args(Interpolation)) == set(RESIZE_INTERPOLATIONS)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [({}, (4, 5, 3)), ({"axis": [2, 1]}, (4, 5, 3)), ({"axis": None}, (4, 5, 3)),
     ({"axis": [-1, 1]}, (4, 5, 3)), ({"mean": 1, "variance": 2}, (4, 5, 3))],
    ids=str,
)  # fmt: skip
def test_normalization_weights_are_those_keras_creates(kwargs, shape):
    """Names, shapes and order, the scalar integer `count` included (it counts as one)."""
    layer = layers.Normalization(**kwargs)
    layer.build((None, *shape))
    op = REGISTRY.get("normalization")
    attrs = op.attrs.model_validate(kwargs)
    ours = op.weights(attrs, [shape], shape)
    assert [(w.name, w.shape) for w in ours] == [
        (w.path.rsplit("/", 1)[-1], tuple(w.shape)) for w in layer.weights
    ]
    assert op.params(attrs, [shape], shape) == (0, layer.count_params())


def test_every_op_here_is_checked():
    assert set(CASES) <= set(REGISTRY.names())
    assert {"rescale", "resize"} <= set(REGISTRY.names())
    assert {op for op, _, _ in NAMED} == set(CASES)
