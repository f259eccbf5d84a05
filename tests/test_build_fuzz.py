"""Differential fuzzing: whatever validates builds, runs, and has the static figures Keras has.

Hypothesis writes small specs over every op of the registry and awkward attribute values
(groups, dilation with strides, unequal strides, windows as large as their input, unknown
sizes, every activation name, seeds, regularizers, merges across branches). For each:

- loading either raises :class:`SpecError` or gives a graph;
- a graph builds into a Keras model, which runs on a batch of two in inference and in
  training mode;
- for every layer, the static output shape, trainable and non-trainable parameter counts
  and weight shapes (the registry's rules, through :func:`analyse`) equal Keras's.

The suite runs a fixed set of 600 examples (derandomised). A longer search, with new
examples on each run:

    ARCHSPEC_FUZZ_EXAMPLES=5000 python -m pytest tests/test_build_fuzz.py

TensorFlow's oneDNN CPU kernels accept a few layers its reference and GPU kernels refuse
(depthwise convolutions with unequal strides); ``TF_ENABLE_ONEDNN_OPTS=0`` in front of that
command runs the models on the stricter kernels.
"""

from __future__ import annotations

import math
import os
import tempfile
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import archspec
from archspec.analysis.stats import analyse
from archspec.errors import SpecError
from archspec.ops import REGISTRY
from archspec.ops.layers import (
    MAX_KERNEL_SPAN,
    REFUSED_ACTIVATIONS,
    ActivationName,
    InitializerName,
)
from tests.helpers import weight_names

#: a longer search, when asked for, draws new examples on every run
EXAMPLES = int(os.environ.get("ARCHSPEC_FUZZ_EXAMPLES", "0")) or 600
DERANDOMIZE = "ARCHSPEC_FUZZ_EXAMPLES" not in os.environ
#: sizes tried first, in order, for an input axis the spec leaves unknown when the model
#: is run (then the sizes the inputs know, for merges with a known input)
RUN_SIZES = (16, 8, 5, 32)

ACTIVATIONS = sorted([*typing.get_args(typing.get_args(ActivationName)[0]), *REFUSED_ACTIVATIONS])


