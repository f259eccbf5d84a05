"""GoogLeNet (Szegedy et al. 2014, Table 1) written by hand in plain Keras, without LRN."""

import keras
from keras import layers

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
TABLE_1 = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x, filters, kernel, strides=1):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same", activation="relu")(x)


def _inception(x, name):
    f1, f3r, f3, f5r, f5, fp = TABLE_1[name]
    b1 = _conv(x, f1, 1)
    b3 = _conv(_conv(x, f3r, 1), f3, 3)
    b5 = _conv(_conv(x, f5r, 1), f5, 5)
    bp = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    bp = _conv(bp, fp, 1)
    return layers.Concatenate()([b1, b3, b5, bp])


def _aux_head(x, classes):
    x = layers.AveragePooling2D(5, strides=3)(x)
    x = _conv(x, 128, 1)
    x = layers.Flatten()(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.Dropout(0.7)(x)
    return layers.Dense(classes, activation="softmax")(x)


def googlenet(aux: bool = False, classes: int = 1000) -> keras.Model:
    inputs = keras.Input((224, 224, 3))
    x = _conv(inputs, 64, 7, strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = _conv(x, 64, 1)
    x = _conv(x, 192, 3)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = _inception(x, "3a")
    x = _inception(x, "3b")
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = _inception(x, "4a")
    aux1 = _aux_head(x, classes) if aux else None
    for name in ("4b", "4c", "4d"):
        x = _inception(x, name)
    aux2 = _aux_head(x, classes) if aux else None
    x = _inception(x, "4e")
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = _inception(x, "5a")
    x = _inception(x, "5b")
    x = layers.AveragePooling2D(7, strides=1)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    main = layers.Dense(classes, activation="softmax")(x)
    outputs = [main, aux1, aux2] if aux else main
    return keras.Model(inputs, outputs)


def googlenet_aux() -> keras.Model:
    return googlenet(aux=True)
