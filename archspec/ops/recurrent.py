"""Embedding and the recurrent layers, with attributes named exactly as in Keras 3.

A recurrent layer reads a sequence, ``(steps, features)`` (for ``conv_lstm2d`` a sequence
of images, ``(steps, rows, cols, channels)``), and gives its last output or, with
``return_sequences``, the output of every step. An archspec node has one output, so the
settings that give a layer several (``return_state``) or tie it to a fixed batch size
(``stateful``) are refused with their reason rather than dropped.

MACs count the input and recurrent matrix products (or convolutions) of one step, times
the number of steps; with an unknown number of steps they are unknown (None). Gate
activations, element-wise products and biases count zero, as elsewhere, and so does an
embedding, which looks its vectors up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StrictBool

from archspec.ops import shapes
from archspec.ops.constraints import Constraint
from archspec.ops.costs import Weight
from archspec.ops.layers import (
    MAX_SEED,
    ActivationName,
    BiasInitializer,
    Initializer,
    KernelInitializer,
    PosInt,
    Rate,
    Regularizer,
    Seed,
    _f,
    _WindowAttrs,
)
from archspec.ops.registry import REGISTRY, Attrs, OpDef
from archspec.ops.shapes import Shape, ShapeError, fmt

#: gates per step, each with its own slice of the kernels: LSTM's input, forget, cell
#: and output gates; GRU's update and reset gates and candidate state
LSTM_GATES = 4
GRU_GATES = 3


def _only_false(reason: str) -> AfterValidator:
    """A validator refusing ``true`` for a Keras setting archspec cannot represent."""

    def check(value: bool) -> bool:
        if value:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


def _never(reason: str) -> BeforeValidator:
    """A validator refusing any value of a Keras argument archspec cannot keep."""

    def check(value: Any) -> Any:
        if value is not None:
            raise ValueError(reason)
        return value

    return BeforeValidator(check)


#: `return_state: true` makes the layer return [output, *states]
ReturnState = Annotated[
    StrictBool,
    _only_false(
        "gives the final states as extra outputs, and an archspec node has one output "
        "(use `return_sequences` for every step's output)"
    ),
]
#: `stateful: true` keeps states across batches in variables sized by the batch
Stateful = Annotated[
    StrictBool,
    _only_false(
        "keeps the states between batches in variables sized by the batch, and archspec's "
        "inputs leave the batch size open"
    ),
]


class _RecurrentAttrs(Attrs):
    """What every recurrent layer shares: activation, weights, dropout and the sequence."""

    activation: ActivationName | None = _f(
        "Activation of the output and state (null: none).", default="tanh"
    )
    use_bias: StrictBool = _f("Whether the layer adds a bias.", default=True)
    kernel_initializer: Initializer = _f(
        "Initializer of the input kernel.", default="glorot_uniform"
    )
    recurrent_initializer: Initializer = _f(
        "Initializer of the recurrent kernel.", default="orthogonal"
    )
    bias_initializer: BiasInitializer = _f("Initializer of the bias.", default="zeros")
    kernel_regularizer: Regularizer | None = _f(
        "Penalty on the input kernel: `l1`, `l2`, `l1_l2` or factors such as `{l2: 1.0e-4}`.",
        default=None,
    )
    recurrent_regularizer: Regularizer | None = _f("Penalty on the recurrent kernel.", default=None)
    bias_regularizer: Regularizer | None = _f("Penalty on the bias.", default=None)
    kernel_constraint: Constraint | None = _f("Constraint on the input kernel.", default=None)
    recurrent_constraint: Constraint | None = _f(
        "Constraint on the recurrent kernel.", default=None
    )
    bias_constraint: Constraint | None = _f("Constraint on the bias.", default=None)
    dropout: Rate = _f("Fraction of the inputs dropped in training.", default=0.0)
    recurrent_dropout: Rate = _f(
        "Fraction of the recurrent state dropped in training.", default=0.0
    )
    seed: Seed | None = _f(f"Seed of the dropout masks, from 0 to {MAX_SEED:,}.", default=None)
    return_sequences: StrictBool = _f(
        "Give every step's output (steps, ...) rather than the last one.", default=False
    )
    go_backwards: StrictBool = _f(
        "Read the sequence backwards (the output sequence is reversed too).", default=False
    )
    return_state: ReturnState = _f("Only `false`: a node has one output.", default=False)
    stateful: Stateful = _f("Only `false`: the batch size is left open.", default=False)


class _RNNAttrs(_RecurrentAttrs):
    """SimpleRNN, LSTM and GRU: dense kernels over a (steps, features) sequence."""

    units: PosInt = _f("Number of output units.")
    unroll: StrictBool = _f(
        "Unroll the loop over the steps (needs a known number of steps; faster for short "
        "sequences, more memory).",
        default=False,
    )


class _GateAttrs(Attrs):
    """The gates of LSTM, GRU and ConvLSTM2D."""

    recurrent_activation: ActivationName | None = _f(
        "Activation of the gates (null: none).", default="sigmoid"
    )

    def canonical(self, input_rank: int | None = None) -> dict[str, Any]:
        """As the other attributes' forms, and no gate activation as Keras stores it."""
        out = super().canonical(input_rank)
        if out["recurrent_activation"] is None:
            out["recurrent_activation"] = "linear"
        return out


