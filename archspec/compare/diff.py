"""The comparison engine: what differs between two IR graphs, aligned by hierarchy.

Layers are paired by their names when the two graphs mostly share them (two specs, or
a spec and a model built with the same naming), which aligns them by hierarchy, since
names are scope paths (``conv4_block7_1_conv``). Otherwise they are paired by
structure: both graphs are walked from their outputs in a canonical order and the op
sequences are matched (in near-linear time, see :mod:`archspec.compare.sequences`), so
a hand-written model with Keras's automatic names lines up with a spec. Paired layers
are compared by op, canonical attributes, whether they are trainable, dtype policy, connections and
shape. Unpaired ones are reported as added or removed, whole scopes at a time, and a
scope whose numbered sub-blocks grow or shrink is reported as a repeat count change
(ResNet-50 against ResNet-101: conv4 has 6 blocks, then 23).

The test suite checks every compiled spec against its reference with this same engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from archspec.analysis.stats import LayerStats, Totals, layer_stats
from archspec.compare.sequences import matching_pairs
from archspec.ir.graph import Graph, Node, gc_paused

#: fraction of the smaller graph's layer names that must be shared to pair by name
NAME_ALIGNMENT_THRESHOLD = 0.5
#: numbers longer than this are not read as repeat indices (Python refuses huge ints)
_MAX_INDEX_DIGITS = 18


@dataclass
class Change:
    """One difference. ``where`` names the layer or scope (``a ~ b`` when names differ)."""

    kind: str
    where: str
    a: Any = None
    b: Any = None
    attribute: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "where": self.where}
        if self.attribute is not None:
            out["attribute"] = self.attribute
        out["a"], out["b"] = _jsonable(self.a), _jsonable(self.b)
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class Diff:
    """The result of :func:`diff`."""

    a: str
    b: str
    alignment: str
    pairs: list[tuple[str, str]]
    changes: list[Change]
    totals: dict[str, Totals]
    stages: list[tuple[str, Totals, Totals]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.changes

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "a": self.a,
            "b": self.b,
            "alignment": self.alignment,
            "totals": {side: _figures(f) for side, f in self.totals.items()},
            "stages": [
                {"name": name, "a": _figures(fa), "b": _figures(fb)} for name, fa, fb in self.stages
            ],
            "changes": [c.to_json() for c in self.changes],
        }


def _figures(totals: Totals) -> dict[str, Any]:
    return {**totals.figures(), "layers": totals.layers}


# ---------------------------------------------------------------------------- alignment


def canonical_order(graph: Graph) -> list[str]:
    """Node names in post-order from the outputs, each node's inputs visited in order."""
    order: list[str] = []
    seen: set[str] = set()
    for root in graph.outputs:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, expanded = stack.pop()
            if name in seen:
                continue
            if expanded:
                seen.add(name)
                order.append(name)
                continue
            stack.append((name, True))
            for parent in reversed(graph.nodes[name].inputs):
                if parent not in seen:
                    stack.append((parent, False))
    return order


