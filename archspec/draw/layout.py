"""A layered top-to-bottom placement of boxes and edges (the Sugiyama scheme).

1. Layers: each box one layer below the lowest of its inputs (longest path); a box
   without inputs moves down to just above its first reader.
2. An edge that spans several layers gets a bend point on each layer it crosses, so it
   runs between boxes rather than through them (bounded: :data:`MAX_BENDS` in all).
3. Order within each layer, for few crossings: python-igraph's Sugiyama layout (C code:
   the barycenter heuristic, then its horizontal placement), given these layers.
4. Coordinates: igraph's positions, pushed apart where boxes of different widths would
   overlap, by the least total move that keeps each pair apart (isotonic regression).

Every step is linear or near-linear in boxes plus bend points: a 5,000-box drawing is
laid out in well under a second.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from archspec.draw.blocks import BlockView, Box
from archspec.draw.fonts import NAME_SIZE, TEXT_SIZE, text_width
from archspec.draw.labels import BoxText, box_text
from archspec.table import human

#: inner margins of a box, its line height and narrowest width (pixels)
PAD_X, PAD_Y, LINE, MIN_WIDTH = 14, 6, 15, 110
BOX_HEIGHT = 3 * LINE + 2 * PAD_Y
#: space between boxes side by side, between layers, around the drawing, for the title
GAP_X, GAP_Y, MARGIN, TITLE_HEIGHT = 28, 24, 16, 24
#: the room a bend point takes in its layer
BEND_WIDTH = 8
#: most bend points in a drawing; longer edges past it are drawn straight
MAX_BENDS = 20_000
#: iterations of igraph's crossing reduction
CROSSING_PASSES = 100

Point = tuple[float, float]


@dataclass
class Placed:
    """A box with its text and its rectangle (top-left corner, size)."""

    box: Box
    text: BoxText
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class Route:
    """An edge between boxes ``source`` and ``target`` (indices), as points to pass."""

    source: int
    target: int
    points: list[Point]


@dataclass
class Drawing:
    """A laid-out view: what every image writer draws, in pixels."""

    view: BlockView
    title: str
    width: float
    height: float
    boxes: list[Placed]
    routes: list[Route]


def title(view: BlockView) -> str:
    totals = view.analysis.totals
    return (
        f"{view.name} · {totals.layers:,} layers · {human(totals.params)} params · "
        f"{human(totals.macs)} MACs"
    )


def _layers(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """A layer per box; boxes come in an order where every edge goes forward."""
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        preds[v].append(u)
        succs[u].append(v)
    layer = [0] * n
    for v in range(n):
        layer[v] = max((layer[u] + 1 for u in preds[v]), default=0)
    for v in reversed(range(n)):
        if not preds[v] and succs[v]:
            layer[v] = min(layer[s] for s in succs[v]) - 1
    low = min(layer, default=0)
    return [value - low for value in layer]


def _spread(desired: list[float], gaps: list[float]) -> list[float]:
    """Positions nearest ``desired`` (least squares) with ``gaps[i]`` between i and i+1.

    With offsets ``o`` (the running sum of gaps), positions ``p = q + o`` keep the gaps
    exactly when ``q`` is non-decreasing: the isotonic regression of ``desired - o``,
    by pooling adjacent violators.
    """
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    pools: list[list[float]] = []  # [sum, count] of each pooled run
    for target in (d - o for d, o in zip(desired, offsets, strict=True)):
        pools.append([target, 1.0])
        while len(pools) > 1 and pools[-2][0] * pools[-1][1] > pools[-1][0] * pools[-2][1]:
            total, count = pools.pop()
            pools[-1][0] += total
            pools[-1][1] += count
    fit: list[float] = []
    for total, count in pools:
        fit += [total / count] * int(count)
    return [q + o for q, o in zip(fit, offsets, strict=True)]


def _order(layer: list[int], edges: list[tuple[int, int]]) -> list[float]:
    """igraph's horizontal position of each vertex (boxes and bend points)."""
    import igraph

    graph = igraph.Graph(n=len(layer), edges=edges, directed=True)
    placed = graph.layout_sugiyama(layers=layer, hgap=1, vgap=1, maxiter=CROSSING_PASSES)
    return [float(placed[i][0]) for i in range(len(layer))]


