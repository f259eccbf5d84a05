"""The convolution family in 1-D, 2-D and 3-D, each op checked against Keras.

For every op, hypothesis draws attribute values (some Keras refuses: lists of the wrong
length, `causal` padding, dilation with strides, output padding past the stride,
initializers that cannot fill a kernel) and input shapes (some of the wrong rank or with
unknown channels), and ``check_layer`` checks that archspec accepts exactly what Keras
builds and runs, with Keras's shapes, parameter counts and config, and that a model
built by hand imports back to the same IR.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
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
from archspec.ops.layers import MAX_KERNEL_SPAN
from archspec.ops.shapes import sizes
from tests.conftest import ROOT
from tests.helpers import spec_error, write
from tests.ops_harness import REGULARIZER, SETTINGS, attrs_of, check_layer

NEW_OPS = {
    "conv1d", "conv3d", "conv1d_transpose", "conv2d_transpose", "conv3d_transpose",
    "separable_conv1d", "depthwise_conv1d",
}  # fmt: skip


def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy:
    """``common`` values, and about one time in sixteen a ``rare`` one: each attribute
    has its own, so most examples still build. (Hypothesis favours the ends of a range,
    and merges equal branches of ``one_of``: the rare draw sits mid-range.)"""
    return st.integers(0, 15).flatmap(lambda i: rare if i == 7 else common)


def _per_axis(values: st.SearchStrategy[int], axes: int) -> st.SearchStrategy[Any]:
    """One number, one per axis, or now and then a list of another length (refused)."""
    return _mostly(
        values | st.lists(values, min_size=axes, max_size=axes),
        st.lists(values, min_size=1, max_size=3),
    )


def _inputs(axes: int) -> st.SearchStrategy[list[list[int | None]]]:
    """Mostly ``axes`` spatial axes and channels, sizes known or not; now and then one
    axis fewer or more, or unknown channels (they size the kernel: Keras refuses them)."""
    rank = _mostly(st.just(axes + 1), st.sampled_from([axes, axes + 2]))
    spatial = _mostly(st.integers(1, 8), st.none())
    channels = _mostly(st.integers(1, 4), st.none())
    return rank.flatmap(
        lambda r: st.tuples(st.lists(spatial, min_size=r - 1, max_size=r - 1), channels)
    ).map(lambda parts: [[*parts[0], parts[1]]])


#: kernels and dilations spanning up to 7 positions, so a window fits an unknown size
#: when the harness runs the layer (it tries sizes up to 8)
KERNELS = st.integers(1, 3)
DILATIONS = st.integers(1, 3)


def _window(axes: int, paddings: tuple[str, ...] = ("valid", "same")) -> dict[str, Any]:
    """The attributes every convolution has; now and then a `causal` padding, which only
    Conv1D takes."""
    return {
        "strides": _per_axis(st.integers(1, 3), axes),
        "padding": _mostly(st.sampled_from(paddings), st.just("causal")),
        # now and then a span past MAX_KERNEL_SPAN, which archspec refuses on purpose
        "dilation_rate": _per_axis(_mostly(DILATIONS, st.just(64)), axes),
        "activation": st.sampled_from(["relu", "tanh", "linear"]),
        "use_bias": st.booleans(),
        "bias_initializer": _mostly(
            st.sampled_from(["zeros", "ones", "random_normal"]), st.just("orthogonal")
        ),
        "bias_regularizer": REGULARIZER,
    }


KERNEL_INITIALIZERS = _mostly(
    st.sampled_from(["glorot_uniform", "he_normal", "zeros", "orthogonal", "uniform"]),
    st.just("identity"),
)
KERNEL = {"kernel_initializer": KERNEL_INITIALIZERS, "kernel_regularizer": REGULARIZER}


def _conv(axes: int) -> st.SearchStrategy[dict[str, Any]]:
    paddings = ("valid", "same", "causal") if axes == 1 else ("valid", "same")
    return attrs_of(
        {"filters": st.integers(1, 4), "kernel_size": _per_axis(KERNELS, axes)},
        {**_window(axes, paddings), **KERNEL, "groups": st.sampled_from([1, 2, 3])},
    )


def _transpose(axes: int) -> st.SearchStrategy[dict[str, Any]]:
    return attrs_of(
        {"filters": st.integers(1, 4), "kernel_size": _per_axis(KERNELS, axes)},
        {
            **_window(axes),
            **KERNEL,
            "output_padding": _per_axis(_mostly(st.integers(0, 1), st.just(2)), axes),
        },
    )


def _depthwise(filters: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Depthwise attributes, and with ``filters`` the separable ones."""
    required = {"kernel_size": _per_axis(KERNELS, 1)}
    optional = {
        **_window(1),
        "depthwise_initializer": KERNEL_INITIALIZERS,
        "depth_multiplier": st.integers(1, 3),
    }
    if filters:
        required["filters"] = st.integers(1, 4)
        optional["pointwise_initializer"] = KERNEL_INITIALIZERS
    return attrs_of(required, optional)


