"""The nesting of stages and block calls over a model's layers, as a tree of intervals.

``info --depth`` groups layers by their naming scopes (``conv2`` > ``block1`` > ``0``).
A block called with ``name: ""`` opens no scope, though (specs that reproduce
keras.applications' names do it throughout), yet it is still a block a reader wants to
see as one box: NASNet's cells, DenseNet's ``bn_relu`` pairs, Inception-v3's last two
modules. The source path of each layer still names every call it sits in
(``layers[4].normal_cell.x1_1[0].sep_conv_block.layers[2]``), so the tree here is the
union of both: the runs of each scope, as ``info`` has them, and the runs of each call
and stage of the source path. The copies of a single layer that a ``repeat`` chains are
a group too (``dense ×3``), opened at the next depth like any other.

Every group is an interval of the model's layer order: expansion appends a call's layers
one after the other, so a call, a scope or a stage never interleaves with another. A
``repeat`` does not number its copies in the source path; consecutive copies are told
apart where the call's body starts again (its first step comes after its last).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from archspec.draw.labels import short_range
from archspec.ir.graph import Node

_STAGE = re.compile(r"stages\[(\d+)\]")
_STEP = re.compile(r"(.*)\[(\d+)\]")


@dataclass
class Group:
    """Layers ``start`` to ``end - 1`` (in graph order) that form one stage or block call.

    ``children`` are sub-groups and single layers (their index), in order, covering the
    whole interval.
    """

    start: int
    end: int
    #: the scope's name (``conv2_block1``), ``stage<k>`` for an unnamed stage, or ""
    #: for a call that opened no scope (its box is named after its output layer)
    name: str
    #: the block called (``bottleneck``), ``stage``, or ``sequential`` / ``block`` for
    #: a scope no call of the source path matches
    kind: str
    #: a stage: the default view opens it and shows its blocks
    stage: bool = False
    #: copies of one layer that a ``repeat`` chains (``dense ×3``); 1 for anything else
    count: int = 1
    children: list[Group | int] = field(default_factory=list)

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class _Span:
    """One run of layers that share a scope or a call, before the tree is built."""

    start: int
    end: int
    scope: tuple[str, ...] = ()
    kind: str | None = None
    stage: int | None = None
    level: int = 0
    copies: int = 0


def _runs(keys: Sequence[object | None]) -> list[tuple[int, int, object]]:
    """Maximal runs ``(start, end, key)`` of equal keys that are not None."""
    out: list[tuple[int, int, object]] = []
    start, current = 0, None
    for i, key in enumerate(keys):
        if key != current:
            if current is not None:
                out.append((start, i, current))
            start, current = i, key
    if current is not None:
        out.append((start, len(keys), current))
    return out


def _scope_spans(nodes: Sequence[Node]) -> list[_Span]:
    deepest = max((len(node.scopes) for node in nodes), default=0)
    spans = []
    for depth in range(1, deepest + 1):
        keys = [n.scopes[:depth] if len(n.scopes) >= depth else None for n in nodes]
        spans += [_Span(s, e, scope=k) for s, e, k in _runs(keys)]  # type: ignore[arg-type]
    return spans


@dataclass(frozen=True, slots=True)
class _Frame:
    """A call or a stage on a layer's source path, and the step it continues with."""

    prefix: str  # the path up to and including the call (its identity, with repeats merged)
    kind: str | None  # the block called; None for a stage
    stage: int | None  # the stage's index, for a stage
    step: str  # the next segment: which step of the body the layer comes from


def frames(path: str, blocks: Collection[str]) -> list[_Frame]:
    """The stages and block calls a source path passes through, outermost first.

    A call is a block's name right after an indexed step (``layers[4].bottleneck``);
    a stage is ``stages[k]``.
    """
    segments = path.split(".")
    out = []
    end = -1
    for i, segment in enumerate(segments):
        end += len(segment) + 1
        match = _STAGE.fullmatch(segment)
        if match:
            kind, stage = None, int(match[1])
        elif i and "[" not in segment and segments[i - 1].endswith("]") and segment in blocks:
            kind, stage = segment, None
        else:
            continue
        step = segments[i + 1] if i + 1 < len(segments) else ""
        out.append(_Frame(path[:end], kind, stage, step))
    return out