def lay_out(view: BlockView) -> Drawing:
    """Place the boxes of ``view`` top to bottom and route its edges."""
    texts = [box_text(box) for box in view.boxes]
    n = len(texts)
    widths = [
        max(
            MIN_WIDTH,
            2 * PAD_X
            + max(
                text_width(t.name, NAME_SIZE, bold=True),
                text_width(t.info, TEXT_SIZE),
                text_width(t.figures, TEXT_SIZE),
            ),
        )
        for t in texts
    ]
    layer = _layers(n, view.edges)

    # bend points: shortest edges first, while the budget lasts
    bends: list[list[int]] = [[] for _ in view.edges]
    vertex_layer = list(layer)
    budget = MAX_BENDS
    for e in sorted(range(len(view.edges)), key=lambda e: _span(view.edges[e], layer)):
        u, v = view.edges[e]
        extra = layer[v] - layer[u] - 1
        if 0 < extra <= budget:
            budget -= extra
            bends[e] = list(range(len(vertex_layer), len(vertex_layer) + extra))
            vertex_layer += range(layer[u] + 1, layer[v])
    chain_edges = []
    for (u, v), points in zip(view.edges, bends, strict=True):
        chain = [u, *points, v]
        chain_edges += zip(chain, chain[1:], strict=False)
    xs = _order(vertex_layer, chain_edges)

    # horizontal positions: igraph's, spread so that neighbours never overlap
    vertex_width = widths + [BEND_WIDTH] * (len(vertex_layer) - n)
    unit = statistics.median(widths) / 2 + GAP_X if widths else 1.0
    rows: dict[int, list[int]] = {}
    for vertex, row in enumerate(vertex_layer):
        rows.setdefault(row, []).append(vertex)
    center = [0.0] * len(vertex_layer)
    for members in rows.values():
        members.sort(key=lambda i: xs[i])
        gaps = [
            (vertex_width[a] + vertex_width[b]) / 2 + (GAP_X if a < n and b < n else GAP_X / 2)
            for a, b in zip(members, members[1:], strict=False)
        ]
        for vertex, x in zip(members, _spread([xs[i] * unit for i in members], gaps), strict=True):
            center[vertex] = x
    left = min((center[i] - vertex_width[i] / 2 for i in range(len(center))), default=0.0)
    shift = MARGIN - left
    top = MARGIN + TITLE_HEIGHT

    def row_top(row: int) -> float:
        return top + row * (BOX_HEIGHT + GAP_Y)

    placed = [
        Placed(
            box,
            texts[i],
            center[i] + shift - widths[i] / 2,
            row_top(layer[i]),
            widths[i],
            BOX_HEIGHT,
        )
        for i, box in enumerate(view.boxes)
    ]
    middle = BOX_HEIGHT / 2
    inner = [[(center[p] + shift, row_top(vertex_layer[p]) + middle) for p in ps] for ps in bends]
    routes = _routes(view.edges, inner, placed)
    heading = title(view)
    right = max((p.x + p.width for p in placed), default=0.0)
    width = max(right, MARGIN + text_width(heading, NAME_SIZE, bold=True)) + MARGIN
    rows_used = max(layer, default=0) + 1
    height = row_top(rows_used) - GAP_Y + MARGIN
    return Drawing(view, heading, width, height, placed, routes)


def _span(edge: tuple[int, int], layer: list[int]) -> int:
    return layer[edge[1]] - layer[edge[0]]


def _routes(
    edges: list[tuple[int, int]], inner: list[list[Point]], placed: list[Placed]
) -> list[Route]:
    """Each edge from the bottom of its source to the top of its target, through its
    bend points; several edges on one side of a box leave or arrive side by side, in the
    order of where they go, so they do not cross there."""
    outgoing: dict[int, list[int]] = {}
    incoming: dict[int, list[int]] = {}
    for e, (u, v) in enumerate(edges):
        outgoing.setdefault(u, []).append(e)
        incoming.setdefault(v, []).append(e)
    start: dict[int, float] = {}
    end: dict[int, float] = {}

    def toward(e: int, leaving: bool) -> float:
        u, v = edges[e]
        if inner[e]:
            return inner[e][0][0] if leaving else inner[e][-1][0]
        return placed[v].center if leaving else placed[u].center

    for ports, by_box, leaving in ((start, outgoing, True), (end, incoming, False)):
        for box, group in by_box.items():
            group.sort(key=lambda e, leaving=leaving: toward(e, leaving))
            k = len(group)
            step = min(14.0, 0.6 * placed[box].width / (k - 1)) if k > 1 else 0.0
            for i, e in enumerate(group):
                ports[e] = placed[box].center + (i - (k - 1) / 2) * step
    return [
        Route(u, v, [(start[e], placed[u].bottom), *inner[e], (end[e], placed[v].y)])
        for e, (u, v) in enumerate(edges)
    ]
