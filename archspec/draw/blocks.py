"""The block-level view of a model: the boxes a drawing shows and the edges between them.

The hierarchy (:mod:`archspec.draw.hierarchy`) is cut at a depth: each group at that
depth becomes one box, each layer above it a box of its own. By default the cut is at
the block calls: stages are opened, each block call is a box. Then a chain of
structurally identical blocks side by side in one stage (DenseNet's dense layers,
ResNet's identity blocks) becomes one box marked with the count, with the summed figures
and the output shape of the last. Edges are the model's connections between boxes.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

from archspec.analysis.stats import Analysis
from archspec.draw.hierarchy import Group, hierarchy
from archspec.draw.labels import short_range
from archspec.errors import SpecError
from archspec.ir.graph import Graph, Shape

#: most boxes a drawing may have: beyond, a layout and an image are too large to use
MAX_BOXES = 5_000


@dataclass
class Box:
    """One box: a single layer, a block call, or ``count`` repeated block calls."""

    id: str
    name: str
    #: the layer's op (with its marks: ``conv2d, frozen``) or the block's kind
    kind: str
    #: layers ``start`` to ``end - 1`` of the graph, in order
    start: int
    end: int
    output_shape: Shape
    trainable_params: int
    non_trainable_params: int
    macs: int | None
    #: blocks collapsed into this box (1: not a repeat)
    count: int = 1
    block: bool = False
    input: bool = False
    output: bool = False

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def layers(self) -> int:
        return self.end - self.start


@dataclass
class BlockView:
    """The boxes of a drawing in model order, and the edges between them (box indices)."""

    name: str
    boxes: list[Box]
    edges: list[tuple[int, int]]
    #: the depth asked for; None for the default (block calls)
    depth: int | None
    analysis: Analysis

    def box_of(self) -> list[int]:
        """For each layer of the graph, the index of the box that holds it."""
        out = [0] * (self.boxes[-1].end if self.boxes else 0)
        for index, box in enumerate(self.boxes):
            out[box.start : box.end] = [index] * box.layers
        return out


class _Wiring:
    """Inputs and consumers of each layer by index, and the model's outputs."""

    def __init__(self, graph: Graph) -> None:
        index = {name: i for i, name in enumerate(graph.nodes)}
        self.inputs = [[index[i] for i in node.inputs] for node in graph.nodes.values()]
        self.consumers: list[list[int]] = [[] for _ in self.inputs]
        for v, sources in enumerate(self.inputs):
            for u in sources:
                self.consumers[u].append(v)
        self.outputs = {index[name] for name in graph.outputs}
        self.is_input = {index[name] for name in graph.inputs}

    def exit(self, start: int, end: int) -> int:
        """The layer whose output leaves the interval (the last such), else its last."""
        for k in range(end - 1, start - 1, -1):
            if k in self.outputs or any(c >= end for c in self.consumers[k]):
                return k
        return end - 1

    def chained(self, a: Group, b: Group) -> bool:
        """Whether ``b`` reads only from ``a``, and ``a`` feeds only ``b``: a chain link."""
        for k in range(b.start, b.end):
            if any(u < a.start for u in self.inputs[k]):
                return False
        for k in range(a.start, a.end):
            if k in self.outputs or any(c >= b.end for c in self.consumers[k]):
                return False
        return True

    def signature(self, group: Group, ops: Sequence[str]) -> Hashable:
        """The block's kind, ops and internal wiring; inputs from outside are alike.

        The copies of a repeated layer are alike whatever their number.
        """
        s, e = group.start, group.end
        if group.count > 1:
            return ("copies", group.kind)
        return (
            group.kind,
            tuple(
                (ops[k], tuple(u - s if u >= s else -1 for u in self.inputs[k]))
                for k in range(s, e)
            ),
        )


def _cut(root: Group, depth: int | None) -> list[tuple[Group | int, int]]:
    """The items shown, in order, each with the id of the group it sits in."""
    out: list[tuple[Group | int, int]] = []

    def visit(group: Group, level: int) -> None:
        for child in group.children:
            if isinstance(child, Group) and (child.stage if depth is None else level + 1 < depth):
                visit(child, level + 1)
            else:
                out.append((child, id(group)))

    visit(root, 0)
    return out


def block_view(
    graph: Graph,
    analysis: Analysis,
    depth: int | None = None,
    blocks: Collection[str] = (),
    max_boxes: int = MAX_BOXES,
) -> BlockView:
    """The boxes and edges of ``graph`` at ``depth`` (None: one box per block call).

    ``analysis`` is ``analyse(graph)``; ``blocks`` the spec's block names, so that calls
    that open no naming scope still group their layers.
    """
    nodes = list(graph.nodes.values())
    wiring = _Wiring(graph)
    ops = [node.op for node in nodes]
    items = _cut(hierarchy(nodes, blocks), depth)
    signatures: dict[int, Hashable] = {}

    def signature(group: Group) -> Hashable:
        key = id(group)
        if key not in signatures:
            signatures[key] = wiring.signature(group, ops)
        return signatures[key]

    runs: list[list[Group | int]] = []
    i = 0
    while i < len(items):
        item, parent = items[i]
        run = [item]
        i += 1
        if isinstance(item, Group):
            while i < len(items):
                following, other = items[i]
                previous = run[-1]
                if not (
                    other == parent
                    and isinstance(following, Group)
                    and isinstance(previous, Group)
                    and signature(following) == signature(item)
                    and wiring.chained(previous, following)
                ):
                    break
                run.append(following)
                i += 1
        runs.append(run)
    if len(runs) > max_boxes:
        hint = "draw with a smaller --depth" if depth is not None else None
        raise SpecError(
            f"the drawing would have {len(runs):,} boxes, more than {max_boxes:,}", hint=hint
        )
    boxes = [_box(f"b{n}", run, nodes, analysis, wiring) for n, run in enumerate(runs)]
    view = BlockView(analysis.name, boxes, [], depth, analysis)
    box_of = view.box_of()
    seen: set[tuple[int, int]] = set()
    for v, sources in enumerate(wiring.inputs):
        for u in sources:
            edge = (box_of[u], box_of[v])
            if edge[0] != edge[1] and edge not in seen:
                seen.add(edge)
                view.edges.append(edge)
    return view


def _box(
    box_id: str, run: list[Group | int], nodes: Sequence, analysis: Analysis, wiring: _Wiring
) -> Box:
    first, last = run[0], run[-1]
    start = first.start if isinstance(first, Group) else first
    end = last.end if isinstance(last, Group) else last + 1
    layers = analysis.layers[start:end]
    macs: int | None = 0
    for layer in layers:
        macs = None if macs is None or layer.macs is None else macs + layer.macs
    exit_layer = wiring.exit(start, end)
    if isinstance(first, Group):
        assert isinstance(last, Group)
        name = first.name or nodes[wiring.exit(first.start, first.end)].name
        if len(run) > 1:
            name = short_range(name, last.name or nodes[wiring.exit(last.start, last.end)].name)
        kind = first.kind
    else:
        name, kind = nodes[start].name, layers[0].label
    return Box(
        id=box_id,
        name=name,
        kind=kind,
        start=start,
        end=end,
        output_shape=analysis.layers[exit_layer].output_shape,
        trainable_params=sum(layer.trainable_params for layer in layers),
        non_trainable_params=sum(layer.non_trainable_params for layer in layers),
        macs=macs,
        count=sum(item.count if isinstance(item, Group) else 1 for item in run),
        block=isinstance(first, Group),
        input=any(k in wiring.is_input for k in range(start, end)),
        output=any(k in wiring.outputs for k in range(start, end)),
    )
