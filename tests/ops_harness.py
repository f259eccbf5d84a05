"""The check every op's generated test runs: archspec against a Keras layer built by hand.

For one spec of one layer and the same layer built by hand in Keras:

- archspec accepts the layer exactly when Keras builds it (the constructor and a call on
  symbolic inputs, then a run on a batch of two), and a refusal is one located error;
- the static output shape, trainable and non-trainable parameter counts equal Keras's;
- the compiled layer's config equals that of the hand-built layer;
- a functional model using the hand-built layer imports back to the same IR (no diff).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archspec
from archspec.analysis.stats import analyse
from archspec.compare.diff import diff
from archspec.compare.keras_import import to_ir
from archspec.errors import SpecError

#: examples per op; ARCHSPEC_OPS_EXAMPLES=200 searches longer, with new examples each run
EXAMPLES = int(os.environ.get("ARCHSPEC_OPS_EXAMPLES", "0")) or 25
DERANDOMIZE = "ARCHSPEC_OPS_EXAMPLES" not in os.environ
SEEDS = st.none() | st.sampled_from([0, 7, 2**32 - 1])
SIZES = st.integers(1, 6)
UNKNOWN = st.none() | SIZES
#: sizes tried for an axis of unknown size when a model is run
RUN_SIZES = (3, 2, 1, 4, 6, 8)


AXES = st.sampled_from([-1, -2, 0, 1, 2, 3, 4]) | st.sampled_from([[1, 2], [-1, 1], [2, 1], [1, 1]])
NAMES_1D = st.sampled_from(["zeros", "ones", "random_normal", "glorot_uniform", "he_normal"])
REGULARIZER = st.sampled_from(["l1", "l2"])
NOISE = st.sampled_from(
    [[None, 1], [1, None], [None, None, 1], [None, 1, None], [None, 2, None], [None, None, None, 1]]
)


def shape_of(rank: int, unknown: bool = True) -> st.SearchStrategy[list[int | None]]:
    size = st.one_of(SIZES, SIZES, UNKNOWN) if unknown else SIZES
    return st.lists(size, min_size=rank, max_size=rank)


ANY_RANK = st.integers(1, 4).flatmap(shape_of)


def attrs_of(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy:
    """Attribute mappings: the required ones always, any subset of the optional ones."""
    return st.fixed_dictionaries(
        {k: st.just(v) if not isinstance(v, st.SearchStrategy) else v for k, v in required.items()},
        optional=optional,
    )


# ---------------------------------------------------------------------------- helpers


def load(folder: Path, doc: dict[str, Any]) -> archspec.ArchSpec:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return archspec.load(path)


def keras_builds(make: Callable[[], Any], shapes: list[list[int | None]]) -> Any:
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


def config_of(layer: Any) -> dict[str, Any]:
    """The layer's config as a saved model holds it (JSON: tuples are lists)."""
    return json.loads(json.dumps({k: v for k, v in layer.get_config().items() if k != "name"}))


def archspec_refuses(attrs: dict[str, Any], shape: list[int | None]) -> bool:
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


def check_layer(
    folder: Path,
    doc: dict[str, Any],
    make: Callable[[], Any],
    shapes: list,
    stricter: bool = False,
) -> None:
    """``stricter``: archspec refuses the layer on purpose even if Keras builds it."""
    keras.backend.clear_session(free_memory=False)
    reference = keras_builds(make, shapes)
    try:
        spec = load(folder, doc)
    except SpecError as exc:
        assert reference is None or stricter, f"archspec refused what Keras builds: {exc.format()}"
        assert exc.loc is not None and exc.path and exc.path.startswith(("layers[", "graph.")), (
            exc.format()
        )
        return
    assert not stricter, f"archspec accepted what it should refuse: {doc}"
    assert reference is not None, f"archspec accepted what Keras refuses: {doc}"
    graph = spec.graph()
    hand = reference.operations[-1]  # a layer, or a keras.ops operation
    (name,) = [n for n, node in graph.nodes.items() if node.op != "input"]
    node = graph.nodes[name]
    assert node.shape == tuple(hand.output.shape[1:])
    stats = {s.name: s for s in analyse(graph).layers}[name]
    trainable = sum(math.prod(w.shape) for w in getattr(hand, "trainable_weights", []))
    non_trainable = sum(math.prod(w.shape) for w in getattr(hand, "non_trainable_weights", []))
    assert (stats.trainable_params, stats.non_trainable_params) == (trainable, non_trainable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = spec.build()
    built = next(op for op in model.operations if op.name == name)
    assert type(built) is type(hand)
    assert config_of(built) == config_of(hand)
    if isinstance(hand, keras.layers.Layer):
        assert built.count_params() == hand.count_params()
    result = diff(graph, to_ir(reference))
    assert result.identical, [(c.kind, c.where, c.attribute, c.a, c.b) for c in result.changes]


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def check_op(
    folder: Path,
    op: str,
    case: tuple[st.SearchStrategy, st.SearchStrategy, Callable[[dict[str, Any]], Any]],
    refuses: Callable[[dict[str, Any], list[int | None]], bool],
) -> None:
    """Run :func:`check_layer` on one-layer specs of ``op`` drawn from ``case``: (attribute
    strategy, input shapes strategy, the Keras layer built by hand from the attributes).
    ``refuses(attrs, shape)`` says when archspec refuses on purpose what Keras builds."""
    attrs_strategy, shapes_strategy, hand = case

    @SETTINGS
    @given(attrs=attrs_strategy, shapes=shapes_strategy)
    def check(attrs: dict[str, Any], shapes: list) -> None:
        doc = {"archspec": 1, "name": "t", "input": shapes[0], "layers": [{op: attrs}]}
        check_layer(folder, doc, lambda: hand(attrs), shapes, refuses(attrs, shapes[0]))

    check()
