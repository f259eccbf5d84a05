"""Structural alignment grows linearly with the graphs, and stays a longest match.

Graphs are built directly as IR (no Keras, no YAML): chains of residual blocks
(dense, relu, add) whose layer names differ between the two sides, so they are
paired by structure, as a hand-written model with Keras's own names is.
"""

from __future__ import annotations

import inspect
import sys
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from archspec.compare import sequences
from archspec.compare.diff import diff
from archspec.compare.sequences import matching_pairs
from archspec.ir.graph import Graph, Node, Source
from archspec.ops import REGISTRY

DENSE = REGISTRY.get("dense").attrs.model_validate({"units": 4})
WIDE = REGISTRY.get("dense").attrs.model_validate({"units": 4, "use_bias": False})
RELU = REGISTRY.get("relu").attrs()


def residual_chain(blocks: int, prefix: str, *, skip=(), wide=(), scope=None) -> Graph:
    """``blocks`` blocks of dense -> relu -> add(block input, relu), 3 layers each.

    ``scope(k)``, if given, names the scope of block ``k``.
    """
    graph = Graph(prefix)
    where = Source(None, prefix)

    def add(name, op, attrs, inputs, scopes=()):
        graph.nodes[name] = Node(name, op, attrs, inputs, where, scopes, (4,))

    add("in", "input", {"shape": (4,)}, [])
    graph.inputs = ["in"]
    last = "in"
    for k in range(blocks):
        if k in skip:
            continue
        scopes = (scope(k),) if scope else ()
        names = [f"{prefix}{k}_dense", f"{prefix}{k}_relu", f"{prefix}{k}_add"]
        add(names[0], "dense", WIDE if k in wide else DENSE, [last], scopes)
        add(names[1], "relu", RELU, [names[0]], scopes)
        merge = REGISTRY.get("add").attrs.model_validate({"inputs": [last, names[1]]})
        add(names[2], "add", merge, [last, names[1]], scopes)
        last = names[2]
    graph.outputs = [last]
    return graph


def lcs_length(a, b) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b):
            previous, row[j + 1] = row[j + 1], previous + 1 if x == y else max(row[j + 1], row[j])
    return row[-1]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.integers(0, 3), max_size=24),
    st.lists(st.integers(0, 3), max_size=24),
    st.integers(0, 30),
)
def test_matching_is_in_order_and_longest(a, b, max_edits):
    """A longest common subsequence within the edit bound; in order, and true, past it."""
    original = sequences.MAX_EDITS
    sequences.MAX_EDITS = max_edits
    try:
        pairs = matching_pairs(a, b)
    finally:
        sequences.MAX_EDITS = original
    assert all(a[i] == b[j] for i, j in pairs)
    assert all(p < q and r < s for (p, r), (q, s) in zip(pairs, pairs[1:], strict=False))
    best = lcs_length(a, b)
    if len(a) + len(b) - 2 * best <= max_edits:
        assert len(pairs) == best
    if a == b:
        assert len(pairs) == len(a)


class Counted:
    """An op name that counts how often it is compared."""

    comparisons = 0

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        Counted.comparisons += 1
        return isinstance(other, Counted) and self.name == other.name

    def __hash__(self) -> int:
        return hash(self.name)


def comparisons(a: list[str], b: list[str]) -> int:
    Counted.comparisons = 0
    matching_pairs([Counted(x) for x in a], [Counted(x) for x in b])
    return Counted.comparisons


def test_comparisons_grow_linearly_on_repetitive_sequences():
    block = ["dense", "relu", "add"]

    def cases(n):
        same = block * n
        fewer = block * (n - 3)
        changed = [op for k in range(n) for op in (block if k % (n // 4) else ["dense", "add"])]
        return [(same, same), (same, fewer), (same, changed)]

    for (a1, b1), (a4, b4) in zip(cases(1_000), cases(4_000), strict=True):
        small, large = comparisons(a1, b1), comparisons(a4, b4)
        assert large <= 5 * small, (small, large)


def test_diff_of_20000_layers_with_different_names():
    """Linear on the shape that took a minute; results as exact as before."""
    blocks = 6_667  # 20,001 layers
    a = residual_chain(blocks, "a")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 200)  # no recursion over the graph
    try:
        start = time.perf_counter()
        same = diff(a, residual_chain(blocks, "b"))
        elapsed = time.perf_counter() - start
        fewer = diff(a, residual_chain(blocks, "b", skip={3_000}))
        changed = diff(a, residual_chain(blocks, "b", wide={5_000}))
    finally:
        sys.setrecursionlimit(limit)
    assert same.identical and same.alignment == "structure" and len(same.pairs) == len(a)
    assert elapsed < 10, elapsed  # about 0.3 s; difflib took over 30 s
    removed = [(c.kind, c.where) for c in fewer.changes if c.kind == "removed"]
    assert len(removed) == 3 and all(w.startswith("a") for _, w in removed)
    assert [(c.kind, c.where, c.attribute) for c in changed.changes] == [
        ("attribute", "a5000_dense ~ b5000_dense", "use_bias")
    ]


def test_unpaired_scopes_are_linear_and_numbers_bounded():
    """Many unpaired numbered scopes with distinct stems, and scope names of long digits."""
    a = residual_chain(5_000, "s", scope=lambda k: f"unit{k}_v1")  # stems unit0_v, unit1_v, ...
    b = residual_chain(10, "t", scope=lambda k: f"t{k}")
    long_names = residual_chain(2, "n", scope=lambda k: "9" * 20_000 + f"x{k}")
    huge_number = residual_chain(2, "h", scope=lambda k: "block" + "9" * 5_000 + str(k))
    start = time.perf_counter()
    result = diff(a, b)
    assert time.perf_counter() - start < 10
    assert sum(c.kind == "removed" for c in result.changes) == 4_990
    for graph in (long_names, huge_number):
        assert not diff(graph, b).identical
