"""Initializers with arguments, checked against layers built by hand with Keras's classes.

Hypothesis draws an initializer class, some of its arguments and the layer it fills;
the compiled layer's config must equal the hand-built one's and a model using the
hand-built layer must import back to the same IR (see tests/ops_harness.py).
"""

from __future__ import annotations

import keras
import pytest
from hypothesis import given
from hypothesis import strategies as st

from archspec.errors import SpecError
from tests.ops_harness import SETTINGS, check_layer, load

SEEDS = st.sampled_from([0, 7, 2**32 - 1])
#: spec class -> (Keras class, its argument strategies)
CLASSES = {
    "zeros": (keras.initializers.Zeros, {}),
    "ones": (keras.initializers.Ones, {}),
    "constant": (keras.initializers.Constant, {"value": st.sampled_from([0.1, -2.0, 0.0])}),
    "random_normal": (
        keras.initializers.RandomNormal,
        {
            "mean": st.sampled_from([0.0, 1.0]),
            "stddev": st.sampled_from([0.01, 1.0]),
            "seed": SEEDS,
        },
    ),
    "truncated_normal": (
        keras.initializers.TruncatedNormal,
        {"mean": st.sampled_from([0.0, 1.0]), "stddev": st.sampled_from([0.02]), "seed": SEEDS},
    ),
    "random_uniform": (
        keras.initializers.RandomUniform,
        {
            "minval": st.sampled_from([-1.0, 0.0]),
            "maxval": st.sampled_from([0.5, 2.0]),
            "seed": SEEDS,
        },
    ),
    "variance_scaling": (
        keras.initializers.VarianceScaling,
        {
            "scale": st.sampled_from([2.0, 1.0 / 3.0]),
            "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg"]),
            "distribution": st.sampled_from(["truncated_normal", "untruncated_normal", "uniform"]),
            "seed": SEEDS,
        },
    ),
    **{
        name: (getattr(keras.initializers, cls), {"seed": SEEDS})
        for name, cls in (
            ("glorot_normal", "GlorotNormal"),
            ("glorot_uniform", "GlorotUniform"),
            ("he_normal", "HeNormal"),
            ("he_uniform", "HeUniform"),
            ("lecun_normal", "LecunNormal"),
            ("lecun_uniform", "LecunUniform"),
        )
    },  # fmt: skip
    "orthogonal": (
        keras.initializers.Orthogonal,
        {"gain": st.sampled_from([1.0, 0.5]), "seed": SEEDS},
    ),
}


@st.composite
def _initializer(draw: st.DrawFn, bias: bool) -> tuple[dict, object]:
    names = [n for n in CLASSES if not (bias and n == "orthogonal")]
    name = draw(st.sampled_from(names))
    cls, strategies = CLASSES[name]
    args = draw(st.fixed_dictionaries({}, optional=strategies))
    return {"class": name, **args}, cls(**args)


@pytest.mark.parametrize("where", ["kernel", "bias"])
def test_initializer_with_arguments_matches_keras(ops_folder, where):
    @SETTINGS
    @given(init=_initializer(bias=where == "bias"), layer=st.sampled_from(["dense", "conv2d"]))
    def check(init, layer):
        spec_init, keras_init = init
        key = f"{where}_initializer"
        if layer == "dense":
            attrs, shape = {"units": 3, key: spec_init}, [4]
            make = lambda: keras.layers.Dense(3, **{key: keras_init})  # noqa: E731
        else:
            attrs, shape = {"filters": 3, "kernel_size": 1, key: spec_init}, [2, 2, 4]
            make = lambda: keras.layers.Conv2D(3, 1, **{key: keras_init})  # noqa: E731
        doc = {"archspec": 1, "name": "t", "input": shape, "layers": [{layer: attrs}]}
        check_layer(ops_folder, doc, make, [shape])

    check()


