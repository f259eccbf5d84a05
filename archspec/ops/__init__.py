"""Layer kinds: the registry and its entries, one module per family.

The core layers (convolutions, dense, normalisation, pooling, merges, ...) register
when this package is imported. The other families register when a spec first names
one of their ops (see :class:`~archspec.ops.registry.Registry`), so checking a ResNet
does not pay for recurrent or attention layers; the index below says which module
defines which names, and a test keeps it exact.
"""

from archspec.ops import layers as _layers  # noqa: F401  (fills the registry)
from archspec.ops.registry import REGISTRY, Attrs, OpDef, PluginError, load_plugins

__all__ = ["REGISTRY", "Attrs", "OpDef", "PluginError"]

#: module -> the op names and aliases it registers
FAMILIES: dict[str, tuple[str, ...]] = {
    "archspec.ops.applications": (
        "layer_scale", "stochastic_depth", "scaled_residual", "custom_scale",
    ),
    "archspec.ops.arithmetic": (
        "ops.add", "ops.subtract", "ops.multiply", "ops.true_divide", "ops.divide",
        "ops.power", "ops.maximum", "ops.minimum", "ops.negative", "ops.absolute", "ops.abs",
        "ops.square", "ops.sqrt", "ops.exp", "ops.log", "ops.tanh", "ops.mean", "ops.sum",
        "ops.max",
    ),
    "archspec.ops.attention": ("multi_head_attention", "mha", "attention", "dot"),
    "archspec.ops.convolutions": (
        "conv1d", "conv3d", "conv1d_transpose", "deconv1d", "conv2d_transpose", "deconv2d",
        "conv3d_transpose", "deconv3d", "separable_conv1d", "sep_conv1d", "depthwise_conv1d",
        "dw_conv1d",
    ),
    "archspec.ops.preprocessing": (
        "rescaling", "rescale", "normalization", "resizing", "resize", "center_crop",
    ),
    "archspec.ops.recurrent": (
        "embedding", "simple_rnn", "lstm", "gru", "conv_lstm2d", "conv_lstm",
    ),
    "archspec.ops.wrappers": ("time_distributed", "bidirectional"),
}  # fmt: skip

#: installed packages' ops (the `archspec.ops` entry-point group) once read, and the
#: plugins that could not be used, to be reported (see archspec.cli)
PLUGINS: list[str] = []
PLUGIN_ERRORS: list[PluginError] = []


def _read_plugins() -> None:
    loaded, refused = load_plugins(REGISTRY)
    PLUGINS.extend(loaded)
    PLUGIN_ERRORS.extend(refused)


for _module, _names in FAMILIES.items():
    REGISTRY.defer(_module, _names, _read_plugins)
