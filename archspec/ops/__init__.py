"""Layer kinds: the registry and its entries."""

from archspec.ops import layers as _layers  # noqa: F401  (fills the registry)
from archspec.ops.registry import REGISTRY, Attrs, OpDef

__all__ = ["REGISTRY", "Attrs", "OpDef"]