class _ForgetGateAttrs(_GateAttrs):
    """LSTM's gates, whose forget gate may start open."""

    unit_forget_bias: StrictBool = _f(
        "Start the forget gate's bias at 1 (the rest of the bias from `bias_initializer`).",
        default=True,
    )


class SimpleRNNAttrs(_RNNAttrs):
    # Keras 3.15 leaves the seed out of SimpleRNN's config (LSTM and GRU save it)
    seed: Annotated[
        None,
        _never(
            "SimpleRNN leaves the seed out of its config, so a saved model would lose it; "
            "seed the run with keras.utils.set_random_seed, or use `lstm` or `gru`, which "
            "keep theirs"
        ),
    ] = _f("Not supported: Keras does not save SimpleRNN's seed.", default=None)


class LSTMAttrs(_ForgetGateAttrs, _RNNAttrs):
    pass


class GRUAttrs(_GateAttrs, _RNNAttrs):
    reset_after: StrictBool = _f(
        "Apply the reset gate after the recurrent product (Keras's default, which keeps "
        "separate input and recurrent biases).",
        default=True,
    )


class ConvLSTM2DAttrs(_ForgetGateAttrs, _RecurrentAttrs, _WindowAttrs):
    """The window comes from the convolutions' attributes; its checks apply unchanged."""

    filters: PosInt = _f("Number of output channels.")
    # both kernels are 4-D: (rows, cols, channels in, 4 * filters)
    kernel_initializer: KernelInitializer = _f(
        "Initializer of the input kernel.", default="glorot_uniform"
    )
    recurrent_initializer: KernelInitializer = _f(
        "Initializer of the recurrent kernel.", default="orthogonal"
    )


class EmbeddingAttrs(Attrs):
    input_dim: PosInt = _f("Size of the vocabulary: the largest index + 1.")
    output_dim: PosInt = _f("Size of each embedding vector.")
    embeddings_initializer: Initializer = _f(
        "Initializer of the embedding matrix.", default="uniform"
    )
    embeddings_regularizer: Regularizer | None = _f(
        "Penalty on the embedding matrix.", default=None
    )
    embeddings_constraint: Constraint | None = _f(
        "Constraint on the embedding matrix.", default=None
    )
    mask_zero: StrictBool = _f(
        "Treat index 0 as padding: layers after it that take a mask (recurrent layers, "
        "global pooling) skip those steps.",
        default=False,
    )


# ---------------------------------------------------------------------------- shapes


def _features(shape: Shape, what: str) -> int:
    features = shape[-1]
    if features is None:
        raise ShapeError(
            f"the input's last axis ({what}) must have a known size: it sizes the kernel"
        )
    return features


def _steps(attrs: Any, shape: Shape) -> int | None:
    """The number of steps; unrolling needs it known."""
    steps = shape[0]
    if steps is None and getattr(attrs, "unroll", False):
        # Keras builds it and runs it eagerly, but fails when the model is traced with
        # an open length (fit, predict, export)
        raise ShapeError(
            "`unroll` needs a known number of steps, and the input's first axis is unknown "
            "(Keras would fail in fit, predict and export)"
        )
    return steps


def _sequence(attrs: Any, steps: int | None, step: Shape) -> Shape:
    return (steps, *step) if attrs.return_sequences else step


def rnn_shape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """(steps, features) -> (units,), or (steps, units) with ``return_sequences``."""
    (shape,) = inputs
    if len(shape) != 2:
        raise ShapeError(f"needs a 2-D input (steps, features), got {fmt(shape)}")
    _features(shape, "features")
    return _sequence(attrs, _steps(attrs, shape), (attrs.units,))