def align(a: Graph, b: Graph, by: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """Pairs of layers (a name, b name), by name or by structure, and which was used.

    ``by`` forces ``"names"`` or ``"structure"``; by default names are used when the
    graphs mostly share them.
    """
    layers_a = [n for n, node in a.nodes.items() if node.op != "input"]
    layers_b = [n for n, node in b.nodes.items() if node.op != "input"]
    inputs = list(zip(a.inputs, b.inputs, strict=False))
    shared = set(layers_a) & set(layers_b)
    # measured against the smaller graph: ResNet-50 shares all its names with ResNet-152
    by_name = len(shared) >= NAME_ALIGNMENT_THRESHOLD * max(min(len(layers_a), len(layers_b)), 1)
    if by is not None:
        by_name = by == "names"
    if not by_name:
        shared = set()
    pairs = inputs + [(n, n) for n in layers_a if n in shared]
    # what names did not pair (all of it, or layers Keras named itself) pairs by structure
    rest_a = [n for n in canonical_order(a) if a.nodes[n].op != "input" and n not in shared]
    rest_b = [n for n in canonical_order(b) if b.nodes[n].op != "input" and n not in shared]
    ops_a, ops_b = [a.nodes[n].op for n in rest_a], [b.nodes[n].op for n in rest_b]
    pairs += [(rest_a[i], rest_b[j]) for i, j in matching_pairs(ops_a, ops_b)]
    return ("names" if by_name else "structure"), pairs


# ---------------------------------------------------------------------------- comparison


def _input_rank(graph: Graph, node: Node) -> int | None:
    return len(graph.nodes[node.inputs[0]].shape) if node.inputs else None


def _where(na: str, nb: str) -> str:
    return na if na == nb else f"{na} ~ {nb}"


def _canonical(graph: Graph, node: Node, forms: dict[tuple[int, int | None], Any]) -> Any:
    """``node``'s canonical attributes, computed once per attribute object and input rank.

    Expansion shares one attribute object among the copies of a repeated block, so most
    of a large model's layers share a few dozen. ``forms`` keeps the objects it has
    seen alive with their forms, so their ids stay unique.
    """
    rank = _input_rank(graph, node)
    key = (id(node.attrs), rank)
    if key not in forms:
        forms[key] = (node.attrs, node.attrs.canonical(rank))
    return forms[key][1]


def _compare_pair(
    a: Graph,
    b: Graph,
    na: str,
    nb: str,
    to_b: dict[str, str],
    added: set[str],
    forms: dict[tuple[int, int | None], Any],
) -> list[Change]:
    x, y = a.nodes[na], b.nodes[nb]
    where = _where(na, nb)
    if x.op != y.op:
        return [Change("op", where, x.op, y.op)]
    if x.op == "input":
        return _compare_inputs(x, y, where)
    changes: list[Change] = []
    ca, cb = _canonical(a, x, forms), _canonical(b, y, forms)
    for key in sorted(ca.keys() | cb.keys()):
        if ca.get(key) != cb.get(key):
            changes.append(Change("attribute", where, ca.get(key), cb.get(key), attribute=key))
    if x.trainable != y.trainable:
        changes.append(Change("trainable", where, x.trainable, y.trainable))
    if x.dtype != y.dtype:
        changes.append(Change("dtype", where, x.dtype or "float32", y.dtype or "float32"))
    if x.model != y.model:
        changes.append(Change("nested model", where, x.model or "none", y.model or "none"))
    # an input without a partner maps to None, which no name equals
    mapped = [to_b.get(i) for i in x.inputs]
    rewired = [(m, i) for m, i in zip(mapped, y.inputs, strict=False) if m != i]
    # being fed by layers one side lacks is implied by their addition or removal
    implied = len(mapped) == len(y.inputs) and all(i in added or m is None for m, i in rewired)
    if mapped != y.inputs and not implied:
        changes.append(Change("inputs", where, x.inputs, y.inputs))
    if x.shape != y.shape:
        changes.append(Change("shape", where, x.shape, y.shape))
    return changes


def _compare_inputs(x: Node, y: Node, where: str) -> list[Change]:
    """Model inputs: their shape, and any setting besides it (dtype, batch size, ...).

    A setting an input does not record is Keras's default, shown as ``default``.
    """
    changes: list[Change] = []
    if x.shape != y.shape:
        changes.append(Change("shape", where, x.shape, y.shape))
    settings_a = {k: v for k, v in x.attrs.items() if k != "shape"}
    settings_b = {k: v for k, v in y.attrs.items() if k != "shape"}
    for key in sorted(settings_a.keys() | settings_b.keys()):
        va, vb = settings_a.get(key, "default"), settings_b.get(key, "default")
        if va != vb:
            changes.append(Change("attribute", where, va, vb, attribute=key))
    return changes


def _unpaired(graph: Graph, names: list[str], kind: str) -> list[Change]:
    """Unpaired layers as whole scopes where possible, repeats where numbered."""
    missing = set(names)
    by_scope: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, node in graph.nodes.items():
        for depth in range(1, len(node.scopes) + 1):
            by_scope[node.scopes[:depth]].append(name)
    whole = {scope for scope, members in by_scope.items() if all(m in missing for m in members)}
    position = {name: i for i, name in enumerate(graph.nodes)}
    top = sorted(
        (s for s in whole if not any(s[:d] in whole for d in range(1, len(s)))),
        key=lambda s: min(position[m] for m in by_scope[s]),
    )
    changes: list[Change] = []
    covered: set[str] = set()
    # numbered sibling scopes (block7 ... block23) become one repeat-count change
    groups: dict[tuple[tuple[str, ...], str], list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
    for scope in top:
        numbered = _numbered(scope[-1])
        if numbered:
            groups[(scope[:-1], numbered[0])].append((numbered[1], scope))
    # how many numbered siblings each (parent, stem) has in the whole graph, counted once
    siblings: dict[tuple[tuple[str, ...], str], int] = defaultdict(int)
    for scope in by_scope if groups else ():
        numbered = _numbered(scope[-1])
        if numbered:
            siblings[(scope[:-1], numbered[0])] += 1
    grouped: set[tuple[str, ...]] = set()
    for (parent, stem), members in groups.items():
        total = siblings[(parent, stem)]
        kept = total - len(members)
        if kept == 0:
            continue  # nothing of the kind on the other side: plain additions or removals
        numbers = sorted(n for n, _ in members)
        label = "_".join(parent) or "model"
        span = f"{stem}{numbers[0]}" + (f" ... {stem}{numbers[-1]}" if len(numbers) > 1 else "")
        a_count, b_count = (kept, total) if kind == "added" else (total, kept)
        changes.append(Change("repeats", f"{label}: {stem}", a_count, b_count, attribute=span))
        for _, scope in members:
            grouped.add(scope)
            covered.update(by_scope[scope])
    for scope in top:
        if scope in grouped:
            continue
        members = by_scope[scope]
        changes.append(Change(kind, "_".join(scope), f"scope with {len(members)} layers"))
        covered.update(members)
    for name in names:
        if name not in covered:
            node = graph.nodes[name]
            changes.append(Change(kind, name, node.op))
    return changes


def _numbered(scope: str) -> tuple[str, int] | None:
    """``("block", 7)`` for ``block7``; None for a name without a number at its end.

    Stripping digits takes linear time, where a regular expression would backtrack
    quadratically over a long run of digits.
    """
    stem = scope.rstrip("0123456789")
    digits = scope[len(stem) :]
    if not digits or len(digits) > _MAX_INDEX_DIGITS:
        return None
    return stem, int(digits)


def _stage_figures(
    stats: list[LayerStats], scope_of: dict[str, tuple[str, ...]]
) -> tuple[dict[str, Totals], Totals]:
    stages: dict[str, Totals] = defaultdict(Totals)
    total = Totals()
    for s in stats:
        if s.op == "input":
            continue
        total.add(s)
        scopes = scope_of.get(s.name) or s.scopes
        stages[scopes[0] if scopes else "(top level)"].add(s)
    return stages, total


@gc_paused()  # tens of thousands of small, acyclic objects
def diff(
    a: Graph,
    b: Graph,
    *,
    a_label: str | None = None,
    b_label: str | None = None,
    align_by: str | None = None,
) -> Diff:
    """Every difference between ``a`` and ``b``, with totals and per-stage figures.

    ``align_by`` (``"names"`` or ``"structure"``) forces how layers are paired.
    """
    mode, pairs = align(a, b, align_by)
    to_b = dict(pairs)
    to_a = {nb: na for na, nb in pairs}
    changes: list[Change] = []
    added = {n for n in b.nodes if n not in to_a}
    forms: dict[tuple[int, int | None], Any] = {}
    for na, nb in pairs:
        changes.extend(_compare_pair(a, b, na, nb, to_b, added, forms))
    changes.extend(_unpaired(a, [n for n in a.nodes if n not in to_b], "removed"))
    changes.extend(_unpaired(b, [n for n in b.nodes if n not in to_a], "added"))
    outputs_a = [to_b.get(o) for o in a.outputs]
    if outputs_a != b.outputs:
        changes.append(Change("outputs", "model", a.outputs, b.outputs))

    stats_a, stats_b = layer_stats(a), layer_stats(b)
    # b's layers without scopes of their own (an imported Keras model) borrow their
    # partner's, so per-stage figures line up
    scope_of_b = {
        nb: tuple(s for s in a.nodes[na].scopes if s) for na, nb in pairs if not b.nodes[nb].scopes
    }
    stages_a, total_a = _stage_figures(stats_a, {})
    stages_b, total_b = _stage_figures(stats_b, scope_of_b)
    names = list(dict.fromkeys([*stages_a, *stages_b]))
    stages = [(n, stages_a.get(n, Totals()), stages_b.get(n, Totals())) for n in names]
    return Diff(
        a_label or a.name,
        b_label or b.name,
        mode,
        pairs,
        changes,
        {"a": total_a, "b": total_b},
        stages,
    )
