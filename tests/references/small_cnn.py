"""The small residual CNN of ``keras2/small_cnn.h5``, by hand in plain Keras.

``api`` is the Keras to build it with: Keras 3 here, Keras 2 (``tf_keras``) in the
script that wrote the Keras 2 file.
"""

from __future__ import annotations

from typing import Any

import keras


def small_cnn(classes: int = 5, *, api: Any = keras) -> Any:
    """Stem, one residual block, a strided convolution and a softmax classifier."""
    layers = api.layers
    decay = api.regularizers.L2(1e-4)
    inputs = api.Input((32, 32, 3), name="image")
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
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return api.Model(inputs, outputs, name="small_cnn")
