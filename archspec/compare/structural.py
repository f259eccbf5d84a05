"""Structural comparison of two imported models: what differs, layer by layer.

Both graphs are canonically ordered (see :mod:`archspec.compare.keras_import`), so
equal models line up position by position. A difference names both layers and says
what differs: the layer class, a config value, where the inputs come from, the output
shape, or the parameter counts. An empty list means the models are the same network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archspec.compare.keras_import import ModelGraph


@dataclass(frozen=True)
class Difference:
    """One way two models differ."""

    kind: str
    where: str
    a: Any
    b: Any

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.a!r} != {self.b!r}"


def _config_diffs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, "<absent>"), b.get(key, "<absent>")
        if _norm(va) != _norm(vb):
            out.append((key, va, vb))
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def compare(a: ModelGraph, b: ModelGraph, *, max_differences: int = 50) -> list[Difference]:
    """Every structural difference between ``a`` and ``b`` (at most ``max_differences``)."""
    diffs: list[Difference] = []
    if len(a.layers) != len(b.layers):
        diffs.append(Difference("layer count", "model", len(a.layers), len(b.layers)))
    for la, lb in zip(a.layers, b.layers, strict=False):
        where = la.name if la.name == lb.name else f"{la.name} ~ {lb.name}"
        if la.class_name != lb.class_name:
            diffs.append(Difference("layer class", where, la.class_name, lb.class_name))
            break  # everything after a class mismatch is misaligned noise
        for key, va, vb in _config_diffs(la.config, lb.config):
            diffs.append(Difference(f"config `{key}`", where, va, vb))
        if la.inputs != lb.inputs:
            names_a = [a.layers[i].name for i in la.inputs]
            names_b = [b.layers[i].name for i in lb.inputs]
            diffs.append(Difference("inputs", where, names_a, names_b))
        if _norm(la.output_shape) != _norm(lb.output_shape):
            diffs.append(Difference("output shape", where, la.output_shape, lb.output_shape))
        counts_a = (la.trainable_params, la.non_trainable_params)
        counts_b = (lb.trainable_params, lb.non_trainable_params)
        if counts_a != counts_b:
            diffs.append(
                Difference("parameters (trainable, non-trainable)", where, counts_a, counts_b)
            )
        if len(diffs) >= max_differences:
            break
    if a.outputs != b.outputs and len(a.layers) == len(b.layers):
        diffs.append(Difference("outputs", "model", a.outputs, b.outputs))
    return diffs[:max_differences]