#: op -> (axes, attribute strategy, Keras class)
CASES: dict[str, tuple[int, st.SearchStrategy, Callable[..., Any]]] = {
    "conv1d": (1, _conv(1), layers.Conv1D),
    "conv3d": (3, _conv(3), layers.Conv3D),
    "conv1d_transpose": (1, _transpose(1), layers.Conv1DTranspose),
    "conv2d_transpose": (2, _transpose(2), layers.Conv2DTranspose),
    "conv3d_transpose": (3, _transpose(3), layers.Conv3DTranspose),
    "separable_conv1d": (1, _depthwise(filters=True), layers.SeparableConv1D),
    "depthwise_conv1d": (1, _depthwise(filters=False), layers.DepthwiseConv1D),
}


def _fits(value: Any, axes: int) -> bool:
    return isinstance(value, int) or len(value) == axes


def archspec_refuses(attrs: dict[str, Any], axes: int) -> bool:
    """What archspec refuses on purpose, though Keras may build and run it.

    - a kernel spanning more than MAX_KERNEL_SPAN positions (TensorFlow's CPU kernels
      abort the process on very large ones);
    - a transposed convolution with `same` padding and no output padding along an axis
      where the kernel spans an even number of positions: TensorFlow fails to run it,
      except on an input of size 1 along that axis, where the output is empty;
    - a bias initializer that cannot fill a bias, even with ``use_bias: false`` (when
      Keras makes no bias to fill).
    """
    if attrs.get("bias_initializer") == "orthogonal":
        return True
    kernel, dilation = attrs["kernel_size"], attrs.get("dilation_rate", 1)
    if not (_fits(kernel, axes) and _fits(dilation, axes)):
        return False
    spans = [
        d * (k - 1) + 1 for k, d in zip(sizes(kernel, axes), sizes(dilation, axes), strict=True)
    ]
    if max(spans) > MAX_KERNEL_SPAN:
        return True
    extra = attrs.get("output_padding")
    if extra is None or attrs.get("padding") != "same" or not _fits(extra, axes):
        return False
    return any(e == 0 and s % 2 == 0 for e, s in zip(sizes(extra, axes), spans, strict=True))


# ---------------------------------------------------------------------------- against Keras


@pytest.mark.parametrize("op", sorted(CASES))
def test_layer_matches_keras(ops_folder, op):
    axes, attrs_strategy, cls = CASES[op]

    @SETTINGS
    @given(attrs=attrs_strategy, shapes=_inputs(axes))
    def check(attrs, shapes):
        doc = {"archspec": 1, "name": "t", "input": shapes[0], "layers": [{op: attrs}]}
        stricter = archspec_refuses(attrs, axes)
        check_layer(ops_folder, doc, lambda: cls(**attrs), shapes, stricter)

    check()


def test_every_new_op_is_checked():
    assert set(CASES) == NEW_OPS
    for name, (_, _, cls) in CASES.items():
        assert REGISTRY.get(name).keras_class == cls.__name__


def test_an_even_span_with_no_output_padding_fails_in_keras():
    """Why archspec refuses it: TensorFlow runs the layer only when the output is empty."""
    keras.backend.clear_session(free_memory=False)
    layer = layers.Conv1DTranspose(2, 2, padding="same", output_padding=0)
    with pytest.raises(Exception):  # noqa: B017 - oneDNN and TensorFlow's own kernel differ
        layer(np.ones((2, 3, 2), "float32"))
    assert layer(np.ones((2, 1, 2), "float32")).shape == (2, 0, 2)