@pytest.mark.parametrize(
    ("init", "message"),
    [
        (
            {"class": "variance_scaling", "scal": 2.0},
            "`variance_scaling` has no argument `scal` (its arguments: `seed`, `scale`",
        ),
        ({"class": "variance_scaling", "mode": "fan"}, "'fan_in', 'fan_out' or 'fan_avg'"),
        ({"class": "random_normal", "stddev": -1.0}, "greater than 0"),
        ({"class": "he_normal", "seed": 2**32}, "less than or equal to 4294967295"),
        ({"class": "magic"}, "`magic` is not one of the initializers with arguments"),
        ({"scale": 2.0}, "a mapping gives the initializer's `class`"),
        ({"class": "orthogonal"}, "`orthogonal` cannot fill this weight"),
    ],
)
def test_initializer_errors_are_located(ops_folder, init, message):
    key = "bias_initializer" if init.get("class") == "orthogonal" else "kernel_initializer"
    doc = {"archspec": 1, "name": "t", "input": [4], "layers": [{"dense": {"units": 2, key: init}}]}
    with pytest.raises(SpecError) as info:
        load(ops_folder, doc)
    assert message in info.value.message, info.value.message
    assert info.value.loc is not None and info.value.path == "layers[0]"


#: spec constraint -> the Keras constraint built by hand
CONSTRAINTS = [
    ("non_neg", keras.constraints.NonNeg()),
    ("max_norm", keras.constraints.MaxNorm()),
    (
        {"class": "max_norm", "max_value": 3.0, "axis": [0, 1]},
        keras.constraints.MaxNorm(3.0, [0, 1]),
    ),
    ({"class": "unit_norm", "axis": 1}, keras.constraints.UnitNorm(1)),
    (
        {"class": "min_max_norm", "min_value": 0.5, "max_value": 2.0, "rate": 0.5},
        keras.constraints.MinMaxNorm(0.5, 2.0, 0.5),
    ),
]


@pytest.mark.parametrize(("spec_constraint", "keras_constraint"), CONSTRAINTS)
@pytest.mark.parametrize(
    ("op", "attrs", "shape", "cls", "weights"),
    [
        ("dense", {"units": 3}, [4], keras.layers.Dense, ("kernel", "bias")),
        ("conv2d", {"filters": 2, "kernel_size": 1}, [2, 2, 3], keras.layers.Conv2D, ("kernel",)),
        ("batch_normalization", {}, [2, 3], keras.layers.BatchNormalization, ("beta", "gamma")),
        ("lstm", {"units": 2}, [3, 2], keras.layers.LSTM, ("recurrent",)),
        (
            "embedding",
            {"input_dim": 5, "output_dim": 2},
            [3],
            keras.layers.Embedding,
            ("embeddings",),
        ),
        (
            "depthwise_conv2d",
            {"kernel_size": 1},
            [2, 2, 3],
            keras.layers.DepthwiseConv2D,
            ("depthwise",),
        ),
    ],
)
def test_constraints_match_keras(
    ops_folder, spec_constraint, keras_constraint, op, attrs, shape, cls, weights
):
    given = {f"{w}_constraint": spec_constraint for w in weights}
    kwargs = {f"{w}_constraint": keras_constraint for w in weights}
    args = {k: v for k, v in attrs.items()}
    doc = {"archspec": 1, "name": "t", "input": shape, "layers": [{op: {**args, **given}}]}
    check_layer(ops_folder, doc, lambda: cls(**args, **kwargs), [shape])


def test_constraint_errors_are_located(ops_folder):
    doc = {
        "archspec": 1, "name": "t", "input": [4],
        "layers": [{"dense": {"units": 2, "kernel_constraint": {"class": "max_norm", "max": 2}}}],
    }  # fmt: skip
    with pytest.raises(SpecError) as info:
        load(ops_folder, doc)
    assert (
        "`max_norm` has no argument `max` (its arguments: `max_value`, `axis`)"
        in info.value.message
    )
