"""ResNet-18 and ResNet-34 (He et al. 2015, Table 1) written by hand in plain Keras.

Basic blocks of two 3x3 convolutions without bias, each followed by batch
normalisation; a 1x1 projection shortcut (option B) where the shape changes.
"""

import keras
from keras import layers


def _conv_bn(x, filters, kernel, stride=1, padding="valid"):
    x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False)(x)
    return layers.BatchNormalization()(x)


def _basic_block(x, filters, stride, project):
    shortcut = x
    if project:
        shortcut = _conv_bn(x, filters, 1, stride)
    y = _conv_bn(x, filters, 3, stride, "same")
    y = layers.Activation("relu")(y)
    y = _conv_bn(y, filters, 3, 1, "same")
    y = layers.Add()([shortcut, y])
    return layers.Activation("relu")(y)


def _resnet(depths, classes=1000):
    inputs = keras.Input(shape=(224, 224, 3))
    x = layers.ZeroPadding2D(3)(inputs)
    x = _conv_bn(x, 64, 7, 2)
    x = layers.Activation("relu")(x)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    for stage, (depth, filters) in enumerate(zip(depths, (64, 128, 256, 512), strict=True)):
        for i in range(depth):
            first = i == 0
            stride = 2 if first and stage > 0 else 1
            x = _basic_block(x, filters, stride, project=first and stage > 0)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def resnet18():
    return _resnet((2, 2, 2, 2))


def resnet34():
    return _resnet((3, 4, 6, 3))
