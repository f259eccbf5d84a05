"""Today's nets written by hand in plain Keras: a text classifier, a transformer encoder
and a small U-Net. Each is the reference of a bundled spec in specs/examples."""

import keras
from keras import layers


def text_classifier(vocabulary: int = 20_000, steps: int = 200, classes: int = 2) -> keras.Model:
    """Token ids -> embedding -> 1-D convolution -> bidirectional LSTM -> classifier."""
    tokens = keras.Input(shape=(steps,), dtype="int32", name="tokens")
    x = layers.Embedding(vocabulary, 128, name="embedding")(tokens)
    x = layers.Dropout(0.2, name="embedding_dropout")(x)
    x = layers.Conv1D(128, 5, padding="same", activation="relu", name="conv")(x)
    x = layers.MaxPooling1D(2, name="pool")(x)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True), name="lstm1")(x)
    x = layers.Bidirectional(layers.LSTM(32), name="lstm2")(x)
    x = layers.Dense(64, activation="relu", name="fc")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(tokens, outputs, name="text_classifier")


def transformer_encoder(
    steps: int = 64, width: int = 128, heads: int = 4, hidden: int = 256, depth: int = 2
) -> keras.Model:
    """Pre-norm transformer encoder blocks over a sequence of feature vectors."""
    inputs = keras.Input(shape=(steps, width), name="input_layer")
    x = inputs
    for i in range(1, depth + 1):
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        y = layers.MultiHeadAttention(
            heads, width // heads, dropout=0.1, name=f"block{i}_attention"
        )(y, y)
        x = layers.Add(name=f"block{i}_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
        y = layers.Dense(hidden, activation="gelu", name=f"block{i}_fc1")(y)
        y = layers.Dense(width, name=f"block{i}_fc2")(y)
        x = layers.Add(name=f"block{i}_add2")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="transformer_encoder")


def unet_small(size: int = 64, channels: int = 3, classes: int = 2) -> keras.Model:
    """A U-Net of three levels: convolutions down, transposed convolutions up, skips joined."""

    def double_conv(x, filters, name):
        for i in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv{i}")(x)
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
            x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
        return x

    inputs = keras.Input(shape=(size, size, channels), name="input_layer")
    skips = []
    x = inputs
    for level, filters in enumerate((16, 32), start=1):
        x = double_conv(x, filters, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
    x = double_conv(x, 64, "bottom")
    for level, filters in ((2, 32), (1, 16)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, name=f"up{level}_upconv")(x)
        x = layers.Concatenate(name=f"up{level}_concat")([skips[level - 1], x])
        x = double_conv(x, filters, f"up{level}_conv")
    outputs = layers.Conv2D(classes, 1, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="unet_small")
