"""Writes ``small_cnn.h5``: a small residual CNN saved whole by Keras 2 (tf.keras).

The file is checked in, since Keras 2 is not a test dependency. It was made with
TensorFlow 2.21 and tf_keras 2.21::

    pip install tf_keras==2.21.0
    TF_USE_LEGACY_KERAS=1 python tests/references/keras2/make_small_cnn.py

``small_cnn.npz`` holds an input and the model's outputs for it, computed by Keras 2,
so a test can check the weights moved without Keras 2 installed. ``small_cnn.yaml`` is
the same architecture as a spec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tf_keras as keras
from tf_keras import layers

HERE = Path(__file__).parent


def small_cnn() -> keras.Model:
    """Stem, one residual block, a strided convolution, a classifier of five classes."""
    decay = keras.regularizers.L2(1e-4)
    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    shortcut = x
    y = layers.Conv2D(16, 3, padding="same", kernel_regularizer=decay, name="res_conv1")(x)
    y = layers.BatchNormalization(name="res_bn1")(y)
    y = layers.Activation("relu", name="res_relu1")(y)
    y = layers.Conv2D(16, 3, padding="same", kernel_regularizer=decay, name="res_conv2")(y)
    y = layers.BatchNormalization(name="res_bn2")(y)
    x = layers.Add(name="res_add")([shortcut, y])
    x = layers.ReLU(name="res_relu2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(32, 3, strides=2, activation="relu", name="down_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(5, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def main() -> None:
    rng = np.random.default_rng(13)
    model = small_cnn()
    # batch-norm statistics away from their initial 0 and 1, so a layer left
    # initialised cannot pass for one that took its weights
    model.set_weights([rng.normal(0.0, 0.3, w.shape).astype("float32") for w in model.weights])
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            var = rng.uniform(0.5, 2.0, var.shape).astype("float32")
            layer.set_weights([gamma, beta, mean, var])
    model.save(HERE / "small_cnn.h5")
    x = rng.uniform(0.0, 1.0, (2, 32, 32, 3)).astype("float32")
    np.savez(HERE / "small_cnn.npz", x=x, y=model(x, training=False).numpy())


if __name__ == "__main__":
    main()
