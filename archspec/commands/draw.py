"""``archspec draw``: a block-level diagram of a spec, as SVG, PNG, DOT or Mermaid.

No framework is imported: the diagram comes from the IR and the static analysis, laid
out with python-igraph and rasterised with Pillow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archspec.cli import (
    SPEC,
    check_output,
    json_option,
    limit_option,
    parse_overrides,
    report,
    root_option,
    set_option,
    signals_raise,
    write_atomically,
)
from archspec.errors import SpecError

if TYPE_CHECKING:
    from archspec.draw.blocks import Box


@click.command("draw")
@click.argument("spec", metavar="SPEC", type=SPEC)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    metavar="FILE",
    help="Where to write; the suffix picks the format: .svg, .png, .dot (Graphviz) or "
    ".mmd (Mermaid).",
)
@set_option
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    help="Boxes this many levels of stages and blocks deep (1: stages; a large N: single "
    "layers). Default: one box per block call, stages opened.",
)
@root_option
@limit_option
@json_option
@report
def draw(
    spec: str,
    output: str,
    sets: tuple[str, ...],
    depth: int | None,
    include_roots: tuple[str, ...],
    max_nodes: int,
) -> None:
    """Draw SPEC as boxes of blocks with their output shapes, parameters and MACs.

    A chain of identical blocks in a stage is one box marked with the count
    (`dense_layer ×6`). Nothing is downloaded and no framework is imported.

    \b
    Examples:
      archspec draw specs/resnet50.yaml -o resnet50.svg
      archspec draw specs/googlenet.yaml --set aux=true --depth 2 -o googlenet.png
    """
    from archspec.console import emit_json, json_mode, progress, say
    from archspec.draw.formats import FORMATS, format_of

    out = Path(output)
    fmt = format_of(out)
    if fmt is None:
        suffixes = ", ".join(f"`{s}`" for s in FORMATS)
        raise SpecError(
            f"the drawing's file must end in one of {suffixes}, got `{out.name}`", file=output
        )
    check_output(out, "the drawing")

    from archspec.analysis.stats import analyse
    from archspec.api import load
    from archspec.draw.blocks import block_view
    from archspec.draw.formats import write

    loaded = load(spec, parse_overrides(sets), node_limit=max_nodes, include_roots=include_roots)
    with progress(f"drawing {loaded.name}"):
        graph = loaded.graph()
        view = block_view(graph, analyse(graph), depth, loaded.spec.blocks)
        if fmt == "mermaid":
            _warn_mermaid(len(view.edges))
        written = []
        try:
            with signals_raise():  # SIGTERM and SIGHUP remove the temporary file too
                write_atomically(lambda path: written.append(write(view, fmt, path)), out)
        except OSError as exc:
            raise SpecError(
                f"cannot write the drawing: {exc.strerror or exc}", file=output
            ) from None
    size = written[0]
    if json_mode():
        names = list(graph.nodes)
        emit_json(
            {
                "output": str(out),
                "format": fmt,
                "model": view.name,
                "depth": depth,
                "width": size.width,
                "height": size.height,
                "boxes": [_box_json(box, names) for box in view.boxes],
                "edges": [[view.boxes[u].id, view.boxes[v].id] for u, v in view.edges],
            }
        )
        return
    repeats = sum(1 for box in view.boxes if box.count > 1)
    pixels = f", {size.width} x {size.height} px" if size.width is not None else ""
    say(
        f"wrote {out} ({len(view.boxes)} boxes, {len(view.edges)} edges, "
        f"{repeats} repeated blocks{pixels})"
    )


def _box_json(box: Box, names: list[str]) -> dict[str, Any]:
    """One box of the ``--json`` document; its layers are those from ``first_layer`` to
    ``last_layer`` in model order (the order of ``info --json``'s layers)."""
    return {
        "id": box.id,
        "name": box.name,
        "kind": box.kind,
        "count": box.count,
        "layers": box.layers,
        "first_layer": names[box.start],
        "last_layer": names[box.end - 1],
        "output_shape": list(box.output_shape),
        "params": box.params,
        "trainable_params": box.trainable_params,
        "non_trainable_params": box.non_trainable_params,
        "macs": box.macs,
        "input": box.input,
        "output": box.output,
    }


def _warn_mermaid(edges: int) -> None:
    from archspec.console import warn
    from archspec.draw.mermaid import MERMAID_MAX_EDGES

    if edges > MERMAID_MAX_EDGES:
        warn(
            f"{edges} edges: Mermaid draws at most {MERMAID_MAX_EDGES} by default "
            "(its `maxEdges` setting); a smaller --depth draws fewer"
        )
