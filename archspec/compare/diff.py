"""The comparison engine: what differs between two IR graphs, aligned by hierarchy.

Layers are paired by their names when the two graphs mostly share them (two specs, or
a spec and a model built with the same naming), which aligns them by hierarchy, since
names are scope paths (``conv4_block7_1_conv``). Otherwise they are paired by
structure: both graphs are walked from their outputs in a canonical order and the op
sequences are matched, so a hand-written model with Keras's automatic names lines up
with a spec. Paired layers are compared by op, canonical attributes, connections and
shape. Unpaired ones are reported as added or removed, whole scopes at a time, and a
scope whose numbered sub-blocks grow or shrink is reported as a repeat count change
(ResNet-50 against ResNet-101: conv4 has 6 blocks, then 23).

The test suite checks every compiled spec against its reference with this same engine.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from archspec.analysis.stats import LayerStats, Totals, layer_stats
from archspec.ir.graph import Graph, Node

#: fraction of the smaller graph's layer names that must be shared to pair by name
NAME_ALIGNMENT_THRESHOLD = 0.5
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


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


def align(a: Graph, b: Graph) -> tuple[str, list[tuple[str, str]]]:
    """Pairs of layers (a name, b name), by name or by structure, and which was used."""
    layers_a = [n for n, node in a.nodes.items() if node.op != "input"]
    layers_b = [n for n, node in b.nodes.items() if node.op != "input"]
    inputs = list(zip(a.inputs, b.inputs, strict=False))
    shared = set(layers_a) & set(layers_b)
    # measured against the smaller graph: ResNet-50 shares all its names with ResNet-152
    by_name = len(shared) >= NAME_ALIGNMENT_THRESHOLD * max(min(len(layers_a), len(layers_b)), 1)
    if not by_name:
        shared = set()
    pairs = inputs + [(n, n) for n in layers_a if n in shared]
    # what names did not pair (all of it, or layers Keras named itself) pairs by structure
    rest_a = [n for n in canonical_order(a) if a.nodes[n].op != "input" and n not in shared]
    rest_b = [n for n in canonical_order(b) if b.nodes[n].op != "input" and n not in shared]
    matcher = difflib.SequenceMatcher(
        a=[a.nodes[n].op for n in rest_a], b=[b.nodes[n].op for n in rest_b], autojunk=False
    )
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs.append((rest_a[block.a + k], rest_b[block.b + k]))
    return ("names" if by_name else "structure"), pairs


# ---------------------------------------------------------------------------- comparison


def _input_rank(graph: Graph, node: Node) -> int | None:
    return len(graph.nodes[node.inputs[0]].shape) if node.inputs else None


def _where(na: str, nb: str) -> str:
    return na if na == nb else f"{na} ~ {nb}"


def _compare_pair(
    a: Graph, b: Graph, na: str, nb: str, to_b: dict[str, str], added: set[str]
) -> list[Change]:
    x, y = a.nodes[na], b.nodes[nb]
    where = _where(na, nb)
    if x.op != y.op:
        return [Change("op", where, x.op, y.op)]
    changes: list[Change] = []
    if x.op == "input":
        if x.shape != y.shape:
            changes.append(Change("shape", where, x.shape, y.shape))
        return changes
    ca = x.attrs.canonical(_input_rank(a, x))
    cb = y.attrs.canonical(_input_rank(b, y))
    for key in sorted(ca.keys() | cb.keys()):
        if ca.get(key) != cb.get(key):
            changes.append(Change("attribute", where, ca.get(key), cb.get(key), attribute=key))
    mapped = [to_b.get(i, f"<unpaired {i}>") for i in x.inputs]
    rewired = [(m, i) for m, i in zip(mapped, y.inputs, strict=False) if m != i]
    # being fed by layers one side lacks is implied by their addition or removal
    implied = len(mapped) == len(y.inputs) and all(
        i in added or m.startswith("<unpaired") for m, i in rewired
    )
    if mapped != y.inputs and not implied:
        changes.append(Change("inputs", where, x.inputs, y.inputs))
    if x.shape != y.shape:
        changes.append(Change("shape", where, x.shape, y.shape))
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
        match = _NUMBERED.match(scope[-1])
        if match:
            groups[(scope[:-1], match.group(1))].append((int(match.group(2)), scope))
    grouped: set[tuple[str, ...]] = set()
    for (parent, stem), members in groups.items():
        total = sum(
            1
            for s in by_scope
            if len(s) == len(parent) + 1
            and s[:-1] == parent
            and (m := _NUMBERED.match(s[-1])) is not None
            and m.group(1) == stem
        )
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


def diff(a: Graph, b: Graph, *, a_label: str | None = None, b_label: str | None = None) -> Diff:
    """Every difference between ``a`` and ``b``, with totals and per-stage figures."""
    mode, pairs = align(a, b)
    to_b = dict(pairs)
    to_a = {nb: na for na, nb in pairs}
    changes: list[Change] = []
    added = {n for n in b.nodes if n not in to_a}
    for na, nb in pairs:
        changes.extend(_compare_pair(a, b, na, nb, to_b, added))
    changes.extend(_unpaired(a, [n for n in a.nodes if n not in to_b], "removed"))
    changes.extend(_unpaired(b, [n for n in b.nodes if n not in to_a], "added"))
    outputs_a = [to_b.get(o, f"<unpaired {o}>") for o in a.outputs]
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
