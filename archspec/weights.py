"""Trained weights into a compiled model whose architecture was edited, with a report.

The layers of the compiled model and of the source model are paired as ``diff`` pairs
them (:func:`archspec.compare.diff.align`): by name when the two mostly share names,
and by structure (the op sequences walked from the outputs) for the layers whose names
did not pair, so a renamed or moved layer still finds its weights. A paired layer takes
the source layer's weights only when every weight has the same shape; otherwise it is
left as initialised and reported with both shapes, never reshaped or cut.

The report says, layer by layer and summed per scope (stage, block) and in total, what
was transferred, what changed shape, what is new in the spec, and which source layers
with weights went unused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archspec.errors import SpecError, exception_line, printable
from archspec.table import Column, aligned

if TYPE_CHECKING:
    import keras

    from archspec.ir.graph import Graph

TRANSFERRED = "transferred"
SHAPE_CHANGED = "shape changed"
NEW = "new"
#: the statuses of a layer of the compiled model, in the order the report lists them
STATUSES = (TRANSFERRED, SHAPE_CHANGED, NEW)


@dataclass(frozen=True)
class LayerTransfer:
    """What happened to one layer of the compiled model that has weights."""

    layer: str
    status: str
    #: the source layer it was paired with (None when new)
    source: str | None
    #: its weights' shapes, and the source layer's (for a shape change)
    shapes: tuple[tuple[int, ...], ...]
    source_shapes: tuple[tuple[int, ...], ...] = ()
    scopes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "status": self.status,
            "source": self.source,
            "scope": "/".join(self.scopes),
            "shapes": [list(s) for s in self.shapes],
            "source_shapes": [list(s) for s in self.source_shapes],
        }


@dataclass
class TransferReport:
    """Every layer with weights of the compiled model, and the source's unused ones."""

    source: str
    #: how layers were paired: ``names`` (with structure for the rest) or ``structure``
    alignment: str
    layers: list[LayerTransfer] = field(default_factory=list)
    #: source layers with weights that no layer of the compiled model took
    unused: list[str] = field(default_factory=list)

    def counts(self, layers: list[LayerTransfer] | None = None) -> dict[str, int]:
        """How many layers have each status."""
        counted = {status: 0 for status in STATUSES}
        for item in self.layers if layers is None else layers:
            counted[item.status] += 1
        return counted

    def by_scope(self, depth: int = 1) -> dict[str, dict[str, int]]:
        """Counts per scope, cut at ``depth`` levels; layers in no scope are under ``""``."""
        groups: dict[str, list[LayerTransfer]] = defaultdict(list)
        for item in self.layers:
            groups["/".join(item.scopes[:depth])].append(item)
        return {scope: self.counts(items) for scope, items in groups.items()}

    @property
    def complete(self) -> bool:
        """Whether every layer with weights was filled from the source."""
        return all(item.status == TRANSFERRED for item in self.layers)

    def unfilled_error(self) -> SpecError | None:
        """The error of ``--strict`` (``strict=True``) when a layer was left unfilled."""
        if self.complete:
            return None
        counts = self.counts()
        return SpecError(
            f"--strict: {len(self.layers) - counts[TRANSFERRED]} of {len(self.layers)} "
            f"layers with weights were not filled from the source ({counts[SHAPE_CHANGED]} "
            f"shape changed, {counts[NEW]} new in the spec)",
            file=printable(self.source),
        )

    def summary(self) -> str:
        """One line: ``transferred 160 of 161 layers with weights, 1 shape changed, ...``."""
        counts = self.counts()
        return (
            f"weights from {self.source}: transferred {counts[TRANSFERRED]} of "
            f"{len(self.layers)} layers with weights, {counts[SHAPE_CHANGED]} shape changed, "
            f"{counts[NEW]} new in the spec, {len(self.unused)} unused from the source "
            f"(paired by {self.alignment})"
        )

    def to_json(self) -> dict[str, Any]:
        depth_scopes = self.by_scope(depth=1_000)
        return {
            "source": self.source,
            "alignment": self.alignment,
            "complete": self.complete,
            "totals": {**self.counts(), "unused": len(self.unused)},
            "scopes": [{"scope": s, **c} for s, c in sorted(depth_scopes.items()) if s],
            "layers": [item.to_json() for item in self.layers],
            "unused": self.unused,
        }


def _shapes(layer: Any) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(d) for d in w.shape) for w in layer.weights)


def transfer(
    model: keras.Model, graph: Graph, source: keras.Model, *, label: str = "the source"
) -> TransferReport:
    """Copy into ``model`` (compiled from ``graph``) every weight of ``source`` that fits.

    Returns what moved; ``model`` is changed in place. Layers are paired by
    :func:`archspec.compare.diff.align`, so ``source`` may name its layers otherwise.
    """
    from archspec.compare.diff import align
    from archspec.compare.keras_import import leaf_layers, to_ir

    theirs, ours = leaf_layers(source), leaf_layers(model)
    alignment, pairs = align(graph, to_ir(source))
    partner = {ours_name: theirs_name for ours_name, theirs_name in pairs}
    report = TransferReport(source=label, alignment=alignment)
    used: set[str] = set()
    for name, layer in ours.items():
        if not layer.weights:
            continue
        node = graph.nodes.get(name)
        scopes = node.scopes if node is not None else ()
        shapes = _shapes(layer)
        other = theirs.get(partner.get(name, ""))
        if other is None or not other.weights:
            report.layers.append(LayerTransfer(name, NEW, None, shapes, scopes=scopes))
            continue
        used.add(other.name)
        theirs_shapes = _shapes(other)
        if theirs_shapes != shapes:
            report.layers.append(
                LayerTransfer(name, SHAPE_CHANGED, other.name, shapes, theirs_shapes, scopes)
            )
            continue
        layer.set_weights(other.get_weights())
        report.layers.append(LayerTransfer(name, TRANSFERRED, other.name, shapes, scopes=scopes))
    report.unused = [n for n, layer in theirs.items() if layer.weights and n not in used]
    return report