# ---------------------------------------------------------------------------- static rules


def _spec(tmp_path, shape: str, *steps: str):
    body = "".join(f"  - {step}\n" for step in steps)
    return write(tmp_path, "s.yaml", f"archspec: 1\nname: s\ninput: {shape}\nlayers:\n{body}")


@pytest.mark.parametrize(
    ("shape", "layer", "message"),
    [
        (
            "[8, 8, 3]",
            "conv1d: {filters: 2, kernel_size: 3}",
            "`conv1d`: needs a 2-D input (steps, channels), got (8, 8, 3), an image, which "
            "`conv2d` takes",
        ),
        (
            "[8, 3]",
            "conv3d_transpose: {filters: 2, kernel_size: 3}",
            "`conv3d_transpose`: needs a 4-D input (depth, height, width, channels), got "
            "(8, 3), a sequence, which `conv1d_transpose` takes",
        ),
        (
            "[4, 4, 4, 3]",
            "sep_conv1d: {filters: 2, kernel_size: 3}",
            "`separable_conv1d`: needs a 2-D input (steps, channels), got (4, 4, 4, 3) (input",
        ),
        (
            "[8, null]",
            "dw_conv1d: {kernel_size: 3}",
            "`depthwise_conv1d`: the input's last axis must have a known size: it sizes the kernel",
        ),
        (
            "[8, 3]",
            "conv1d: {filters: 2, kernel_size: [3, 3]}",
            "`conv1d` attribute `kernel_size`: takes one number (or a list of one), not a "
            "list of 2, got [3, 3]",
        ),
        (
            "[8, 8, 8, 3]",
            "conv3d: {filters: 2, kernel_size: 3, strides: [1, 2]}",
            "`conv3d` attribute `strides`: takes one number for all axes or a list of 3 "
            "(depth, height, width), not a list of 2, got [1, 2]",
        ),
        (
            "[8, 8, 3]",
            "deconv2d: {filters: 2, kernel_size: 3, strides: [2, 1], output_padding: 1}",
            "`conv2d_transpose` attribute `output_padding`: must be less than the stride along "
            "each axis (`strides` is [2, 1]), as Keras requires, got 1",
        ),
        (
            "[8, 8, 3]",
            "deconv2d: {filters: 2, kernel_size: [3, 4], strides: 2, padding: same, "
            "output_padding: [1, 0]}",
            "`conv2d_transpose` attribute `output_padding`: with `padding: same`, TensorFlow "
            "needs at least 1 along an axis where the kernel spans an even number of "
            "positions (axis 2 spans 4); leave `output_padding` out for Keras's default, "
            "got [1, 0]",
        ),
        (
            "[8, 3]",
            "conv1d_transpose: {filters: 2, kernel_size: 3, strides: 2, dilation_rate: 2}",
            "`conv1d_transpose` attribute `dilation_rate`: `strides` is 2, and Keras cannot "
            "combine a dilation above 1 with strides above 1",
        ),
        (
            "[8, 3]",
            "depthwise_conv1d: {kernel_size: 3, padding: causal}",
            "`depthwise_conv1d` attribute `padding`: Input should be 'valid' or 'same'",
        ),
        (
            "[8, 3]",
            f"conv1d: {{filters: 2, kernel_size: 3, dilation_rate: {MAX_KERNEL_SPAN // 2}, "
            "padding: causal}",
            f"`conv1d` attribute `dilation_rate`: the dilated kernel spans {MAX_KERNEL_SPAN + 1} "
            "positions",
        ),
        (
            "[8, 4]",
            "conv1d: {filters: 2, kernel_size: 3, groups: 2, kernel_initializer: identity}",
            "`conv1d` attribute `kernel_initializer`: `identity` fills only 2-D weights",
        ),
        (
            "[4, 4, 4, 3]",
            "conv3d: {filters: 4, kernel_size: 1, groups: 2}",
            "`conv3d`: 3 input channels cannot be split into 2 groups",
        ),
    ],
)
def test_what_keras_refuses_is_refused_at_the_layer(tmp_path, shape, layer, message):
    error = spec_error(_spec(tmp_path, shape, layer))
    assert error.loc.line == 5
    assert message in error.message


