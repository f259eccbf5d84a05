"""The Python API: ``archspec.load(path, **overrides)`` and ``.build()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archspec.expand.expander import DEFAULT_NODE_LIMIT, expand, model_name, resolve_top_params
from archspec.ir.graph import Graph
from archspec.loader.document import load_spec
from archspec.spec.models import Spec
from archspec.zoo import resolve

if TYPE_CHECKING:
    import keras

    from archspec.weights import TransferReport


@dataclass
class ArchSpec:
    """A validated spec with its parameter values fixed, ready to expand or build."""

    spec: Spec
    path: str
    #: top-level parameter values: defaults with the overrides applied
    params: dict[str, Any]
    node_limit: int = DEFAULT_NODE_LIMIT
    raw: Any = field(default=None, repr=False)
    #: the parameters the caller set (reported at their ``--set`` when out of range)
    overridden: frozenset[str] = frozenset()
    _graph: Graph | None = field(default=None, repr=False)
    #: what the last ``build(weights=...)`` moved (see :mod:`archspec.weights`)
    transfer_report: TransferReport | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The model's name, with the expressions a spec's ``name`` embeds evaluated."""
        return model_name(self.spec, self.params, self.raw)

    def graph(self) -> Graph:
        """The expanded IR graph (computed once)."""
        if self._graph is None:
            self._graph = expand(
                self.spec,
                self.params,
                node_limit=self.node_limit,
                raw=self.raw,
                overridden=self.overridden,
            )
        return self._graph

    def build(
        self,
        *,
        quiet: bool = True,
        weights: str | keras.Model | None = None,
        weights_model: str | None = None,
        strict: bool = False,
        allow_import: bool = False,
    ) -> keras.Model:
        """The Keras 3 functional model (imports Keras; ``quiet`` holds back TF's start-up log).

        ``weights`` fills it from trained weights wherever they fit: a ``keras.Model``,
        a ``.keras`` file, a legacy ``.h5`` model file, or a weights file
        (``.weights.h5``, a legacy ``.h5``) with ``weights_model``, the model it belongs
        to (see :func:`archspec.weights.load_source`; an import path other than
        keras.applications' needs ``allow_import``). What moved is in
        :attr:`transfer_report`; with ``strict``, a layer left unfilled is a
        :class:`SpecError`.
        """
        from archspec.emit.keras_emitter import to_keras

        model = to_keras(self.graph(), quiet=quiet)
        if weights is None:
            return model
        from archspec.weights import load_source, transfer

        if isinstance(weights, str | Path):
            label = str(weights)
            source = load_source(
                label,
                weights_model,
                node_limit=self.node_limit,
                allow_import=allow_import,
                quiet=quiet,
            )
        else:
            label, source = f"the model `{weights.name}`", weights
        self.transfer_report = transfer(model, self.graph(), source, label=label)
        error = self.transfer_report.unfilled_error() if strict else None
        if error is not None:
            raise error
        return model


def load(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    node_limit: int = DEFAULT_NODE_LIMIT,
    include_roots: Sequence[str | Path] = (),
    **kw_overrides: Any,
) -> ArchSpec:
    """Read, validate and expand a spec; raises :class:`archspec.SpecError` on any fault.

    Top-level parameters can be overridden by keyword (``load(p, classes=10)``) or, for
    names that are not Python identifiers, with a mapping. ``imports`` and ``extends``
    may name files in the spec's own folder tree, archspec's bundled specs and the
    folders in ``include_roots``, nowhere else.

    ``path`` may also be a bundled spec's name (``"resnet50"``, see ``archspec list``)
    when no file of that name exists, or ``"-"`` for a spec read from standard input.
    """
    path = resolve(path)
    spec, raw = load_spec(path, include_roots=include_roots)
    values = {**(overrides or {}), **kw_overrides}
    params = resolve_top_params(spec, values, file=str(path))
    result = ArchSpec(spec, str(path), params, node_limit, raw, frozenset(values))
    result.graph()
    return result