def _maybe_pair(values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    return values | st.lists(values, min_size=2, max_size=2)


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy:
    """``common`` values, and one time in ten a ``rare`` one (near a limit)."""
    return st.integers(1, 10).flatmap(lambda i: rare if i == 1 else common)


SMALL = st.integers(1, 8)
PADS = _mostly(st.integers(0, 3), st.sampled_from([40_000]))
SPANS = st.sampled_from([MAX_KERNEL_SPAN - 1, MAX_KERNEL_SPAN, MAX_KERNEL_SPAN + 1])
REGULARIZERS = st.sampled_from(
    ["l1", "l2", "l1_l2", {}, {"l2": 1.0e-4}, {"l1": 0.0, "l2": 0.5}, {"l1": 0.01}, {"l3": 1}]
)


def _edges(axes: int) -> st.SearchStrategy[Any]:
    """Padding or cropping: one number, one per axis (a pair for one axis), or pairs."""
    sizes = st.integers(0, 3)
    pairs = st.lists(st.lists(sizes, min_size=2, max_size=2), min_size=axes, max_size=axes)
    return sizes | st.lists(sizes, min_size=max(axes, 2), max_size=max(axes, 2)) | pairs


#: values tried for each attribute, by name; refused values are mixed in on purpose
ATTRIBUTES: dict[str, st.SearchStrategy[Any]] = {
    "filters": SMALL,
    "units": SMALL,
    "kernel_size": _maybe_pair(_mostly(st.integers(1, 5), SPANS)),
    "strides": _maybe_pair(st.integers(1, 3)),
    "padding": st.sampled_from(["valid", "same"]),
    "dilation_rate": _maybe_pair(_mostly(st.integers(1, 3), st.sampled_from([32, 64]))),
    "groups": st.integers(1, 4),
    "depth_multiplier": st.integers(1, 3),
    "activation": st.sampled_from(ACTIVATIONS),
    "use_bias": st.booleans(),
    **dict.fromkeys(
        [f"{weight}_initializer" for weight in ("kernel", "bias", "depthwise", "pointwise")],
        st.sampled_from(typing.get_args(InitializerName)),
    ),
    **dict.fromkeys(["kernel_regularizer", "bias_regularizer"], REGULARIZERS),
    "axis": st.sampled_from([-1, -2, 0, 1, 2, 3]),
    "momentum": st.floats(0, 1),
    "epsilon": st.sampled_from([1e-3, 1.001e-5, 0.5]),
    "center": st.booleans(),
    "scale": st.booleans(),
    "max_value": st.sampled_from([0.0, 1.0, 6.0]),
    "negative_slope": st.sampled_from([0.0, 0.1]),
    "threshold": st.sampled_from([-1.0, 0.0, 0.5]),
    "pool_size": _maybe_pair(st.integers(1, 18)),  # up to larger than any input
    "keepdims": st.booleans(),
    "rate": st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    "seed": st.sampled_from([0, 7, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, -1]),
    "target_shape": st.sampled_from([[-1], [-1, 2], [2, -1], [4, -1, 1], [3, 0], [-1, -1], [8]]),
    "dims": st.sampled_from([[1], [2, 1], [1, 2], [2, 1, 3], [3, 1, 2], [1, 1]]),
    "n": st.sampled_from([1, 3]),
    "rms_scaling": st.booleans(),
    **dict.fromkeys(
        [f"{weight}_initializer" for weight in ("beta", "gamma", "alpha")],
        st.sampled_from(typing.get_args(InitializerName)),
    ),
    **dict.fromkeys(
        [f"{weight}_regularizer" for weight in ("beta", "gamma", "alpha")], REGULARIZERS
    ),
    "shared_axes": st.none() | st.sampled_from([1, 2, 3, [1, 2], [2], [3, 1], [4], [0]]),
    "alpha": st.sampled_from([1.0, 0.5, -1.0]),
    "stddev": st.sampled_from([0.0, 0.1, 1.0, 2.0]),
    "interpolation": st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos3", "area"]),
    "noise_shape": st.sampled_from(
        [[None], [None, 1], [None, None, 1], [None, 1, 1, None], [1, None], [None, 2], [2, None]]
    ),
}
#: attributes whose values depend on the op
OP_ATTRIBUTES: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("zero_padding2d", "padding"): PADS
    | st.lists(PADS, min_size=2, max_size=2)
    | st.lists(st.lists(PADS, min_size=2, max_size=2), min_size=2, max_size=2),
    **dict.fromkeys(
        [(op, "axis") for op in ("layer_normalization", "unit_normalization", "softmax")],
        st.sampled_from([-1, -2, 0, 1, 2, 3]) | st.sampled_from([[1, 2], [-1, 1], [2, 1], [1, 1]]),
    ),
    ("group_normalization", "groups"): st.sampled_from([1, 2, 3, 4, 32, -1]),
    **{
        (op, key): _edges(axes)
        for axes, names in ((1, "1d"), (2, "2d"), (3, "3d"))
        for op, key in ((f"zero_padding{names}", "padding"), (f"cropping{names}", "cropping"))
        if op != "zero_padding2d"
    },
    ("up_sampling1d", "size"): st.integers(1, 3),
    ("up_sampling2d", "size"): _maybe_pair(st.integers(1, 3)),
    ("up_sampling3d", "size"): st.integers(1, 3)
    | st.lists(st.integers(1, 3), min_size=3, max_size=3),
    ("leaky_relu", "negative_slope"): st.sampled_from([0.0, 0.3, -0.1]),
    **{
        (f"{kind}_pooling{axes}d", key): values | st.lists(values, min_size=axes, max_size=axes)
        for kind in ("max", "average")
        for axes in (1, 3)
        # windows up to larger than any input
        for key, values in (("pool_size", st.integers(1, 18)), ("strides", st.integers(1, 3)))
    },
    # 1-D and 3-D convolutions: one number for every axis, or one per axis
    **{
        (op, key): values | st.lists(values, min_size=axes, max_size=axes)
        for axes, ops in (
            (1, ("conv1d", "conv1d_transpose", "separable_conv1d", "depthwise_conv1d")),
            (3, ("conv3d", "conv3d_transpose")),
        )
        for op in ops
        for key, values in (
            ("kernel_size", _mostly(st.integers(1, 5), SPANS)),
            ("strides", st.integers(1, 2)),  # transposed strides multiply sizes
            ("dilation_rate", st.integers(1, 3)),
            ("output_padding", st.integers(0, 2)),
        )
    },
    ("conv1d", "padding"): st.sampled_from(["valid", "same", "causal"]),
    **dict.fromkeys(
        [("rescaling", "scale"), ("rescaling", "offset")],
        st.sampled_from([1 / 255, 2.0, -1.0, [0.5], [1, 2, 3], [1, 2]]),
    ),
    ("normalization", "axis"): st.sampled_from([-1, 1, 2, None, [], [1, 2], [2, 1], [1, 1], 0]),
    ("scaled_residual", "scale"): st.sampled_from([0.17, 1.0]),
    # wrappers: inner layers that keep a sequence a sequence, and some that are refused
    ("time_distributed", "layer"): st.sampled_from(
        [
            {"dense": 2},
            {"dense": {"units": 3, "activation": "relu"}},
            "flatten",
            {"dropout": 0.5},
            "batch_normalization",
            "layer_normalization",
            {"dense": 0},
            {"conv2d": {"filters": 2, "kernel_size": 3}},
        ]
    ),  # fmt: skip
    ("bidirectional", "layer"): st.sampled_from(["lstm", "gru", "simple_rnn"]).map(
        lambda op: {op: {"units": 2, "return_sequences": True}}
    ),
    ("bidirectional", "merge_mode"): st.sampled_from(["concat", "sum", "mul", "ave", None]),
    # attention: self-attention on the step before; named nodes are never drawn
    **dict.fromkeys(
        [
            (op, key)
            for op in ("multi_head_attention", "attention")
            for key in ("query", "value", "key")
        ],
        st.none(),
    ),
    ("multi_head_attention", "num_heads"): st.integers(1, 4),
    ("multi_head_attention", "key_dim"): SMALL,
    ("multi_head_attention", "value_dim"): st.none() | SMALL,
    ("multi_head_attention", "output_shape"): st.none() | SMALL,
    ("multi_head_attention", "attention_axes"): st.none() | st.sampled_from([[1], 1, [1, 2]]),
    ("multi_head_attention", "sliding_window"): st.none() | st.sampled_from([1, 2]),
    ("multi_head_attention", "use_gate"): st.booleans(),
    ("multi_head_attention", "flash_attention"): st.none() | st.booleans(),
    ("multi_head_attention", "dropout"): st.sampled_from([0.0, 0.1]),
    ("attention", "dropout"): st.sampled_from([0.0, 0.1]),
    **dict.fromkeys(
        [("multi_head_attention", "use_causal_mask"), ("attention", "use_causal_mask")],
        st.booleans(),
    ),
    **dict.fromkeys(
        [
            ("multi_head_attention", "return_attention_scores"),
            ("attention", "return_attention_scores"),
        ],
        st.booleans(),
    ),
    ("attention", "use_scale"): st.booleans(),
    ("attention", "score_mode"): st.sampled_from(["dot", "concat"]),
    ("dot", "axes"): st.sampled_from([-1, 1, [1, 1], [2, 1]]),
    ("dot", "normalize"): st.booleans(),
    ("bidirectional", "backward_layer"): st.none()
    | st.sampled_from(
        [
            {"lstm": {"units": 2, "return_sequences": True, "go_backwards": True}},
            {"gru": {"units": 3, "return_sequences": True, "go_backwards": True}},
            {"lstm": {"units": 2, "return_sequences": True}},
        ]
    ),
}
# attributes of the preprocessing, recurrent, arithmetic and keras.applications ops
ATTRIBUTES.update(
    {
        "output_padding": _maybe_pair(st.integers(0, 2)),
        "mean": st.sampled_from([0.5, [0.5], [1, 2, 3], [[1, 2, 3]]]),
        "variance": st.sampled_from([1.0, [2.0], [1, 4, 9], [[1, 1, 1]], -1.0]),
        "invert": st.booleans(),
        "height": st.integers(1, 18),
        "width": st.integers(1, 18),
        "crop_to_aspect_ratio": st.booleans(),
        "pad_to_aspect_ratio": st.booleans(),
        "antialias": st.booleans(),
        "fill_mode": st.sampled_from(["constant", "reflect"]),
        "fill_value": st.sampled_from([0.0, 1.5]),
        "recurrent_activation": st.sampled_from(ACTIVATIONS) | st.none(),
        **dict.fromkeys(
            ["recurrent_initializer", "embeddings_initializer"],
            st.sampled_from(typing.get_args(InitializerName)),
        ),
        **dict.fromkeys(["recurrent_regularizer", "embeddings_regularizer"], REGULARIZERS),
        **dict.fromkeys(["dropout", "recurrent_dropout"], st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        **dict.fromkeys(
            [
                "return_sequences",
                "go_backwards",
                "unroll",
                "unit_forget_bias",
                "reset_after",
                "mask_zero",
                "return_state",
                "stateful",
            ],
            st.booleans(),
        ),  # fmt: skip
        "input_dim": st.sampled_from([8, 1000, 10**9]),
        "output_dim": SMALL,
        "init_values": st.sampled_from([1e-6, 1.0]),
        "projection_dim": SMALL,
        "drop_path_rate": st.sampled_from([0.0, 0.1, 0.5]),
        **dict.fromkeys(["x", "y"], st.sampled_from([3.0, 1 / 6, 2, -1.5])),
    }
)
CONSTRAINTS = st.sampled_from(
    [
        "non_neg",
        "max_norm",
        {"class": "unit_norm", "axis": 0},
        {"class": "max_norm", "max_value": 3},
    ]
)
ATTRIBUTES.update(
    {
        **dict.fromkeys(
            [
                f"{weight}_constraint"
                for weight in (
                    "kernel",
                    "bias",
                    "depthwise",
                    "pointwise",
                    "beta",
                    "gamma",
                    "alpha",
                    "recurrent",
                    "embeddings",
                )
            ],
            CONSTRAINTS,
        ),  # fmt: skip
        **dict.fromkeys(["depthwise_regularizer", "pointwise_regularizer"], REGULARIZERS),
        **dict.fromkeys(
            ["moving_mean_initializer", "moving_variance_initializer"],
            st.sampled_from(typing.get_args(InitializerName)),
        ),
    }
)
# initializers with arguments, now and then
for _key in [k for k in ATTRIBUTES if k.endswith("_initializer")]:
    ATTRIBUTES[_key] = _mostly(
        ATTRIBUTES[_key],
        st.sampled_from(
            [
                {"class": "variance_scaling", "scale": 2.0, "mode": "fan_out"},
                {"class": "random_normal", "stddev": 0.01, "seed": 7},
                {"class": "constant", "value": 0.1},
                {"class": "orthogonal", "gain": 0.5},
            ]
        ),
    )
#: ops that keep an image an image / turn it into a vector / take a vector
IMAGE_OPS = [
    "conv2d", "separable_conv2d", "depthwise_conv2d", "max_pooling2d", "average_pooling2d",
    "zero_padding2d", "spatial_dropout2d", "cropping2d", "up_sampling2d", "conv2d_transpose",
    "resizing", "center_crop",
]  # fmt: skip
REDUCE_OPS = ["flatten", "global_average_pooling2d", "global_max_pooling2d"]
#: ops that take a vector / a sequence (steps, channels) / a volume
FLAT_OPS = ["repeat_vector"]
SEQUENCE_OPS = [
    "spatial_dropout1d", "cropping1d", "zero_padding1d", "up_sampling1d", "max_pooling1d",
    "average_pooling1d", "global_average_pooling1d", "global_max_pooling1d", "conv1d",
    "conv1d_transpose", "separable_conv1d", "depthwise_conv1d", "simple_rnn", "lstm", "gru",
    "time_distributed", "bidirectional", "multi_head_attention", "attention",
]  # fmt: skip
VOLUME_OPS = [
    "spatial_dropout3d", "cropping3d", "zero_padding3d", "up_sampling3d", "max_pooling3d",
    "average_pooling3d", "global_average_pooling3d", "global_max_pooling3d", "conv3d",
    "conv3d_transpose", "conv_lstm2d",
]  # fmt: skip
#: keras.ops operations on one tensor (a number for the other operand)
TENSOR_OPS = [op.name for op in REGISTRY.ops() if not op.layer and op.shorthand in ("y", None)]
ANY_RANK_OPS = [
    "dense", "batch_normalization", "activation", "relu", "dropout", "identity",
    "layer_normalization", "group_normalization", "unit_normalization", "softmax",
    "leaky_relu", "prelu", "elu", "gaussian_noise", "gaussian_dropout", "alpha_dropout",
    "permute", "rescaling", "normalization", "layer_scale", "stochastic_depth", *TENSOR_OPS,
]  # fmt: skip
#: ops that change the rank: the rank after them is worked out in `steps`
RESHAPE_OPS = ["reshape", "embedding", "ops.mean", "ops.sum", "ops.max"]
MERGE_OPS = [
    "add", "multiply", "concatenate", "subtract", "average", "maximum", "minimum",
    "scaled_residual", "dot",
]  # fmt: skip
#: recurrent ops: the rank after them depends on `return_sequences`
RECURRENT_RANKS = {"simple_rnn": 1, "lstm": 1, "gru": 1, "conv_lstm2d": 3}


def _attrs(op_name: str) -> st.SearchStrategy[dict[str, Any]]:
    """An op's attributes: the required ones, and any of the others."""
    fields = REGISTRY.get(op_name).attrs.model_fields
    values = {n: OP_ATTRIBUTES.get((op_name, n), ATTRIBUTES.get(n)) for n in fields}
    return st.fixed_dictionaries(
        {n: values[n] for n, f in fields.items() if f.is_required()},
        optional={n: values[n] for n, f in fields.items() if not f.is_required()},
    )


@st.composite
def steps(draw: st.DrawFn, rank: int, low: int = 0, high: int = 4) -> tuple[list, int]:
    """A sequence of steps for an input of ``rank`` axes, and the rank it ends with."""
    out = []
    for _ in range(draw(st.integers(low, high))):
        by_rank = {1: FLAT_OPS, 2: SEQUENCE_OPS, 3: IMAGE_OPS + REDUCE_OPS, 4: VOLUME_OPS}
        ops = ANY_RANK_OPS + RESHAPE_OPS + by_rank.get(rank, []) + ["flatten"]
        name = draw(st.sampled_from(ops))
        attrs = draw(_attrs(name))
        out.append({name: attrs} if attrs else name)
        if name == "flatten" or (name.startswith("global") and not attrs.get("keepdims")):
            rank = 1
        elif name == "repeat_vector":
            rank = 2
        elif name == "reshape":
            rank = len(attrs["target_shape"])
        elif name == "embedding":
            rank += 1
        elif name in RECURRENT_RANKS and not attrs.get("return_sequences"):
            rank = RECURRENT_RANKS[name]
        elif name.startswith("ops.") and "axis" in attrs and not attrs.get("keepdims"):
            axis = attrs["axis"]
            rank -= len(set(axis)) if isinstance(axis, list) else 1
    return out, rank


@st.composite
def input_shapes(draw: st.DrawFn) -> list[int | None]:
    size = st.integers(1, 16) | st.none()
    rank = draw(st.sampled_from([3, 3, 1, 2, 4]))
    if rank == 1:
        return [draw(st.integers(1, 32) | st.none())]
    return [*(draw(size) for _ in range(rank - 1)), draw(st.integers(1, 8) | st.none())]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A spec: a sequence of layers, two branches merged, or two inputs merged."""
    shape = draw(input_shapes())
    doc: dict[str, Any] = {"archspec": 1, "name": "fuzz"}
    form = draw(st.sampled_from(["sequence", "branches", "two inputs"]))
    if form == "sequence":
        doc["input"] = shape
        doc["layers"], _ = draw(steps(len(shape), low=1))
        return doc
    graph: dict[str, Any] = {}
    if form == "branches":
        doc["input"] = shape
        trunk, rank = draw(steps(len(shape), high=2))
        if trunk:
            graph["trunk"] = trunk
        starts = ("trunk" if trunk else "input",) * 2
    else:
        # the second input mostly agrees with the first; sizes may be unknown in either
        other = [draw(st.sampled_from([d, d, None]) | st.integers(1, 16)) for d in shape]
        doc["inputs"] = {"a": shape, "b": other}
        rank, starts = len(shape), ("a", "b")
    left, end = draw(steps(rank, low=1, high=2))
    right, _ = draw(steps(rank, low=0 if form == "two inputs" else 1, high=2))
    merge = draw(st.sampled_from(MERGE_OPS))
    merged: Any = ["left", "right"]
    if merge == "concatenate" and draw(st.booleans()):
        merged = {"inputs": merged, "axis": draw(st.sampled_from([-1, 1, 2, 3, 0]))}
    tail, _ = draw(steps(end, high=2))
    graph["left"] = {"from": starts[0], "layers": left}
    graph["right"] = {"from": starts[1], "layers": right} if right else {"from": starts[1]}
    graph["out"] = [{merge: merged}, *tail]
    doc["graph"] = graph
    return doc


def _doc(shape: list, *layers: Any) -> dict[str, Any]:
    return {"archspec": 1, "name": "fuzz", "input": shape, "layers": list(layers)}


#: one spec for each kind of layer that once validated and then failed in Keras (or, for
#: the empty regularizer, silently became L2(0.01))
NAMED_CASES = {
    "groups_not_dividing_input_channels": _doc(
        [8, 8, 3], {"conv2d": {"filters": 4, "kernel_size": 3, "groups": 2}}
    ),
    "groups_not_dividing_filters": _doc(
        [8, 8, 4], {"conv2d": {"filters": 3, "kernel_size": 3, "groups": 2}}
    ),
    "strides_with_dilation": _doc(
        [9, 9, 2], {"conv2d": {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}}
    ),
    "unequal_depthwise_strides": _doc(
        [8, 8, 2], {"depthwise_conv2d": {"kernel_size": 3, "strides": [1, 2]}}
    ),
    "unequal_separable_strides": _doc(
        [8, 8, 2], {"separable_conv2d": {"filters": 2, "kernel_size": 3, "strides": [2, 1]}}
    ),
    "seed_beyond_64_bits": _doc([4], {"dropout": {"rate": 0.5, "seed": 2**64}}),
    "seed_tensorflow_refuses": _doc([4], {"dropout": {"rate": 0.5, "seed": 2**63}}),
    "unknown_channels_conv": _doc([8, 8, None], {"conv2d": {"filters": 2, "kernel_size": 3}}),
    "unknown_channels_dense": _doc([None], {"dense": 2}),
    "unknown_channels_batch_norm": _doc([8, 8, None], "batch_normalization"),
    "glu_changes_the_shape": _doc([4, 4, 3], {"activation": "glu"}),
    "glu_on_a_convolution": _doc(
        [4, 4, 3], {"conv2d": {"filters": 3, "kernel_size": 1, "activation": "glu"}}
    ),
    "threshold_needs_arguments": _doc([4], {"dense": {"units": 2, "activation": "threshold"}}),
    # 10**12 weights: Keras would ask for 4 TB at once, which fails at once
    "dense_too_large": _doc([10**4], {"dense": 10**8}),
    "empty_regularizer": _doc([4], {"dense": {"units": 2, "kernel_regularizer": {}}}),
    "negative_relu_threshold": _doc([4], {"relu": {"threshold": -1.0}}),
    "kernel_too_large_for_onednn": _doc(
        [300, 300, 1], {"conv2d": {"filters": 1, "kernel_size": [250, 1]}}
    ),
    # Keras gives an unknown size wherever one input's is unknown; flatten then dense
    # needs them all
    "unknown_size_added_to_known": {
        "archspec": 1,
        "name": "fuzz",
        "inputs": {"a": [None, 4, 2], "b": [8, 4, 2]},
        "graph": {"out": [{"add": ["a", "b"]}, "flatten", {"dense": 2}]},
    },
}


@pytest.fixture(scope="module")
def keras():
    from archspec.emit.keras_emitter import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def spec_file():
    folder = Path(tempfile.mkdtemp(prefix="archspec-build-fuzz-"))
    yield folder / "fuzz.yaml"
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def _load(path: Path, doc: dict[str, Any]) -> archspec.ArchSpec | None:
    """The loaded spec, or None when archspec refuses it (with its own error only)."""
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    try:
        return archspec.load(path)
    except SpecError:
        return None


def _shapes(doc: dict[str, Any]) -> list[list[int | None]]:
    return [doc["input"]] if "input" in doc else list(doc["inputs"].values())


def _with_shapes(doc: dict[str, Any], shapes: list[list[int]]) -> dict[str, Any]:
    if "input" in doc:
        return {**doc, "input": shapes[0]}
    return {**doc, "inputs": dict(zip(doc["inputs"], shapes, strict=True))}


def _run_shapes(path: Path, doc: dict[str, Any]) -> list[list[int]] | None:
    """Concrete input shapes to run the model on: unknown sizes take a size that validates."""
    shapes = _shapes(doc)
    if all(None not in shape for shape in shapes):
        return shapes
    known = [d for shape in shapes for d in shape if d is not None]
    for size in dict.fromkeys([*RUN_SIZES, *known]):
        concrete = [[size if d is None else d for d in shape] for shape in shapes]
        if _load(path, _with_shapes(doc, concrete)) is not None:
            return concrete
    return None


def _check_layers(graph, model) -> None:
    stats = {layer.name: layer for layer in analyse(graph).layers}
    operations = {op.name: op for op in model.operations}  # layers and keras.ops nodes
    for node in graph.nodes.values():
        layer = operations[node.name]
        static = stats[node.name]
        assert tuple(layer.output.shape[1:]) == node.shape, node.name
        if node.op == "input":
            continue
        trainable = sum(math.prod(w.shape) for w in getattr(layer, "trainable_weights", []))
        non_trainable = sum(math.prod(w.shape) for w in getattr(layer, "non_trainable_weights", []))
        assert (static.trainable_params, static.non_trainable_params) == (
            trainable,
            non_trainable,
        ), node.name
        op = REGISTRY.get(node.op)
        inputs = [graph.nodes[i].shape for i in node.inputs]
        expected = [(w.name, w.shape) for w in op.weights(node.attrs, inputs, node.shape)]
        weights = getattr(layer, "weights", [])
        names = weight_names(layer, [name for name, _ in expected]) if weights else []
        assert list(zip(names, [tuple(w.shape) for w in weights], strict=True)) == expected, (
            node.name
        )


def _check_runs(model, shapes: list[list[int]], static: tuple) -> None:
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((2, *shape)).astype("float32") for shape in shapes]
    for training in (False, True):
        out = np.asarray(model(data[0] if len(data) == 1 else data, training=training))
        assert out.shape[0] == 2
        for got, want in zip(out.shape[1:], static, strict=True):
            assert want is None or got == want, (out.shape, static)


@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=documents())
@example(doc=NAMED_CASES["groups_not_dividing_input_channels"])
@example(doc=NAMED_CASES["groups_not_dividing_filters"])
@example(doc=NAMED_CASES["strides_with_dilation"])
@example(doc=NAMED_CASES["unequal_depthwise_strides"])
@example(doc=NAMED_CASES["unequal_separable_strides"])
@example(doc=NAMED_CASES["seed_beyond_64_bits"])
@example(doc=NAMED_CASES["seed_tensorflow_refuses"])
@example(doc=NAMED_CASES["unknown_channels_conv"])
@example(doc=NAMED_CASES["unknown_channels_dense"])
@example(doc=NAMED_CASES["unknown_channels_batch_norm"])
@example(doc=NAMED_CASES["glu_changes_the_shape"])
@example(doc=NAMED_CASES["glu_on_a_convolution"])
@example(doc=NAMED_CASES["threshold_needs_arguments"])
@example(doc=NAMED_CASES["dense_too_large"])
@example(doc=NAMED_CASES["empty_regularizer"])
@example(doc=NAMED_CASES["negative_relu_threshold"])
@example(doc=NAMED_CASES["kernel_too_large_for_onednn"])
@example(doc=NAMED_CASES["unknown_size_added_to_known"])
def test_whatever_validates_builds_runs_and_matches_keras(keras, spec_file, doc):
    spec = _load(spec_file, doc)
    if spec is None:
        event("refused")
        return
    graph = spec.graph()
    keras.backend.clear_session(free_memory=False)
    model = spec.build()
    _check_layers(graph, model)
    keras.models.model_from_json(model.to_json())  # what `build` saves can be read back
    run_shapes = _run_shapes(spec_file, doc)
    if run_shapes is None:
        event("built; no input size to run it on")
        return
    _check_runs(model, run_shapes, graph.nodes[graph.outputs[0]].shape)
    event(f"built and ran ({len(graph)} layers)")


def test_every_op_and_attribute_is_fuzzed():
    """A new op or attribute needs values here before the fuzz test can cover it."""
    fuzzed = (
        IMAGE_OPS + REDUCE_OPS + FLAT_OPS + SEQUENCE_OPS + VOLUME_OPS + ANY_RANK_OPS
        + RESHAPE_OPS + MERGE_OPS
    )  # fmt: skip
    assert sorted(fuzzed) == sorted(op.name for op in REGISTRY.ops())
    for op in REGISTRY.ops():
        if op.merge:
            continue  # inputs and axis come from the graph generator
        for name in op.attrs.model_fields:
            assert (op.name, name) in OP_ATTRIBUTES or name in ATTRIBUTES, (op.name, name)


def test_named_cases_are_refused_at_their_layer(spec_file):
    """Each named case is refused when the spec is checked, at the layer's own line."""
    for name, doc in NAMED_CASES.items():
        spec_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        with pytest.raises(SpecError) as info:
            archspec.load(spec_file)
        error = info.value
        assert error.loc is not None, name
        # a number too wide for 64 bits is refused while the YAML is read, before paths
        assert (error.path or "layers[").startswith(("layers[", "graph.")), (name, error.path)


@pytest.mark.parametrize("merge", ["add", "multiply", "concatenate", "subtract", "maximum"])
def test_a_size_unknown_in_one_merged_input_is_unknown_in_the_output(spec_file, merge):
    doc = NAMED_CASES["unknown_size_added_to_known"]
    doc = {**doc, "graph": {"out": [{merge: ["a", "b"]}]}}
    shape = (None, 4, 4) if merge == "concatenate" else (None, 4, 2)
    assert _load(spec_file, doc).graph().nodes[merge].shape == shape