def test_depthwise_1d_kernels_take_dilation_with_strides(tmp_path):
    """Keras runs them as a dilated kernel at stride 1, then keeps every stride-th step."""
    spec = _spec(
        tmp_path,
        "[9, 2]",
        "depthwise_conv1d: {kernel_size: 3, strides: 2, dilation_rate: 2}",
        "separable_conv1d: {filters: 2, kernel_size: 1, strides: 2, dilation_rate: 2}",
    )
    graph = archspec.load(spec).graph()
    assert [node.shape for node in graph.nodes.values()] == [(9, 2), (3, 2), (2, 2)]


def _attrs(op: str, **values: Any) -> Any:
    return REGISTRY.get(op).attrs.model_validate(values)


@pytest.mark.parametrize(
    ("op", "values", "shape", "output"),
    [
        (
            "conv1d",
            {"filters": 2, "kernel_size": 3, "padding": "causal", "strides": 2},
            (7, 1),
            (4, 2),
        ),
        ("conv1d", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (None, 1), (None, 2)),
        (
            "conv3d",
            {"filters": 2, "kernel_size": [1, 2, 3], "strides": [1, 2, 3]},
            (4, 5, 9, 1),
            (4, 2, 3, 2),
        ),
        # valid: (size - 1) * stride + span, plus what a stride longer than the span leaves
        ("conv1d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2}, (5, 1), (11, 2)),
        ("conv1d_transpose", {"filters": 2, "kernel_size": 2, "strides": 3}, (5, 1), (15, 2)),
        ("conv1d_transpose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (5, 1), (9, 2)),
        (
            "conv1d_transpose",
            {"filters": 2, "kernel_size": 2, "strides": 3, "output_padding": 0},
            (5, 1),
            (14, 2),
        ),
        # same: size * stride, or with output padding (size - 1) * stride + span % 2 + padding
        (
            "conv2d_transpose",
            {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
            (5, None, 1),
            (10, None, 2),
        ),
        (
            "conv2d_transpose",
            {
                "filters": 2,
                "kernel_size": 3,
                "strides": 3,
                "padding": "same",
                "output_padding": [0, 2],
            },
            (5, 5, 1),
            (13, 15, 2),
        ),
        (
            "conv3d_transpose",
            {
                "filters": 2,
                "kernel_size": [3, 2, 2],
                "strides": [1, 2, 3],
                "padding": "same",
                "output_padding": [0, 1, 2],
            },
            (2, 2, 2, 1),
            (2, 3, 5, 2),
        ),
        ("depthwise_conv1d", {"kernel_size": 3, "depth_multiplier": 3}, (5, 2), (3, 6)),
    ],
)
def test_output_shapes_follow_keras_rules(op, values, shape, output):
    assert REGISTRY.get(op).shape(_attrs(op, **values), [shape]) == output


@pytest.mark.parametrize(
    ("op", "values", "shape", "params", "macs"),
    [
        ("conv1d", {"filters": 6, "kernel_size": 3}, (10, 4), 3 * 4 * 6 + 6, 8 * 3 * 4 * 6),
        (
            "conv1d",
            {"filters": 6, "kernel_size": 3, "groups": 2, "use_bias": False},
            (10, 4),
            3 * 2 * 6,
            8 * 3 * 2 * 6,
        ),
        ("conv3d", {"filters": 3, "kernel_size": 2}, (5, 5, 5, 2), 8 * 2 * 3 + 3, 64 * 8 * 2 * 3),
        # transposed: the whole kernel once per input position
        (
            "conv1d_transpose",
            {"filters": 3, "kernel_size": 3, "strides": 2},
            (5, 2),
            21,
            5 * 3 * 2 * 3,
        ),
        ("conv2d_transpose", {"filters": 3, "kernel_size": 3}, (4, 4, 2), 57, 16 * 9 * 2 * 3),
        ("conv3d_transpose", {"filters": 2, "kernel_size": 2}, (2, 2, 2, 1), 18, 8 * 8 * 1 * 2),
        ("conv2d_transpose", {"filters": 3, "kernel_size": 3}, (None, 4, 2), 57, None),
        (
            "separable_conv1d",
            {"filters": 6, "kernel_size": 3, "depth_multiplier": 2},
            (10, 4),
            3 * 4 * 2 + 8 * 6 + 6,
            8 * (3 * 8 + 8 * 6),
        ),
        (
            "depthwise_conv1d",
            {"kernel_size": 3, "depth_multiplier": 2},
            (10, 4),
            3 * 8 + 8,
            8 * 3 * 8,
        ),
    ],
)
def test_parameters_and_macs(op, values, shape, params, macs):
    definition, attrs = REGISTRY.get(op), _attrs(op, **values)
    output = definition.shape(attrs, [shape])
    assert sum(definition.params(attrs, [shape], output)) == params
    assert definition.macs(attrs, [shape], output) == macs


@pytest.mark.parametrize(
    ("op", "written", "same"),
    [
        ("conv1d", {"strides": 1, "dilation_rate": 2}, {"strides": [1], "dilation_rate": [2]}),
        ("conv3d", {"strides": 2}, {"strides": [2, 2, 2]}),
        ("conv3d", {"kernel_size": 3}, {"kernel_size": [3, 3, 3]}),
        ("conv2d", {"dilation_rate": 2}, {"dilation_rate": [2, 2]}),
        (
            "conv1d_transpose",
            {"strides": 3, "output_padding": 2},
            {"strides": [3], "output_padding": [2]},
        ),
        (
            "conv3d_transpose",
            {"strides": 2, "output_padding": 1},
            {"strides": [2, 2, 2], "output_padding": [1, 1, 1]},
        ),
        ("depthwise_conv1d", {"strides": 2}, {"strides": [2]}),
        ("separable_conv1d", {"dilation_rate": 1}, {}),
    ],
)
def test_one_canonical_spelling_per_meaning(op, written, same):
    base = {"kernel_size": 3} | ({"filters": 2} if "depthwise" not in op else {})
    one, other = _attrs(op, **(base | written)), _attrs(op, **(base | same))
    axes = REGISTRY.get(op).attrs.axes
    assert one.canonical(axes + 1) == other.canonical(axes + 1)
    assert all(
        isinstance(one.canonical()[k], tuple) and len(one.canonical()[k]) == axes
        for k in ("kernel_size", "strides", "dilation_rate")
    )


def test_no_output_padding_differs_from_zero():
    """Without it, Keras picks the output size; 0 asks for the smallest one."""
    values = {"filters": 2, "kernel_size": 1, "strides": 2}
    unset = _attrs("conv1d_transpose", **values)
    zero = _attrs("conv1d_transpose", **values, output_padding=0)
    assert unset.canonical(2)["output_padding"] is None
    assert unset.canonical(2) != zero.canonical(2)
    assert REGISTRY.get("conv1d_transpose").shape(unset, [(4, 1)]) == (8, 2)
    assert REGISTRY.get("conv1d_transpose").shape(zero, [(4, 1)]) == (7, 2)


def test_the_static_rules_never_import_keras(tmp_path):
    """Validation, shapes and counts of every new op run without a framework."""
    steps = [
        "conv1d: {filters: 4, kernel_size: 3, padding: causal}",
        "sep_conv1d: {filters: 4, kernel_size: 3}",
        "dw_conv1d: {kernel_size: 3}",
        "deconv1d: {filters: 2, kernel_size: 2, strides: 2}",
        "reshape: [-1, 2, 2, 2]",
        "conv3d: {filters: 2, kernel_size: 1}",
        "deconv3d: {filters: 2, kernel_size: 2, strides: 2}",
        "reshape: [-1, 4, 2]",
        "deconv2d: {filters: 2, kernel_size: 3}",
    ]
    path = _spec(tmp_path, "[16, 4]", *steps)
    code = textwrap.dedent(
        f"""
        import sys
        import archspec
        from archspec.analysis.stats import analyse
        graph = archspec.load({str(path)!r}).graph()
        print(analyse(graph).totals.params)
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.splitlines()[-1] == "[]", result.stdout + result.stderr