_NAME_THE_MODEL = (
    "name the model it belongs to with --weights-model (a spec, a .keras file or an "
    "import path such as keras.applications.ResNet50)"
)


def load_source(
    ref: str,
    model_ref: str | None = None,
    *,
    node_limit: int | None = None,
    allow_import: bool = False,
    quiet: bool = True,
) -> keras.Model:
    """The model whose weights are to move: a ``.keras`` file, a legacy ``.h5`` model
    file (``model.save("x.h5")`` in Keras 2 or 3), or a weights file (``.weights.h5``, a
    legacy ``.h5`` of weights or of a whole model) loaded into ``model_ref``.

    ``model_ref`` is what ``diff`` takes: a spec, a ``.keras`` file or an import path
    such as ``keras.applications.ResNet50`` (built with ``weights=None``; other import
    paths need ``allow_import``). A model file's config is checked as ``diff`` checks one
    before Keras reads it, and an HDF5 file that points into other files is refused.
    """
    from archspec.compare.legacy_h5 import SUFFIXES as H5_SUFFIXES
    from archspec.compare.legacy_h5 import load_model as load_h5_model
    from archspec.compare.legacy_h5 import open_h5
    from archspec.expand.expander import DEFAULT_NODE_LIMIT

    limit = node_limit or DEFAULT_NODE_LIMIT
    where = printable(ref)
    if ref.endswith(".keras"):
        if model_ref is not None:
            raise SpecError(
                "a .keras file holds its own model; give --weights-model only with a "
                "weights file (.weights.h5 or .h5)",
                file=where,
            )
        from archspec.export import load_model

        return load_model(ref, node_limit=limit, quiet=quiet)
    if not ref.endswith(H5_SUFFIXES):
        raise SpecError(
            "weights come from a Keras model file (.keras, or a legacy .h5) or a weights "
            "file (.weights.h5) with the model it belongs to",
            file=where,
        )
    if model_ref is None:
        if ref.endswith(".weights.h5"):
            raise SpecError(f"a weights file holds no architecture: {_NAME_THE_MODEL}", file=where)
        return load_h5_model(ref, limit, quiet=quiet, hint=f"; {_NAME_THE_MODEL}")
    with open_h5(ref):  # refused before Keras opens it if it is not a self-contained HDF5 file
        pass
    model = _weights_model(model_ref, limit, allow_import=allow_import, quiet=quiet)
    try:
        model.load_weights(ref)
    except Exception as exc:  # noqa: BLE001 - Keras's refusal, as one line
        raise SpecError(
            f"the weights do not load into {printable(model.name)}: {exception_line(exc)}",
            file=where,
        ) from None
    return model


def _weights_model(ref: str, limit: int, *, allow_import: bool, quiet: bool) -> keras.Model:
    """The model ``--weights-model`` names, as ``diff`` reads a model."""
    from archspec.compare.sources import is_spec

    if is_spec(ref) or ref.endswith(".keras"):
        from archspec.export import load_model

        return load_model(ref, node_limit=limit, quiet=quiet)
    from archspec.compare.import_path import model_from_path
    from archspec.emit.keras_emitter import import_keras

    import_keras(quiet=quiet)
    return model_from_path(ref, allow_import=allow_import)


def _shape_text(shapes: tuple[tuple[int, ...], ...]) -> str:
    return ", ".join(str(s) for s in shapes)


def render_text(report: TransferReport) -> str:
    """The report as text: a row per stage (top-level scope), the totals, then each layer
    that did not take its weights and each unused source layer, by name."""
    rows = [
        (scope or "(no scope)", *(str(c[s]) for s in STATUSES))
        for scope, c in report.by_scope(depth=1).items()
    ]
    totals = report.counts()
    rows.append(("total", *(str(totals[s]) for s in STATUSES)))
    columns = (Column("scope"), *(Column(s, right=True) for s in STATUSES))
    lines = [report.summary(), *aligned(columns, rows)]
    for item in report.layers:
        if item.status == SHAPE_CHANGED:
            lines.append(
                f"shape changed: {item.layer} {_shape_text(item.shapes)} <- {item.source} "
                f"{_shape_text(item.source_shapes)}"
            )
        elif item.status == NEW:
            lines.append(f"new in the spec: {item.layer} {_shape_text(item.shapes)}")
    lines.extend(f"unused from the source: {name}" for name in report.unused)
    return "\n".join(printable(line) for line in lines)