def conv_lstm_shape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """(steps, rows, cols, channels) -> the convolved image, per step or the last one.

    Keras needs the rows and columns known (they size the states) and the channels (they
    size the kernel); the steps may be unknown.
    """
    (shape,) = inputs
    if len(shape) != 4:
        raise ShapeError(f"needs a 4-D input (steps, rows, cols, channels), got {fmt(shape)}")
    if None in shape[1:3]:
        raise ShapeError("the input's rows and columns must have known sizes: they size the states")
    _features(shape, "channels")
    rows, cols = shapes.spatial(shape[1:], attrs, "kernel_size", "conv_lstm2d")
    return _sequence(attrs, _steps(attrs, shape), (rows, cols, attrs.filters))


def embedding_shape(attrs: Any, inputs: Sequence[Shape]) -> Shape:
    """Each index becomes a vector: a last axis of ``output_dim`` is added, at any rank."""
    (shape,) = inputs
    return (*shape, attrs.output_dim)


# ---------------------------------------------------------------------------- weights and MACs


def _gated_weights(gates: int) -> Any:
    """Kernels (features, gates * units), (units, gates * units) and a bias."""

    def weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
        width = gates * attrs.units
        out = [
            Weight("kernel", (_features(inputs[0], "features"), width)),
            Weight("recurrent_kernel", (attrs.units, width)),
        ]
        if attrs.use_bias:
            out.append(Weight("bias", _bias_shape(attrs, width)))
        return out

    return weights


def _bias_shape(attrs: Any, width: int) -> tuple[int, ...]:
    """GRU's ``reset_after`` keeps an input and a recurrent bias, stacked (2, width)."""
    return (2, width) if getattr(attrs, "reset_after", False) else (width,)


def _gated_macs(gates: int) -> Any:
    """Per step: the input product (features x gates * units) and the recurrent one."""

    def macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
        steps = inputs[0][0]
        if steps is None:
            return None
        features = _features(inputs[0], "features")
        return steps * gates * attrs.units * (features + attrs.units)

    return macs


def conv_lstm_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    """Input and recurrent kernels of the four gates, side by side on the last axis."""
    kh, kw = shapes.pair(attrs.kernel_size)
    width = LSTM_GATES * attrs.filters
    out = [
        Weight("kernel", (kh, kw, _features(inputs[0], "channels"), width)),
        Weight("recurrent_kernel", (kh, kw, attrs.filters, width)),
    ]
    if attrs.use_bias:
        out.append(Weight("bias", (width,)))
    return out


def conv_lstm_macs(attrs: Any, inputs: Sequence[Shape], output: Shape) -> int | None:
    """Per step and output position: the input convolution (strided, dilated) and the
    recurrent one (stride 1, `same` padding, over the state), for the four gates."""
    steps = inputs[0][0]
    if steps is None:
        return None
    kh, kw = shapes.pair(attrs.kernel_size)
    rows, cols = output[-3], output[-2]
    channels = _features(inputs[0], "channels")
    return steps * rows * cols * kh * kw * (channels + attrs.filters) * LSTM_GATES * attrs.filters


def embedding_weights(attrs: Any, inputs: Sequence[Shape], output: Shape) -> list[Weight]:
    return [Weight("embeddings", (attrs.input_dim, attrs.output_dim))]


_OPS = [
    OpDef(
        "embedding", "Embedding", EmbeddingAttrs, embedding_shape,
        "Maps integer indices to learned vectors (adds an axis of `output_dim`).",
        weights=embedding_weights,
    ),
    OpDef(
        "simple_rnn", "SimpleRNN", SimpleRNNAttrs, rnn_shape,
        "Fully connected recurrent layer over (steps, features).", shorthand="units",
        weights=_gated_weights(1), macs=_gated_macs(1),
    ),
    OpDef(
        "lstm", "LSTM", LSTMAttrs, rnn_shape,
        "Long short-term memory over (steps, features).", shorthand="units",
        weights=_gated_weights(LSTM_GATES), macs=_gated_macs(LSTM_GATES),
    ),
    OpDef(
        "gru", "GRU", GRUAttrs, rnn_shape, "Gated recurrent unit over (steps, features).",
        shorthand="units", weights=_gated_weights(GRU_GATES), macs=_gated_macs(GRU_GATES),
    ),
    OpDef(
        "conv_lstm2d", "ConvLSTM2D", ConvLSTM2DAttrs, conv_lstm_shape,
        "LSTM with convolutions, over a sequence of images (steps, rows, cols, channels).",
        aliases=("conv_lstm",), weights=conv_lstm_weights, macs=conv_lstm_macs,
    ),
]  # fmt: skip

for _op in _OPS:
    REGISTRY.add(_op)