def _split_copies(steps: Sequence[str]) -> list[int]:
    """Where a run of one call's layers starts a new copy of a ``repeat``.

    Within one call the body's steps come in order (branches in one fixed order, each
    step's layers together), so a step that comes before the previous layer's starts the
    next copy.
    """
    ranks: dict[str, int] = {}
    cuts = []
    previous: tuple[int, int] | None = None
    for i, step in enumerate(steps):
        match = _STEP.fullmatch(step)
        if match is None:
            continue
        position = (ranks.setdefault(match[1], len(ranks)), int(match[2]))
        if previous is not None and position < previous:
            cuts.append(i)
        previous = position
    return cuts


def _call_spans(nodes: Sequence[Node], blocks: Collection[str]) -> list[_Span]:
    paths = [frames(node.source.path, blocks) for node in nodes]
    deepest = max((len(p) for p in paths), default=0)
    spans = []
    for level in range(deepest):
        keys = [p[level].prefix if len(p) > level else None for p in paths]
        for start, end, _ in _runs(keys):
            first = paths[start][level]
            bounds = [start]
            if first.kind is not None:
                steps = [paths[i][level].step for i in range(start, end)]
                bounds += [start + cut for cut in _split_copies(steps)]
            bounds.append(end)
            for s, e in zip(bounds, bounds[1:], strict=False):
                spans.append(_Span(s, e, kind=first.kind, stage=first.stage, level=level))
    return spans


def _repeat_spans(nodes: Sequence[Node]) -> list[_Span]:
    """Runs of one layer step's copies (its ``repeat``), each reading the one before."""
    spans = []
    start = 0
    for i in range(1, len(nodes) + 1):
        if i < len(nodes):
            node, before = nodes[i], nodes[i - 1]
            if (
                node.op == before.op != "input"
                and node.source.path == before.source.path
                and node.inputs == [before.name]
            ):
                continue
        if i - start >= 2:
            spans.append(_Span(start, i, kind=nodes[start].op, copies=i - start))
        start = i
    return spans


def _merge(spans: list[_Span], nodes: Sequence[Node]) -> list[Group]:
    """One group per distinct interval of two layers or more, named from all its spans."""
    by_interval: dict[tuple[int, int], list[_Span]] = {}
    for span in spans:
        if span.end - span.start >= 2:
            by_interval.setdefault((span.start, span.end), []).append(span)
    groups = []
    for (start, end), same in by_interval.items():
        scopes = [s.scope for s in same if s.scope]
        calls = [s for s in same if s.kind is not None and not s.copies]
        stages = [s for s in same if s.stage is not None]
        if not (scopes or calls or stages):  # only the copies of one repeated layer
            first, last = nodes[start].name, nodes[end - 1].name
            groups.append(
                Group(start, end, short_range(first, last), same[0].kind or "", count=end - start)
            )
            continue
        scope = max(scopes, key=len) if scopes else ()
        name = "_".join(scope)
        if calls:
            kind = max(calls, key=lambda s: s.level).kind or ""
        elif stages:
            kind = "stage"
        else:
            model = nodes[start].model
            kind = "sequential" if model is not None and scope and scope[-1] == model else "block"
        if not name and stages and not calls:
            name = f"stage{stages[0].stage + 1}"  # type: ignore[operator]
        groups.append(Group(start, end, name, kind, stage=bool(stages) and not calls))
    return groups


def _nest(groups: list[Group], size: int) -> Group:
    """The tree of groups under a root covering all ``size`` layers; single layers as leaves.

    A group that would cross another's boundary (which expansion never produces) is
    left out rather than drawn wrongly.
    """
    root = Group(0, size, "", "model")
    stack = [root]
    for group in sorted(groups, key=lambda g: (g.start, -g.end)):
        while stack[-1].end <= group.start:
            stack.pop()
        if group.end > stack[-1].end:
            continue
        stack[-1].children.append(group)
        stack.append(group)
    _add_leaves(root)
    return root


def _add_leaves(root: Group) -> None:
    pending = [root]
    while pending:
        group = pending.pop()
        items: list[Group | int] = []
        position = group.start
        for child in group.children:
            assert isinstance(child, Group)
            items += range(position, child.start)
            items.append(child)
            position = child.end
            pending.append(child)
        items += range(position, group.end)
        group.children = items


def hierarchy(nodes: Sequence[Node], blocks: Collection[str] = ()) -> Group:
    """The tree of stages and block calls over ``nodes`` (a graph's nodes, in order).

    ``blocks`` names the spec's blocks, so that a call on a source path is told from a
    branch of a graph; without it only the naming scopes group layers.
    """
    spans = _scope_spans(nodes) + _repeat_spans(nodes)
    if blocks:
        spans += _call_spans(nodes, blocks)
    return _nest(_merge(spans, nodes), len(nodes))
