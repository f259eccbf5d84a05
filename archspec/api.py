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

    def build(self, *, quiet: bool = True) -> keras.Model:
        """The Keras 3 functional model (imports Keras; ``quiet`` holds back TF's start-up log)."""
        from archspec.emit.keras_emitter import to_keras

        return to_keras(self.graph(), quiet=quiet)


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
