"""LeNet-5, AlexNet and ZF-Net written by hand in plain Keras, after the seed tutorials."""

import keras
from keras import layers


def lenet5(classes: int = 10) -> keras.Model:
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(6, (5, 5), activation="sigmoid")(inputs)
    x = layers.MaxPooling2D(pool_size=(2, 2), strides=2)(x)
    x = layers.Conv2D(16, (5, 5), activation="sigmoid")(x)
    x = layers.MaxPooling2D(pool_size=(2, 2), strides=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="sigmoid")(x)
    x = layers.Dense(84, activation="sigmoid")(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="lenet5_reference")


def _alexnet_family(size: int, first_kernel: int, first_stride: int, second_stride: int):
    inputs = keras.Input(shape=(size, size, 3))
    x = layers.Conv2D(96, first_kernel, strides=first_stride, activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2))(x)
    x = layers.Conv2D(256, 5, strides=second_stride, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2))(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(4096, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(4096, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1000, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def alexnet() -> keras.Model:
    return _alexnet_family(227, 11, 4, 1)


def zfnet() -> keras.Model:
    return _alexnet_family(224, 7, 2, 2)
