"""Layer kinds: the registry and its entries, one module per family."""

from archspec.ops import applications as _applications  # noqa: F401
from archspec.ops import arithmetic as _arithmetic  # noqa: F401
from archspec.ops import attention as _attention  # noqa: F401
from archspec.ops import layers as _layers  # noqa: F401  (fills the registry)
from archspec.ops import preprocessing as _preprocessing  # noqa: F401
from archspec.ops import recurrent as _recurrent  # noqa: F401
from archspec.ops import wrappers as _wrappers  # noqa: F401
from archspec.ops.registry import REGISTRY, Attrs, OpDef, PluginError, load_plugins

__all__ = ["REGISTRY", "Attrs", "OpDef", "PluginError"]

#: installed packages' ops (the `archspec.ops` entry-point group), after the built-in
#: ones; plugins that could not be used are kept to be reported (see archspec.cli)
PLUGINS, PLUGIN_ERRORS = load_plugins(REGISTRY)
