"""The seed tutorials' smaller nets and building blocks, written by hand in plain Keras.

Each follows its seed's code, rewritten with the functional API; where a seed's
indentation was lost, the structure its text describes is used (two inception units
per block, filters doubling after each ResNet stage).
"""

import keras
from keras import layers


def _conv_bn_relu(x, filters, kernel=3, strides=1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same")(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def _inception_blk(x, filters, strides):
    x1 = _conv_bn_relu(x, filters, 1, strides)
    x2 = _conv_bn_relu(_conv_bn_relu(x, filters, 1, strides), filters, 3)
    x3 = _conv_bn_relu(_conv_bn_relu(x, filters, 1, strides), filters, 5)
    x4 = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    x4 = _conv_bn_relu(x4, filters, 1, strides)
    return layers.Concatenate(axis=3)([x1, x2, x3, x4])


def inception10(num_blocks=2, num_classes=10, init_ch=16):
    inputs = keras.Input((32, 32, 3))
    x = _conv_bn_relu(inputs, init_ch)
    channels = init_ch
    for _ in range(num_blocks):
        for layer_id in range(2):
            x = _inception_blk(x, channels, strides=2 if layer_id == 0 else 1)
        channels *= 2
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def _inception_module(x, f1, f2_in, f2_out, f3_in, f3_out, f4_out):
    conv1 = layers.Conv2D(f1, (1, 1), padding="same", activation="relu")(x)
    conv3 = layers.Conv2D(f2_in, (1, 1), padding="same", activation="relu")(x)
    conv3 = layers.Conv2D(f2_out, (3, 3), padding="same", activation="relu")(conv3)
    conv5 = layers.Conv2D(f3_in, (1, 1), padding="same", activation="relu")(x)
    conv5 = layers.Conv2D(f3_out, (5, 5), padding="same", activation="relu")(conv5)
    pool = layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same")(x)
    pool = layers.Conv2D(f4_out, (1, 1), padding="same", activation="relu")(pool)
    return layers.concatenate([conv1, conv3, conv5, pool], axis=-1)


def inception_net(input_shape=(224, 224, 3), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(64, (7, 7), strides=(2, 2), padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)
    x = layers.Conv2D(64, (1, 1), padding="same", activation="relu")(x)
    x = layers.Conv2D(192, (3, 3), padding="same", activation="relu")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)
    for _ in range(3):
        x = _inception_module(x, 64, 64, 96, 64, 64, 32)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def _xc_conv_block(x, filters, stride):
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def _xc_sep_conv_block(x, filters):
    x = layers.ReLU()(x)
    return layers.SeparableConv2D(filters, 3, strides=1, padding="same", use_bias=False)(x)


def _xc_res_block(x, filters):
    residual = layers.Conv2D(filters, (1, 1), strides=2)(x)
    residual = layers.BatchNormalization()(residual)
    y = _xc_sep_conv_block(x, filters)
    y = _xc_sep_conv_block(y, filters)
    y = layers.MaxPooling2D(pool_size=(3, 3), strides=2, padding="same")(y)
    return layers.Add()([residual, y])


def xception_seed(classes=1000):
    inputs = keras.Input(shape=(299, 299, 3))
    x = _xc_conv_block(inputs, 32, 2)
    x = _xc_conv_block(x, 64, 1)
    x = layers.SeparableConv2D(128, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = _xc_sep_conv_block(x, 128)
    x = layers.MaxPooling2D(pool_size=(3, 3), strides=2, padding="same")(x)
    x = _xc_res_block(x, 256)
    x = _xc_res_block(x, 728)
    for _ in range(8):
        residual = x
        for _ in range(3):
            x = _xc_sep_conv_block(x, 728)
        x = layers.Add()([residual, x])
    residual = layers.Conv2D(1024, 1, strides=2, use_bias=False, padding="same")(x)
    residual = layers.BatchNormalization()(residual)
    x = _xc_sep_conv_block(x, 728)
    x = _xc_sep_conv_block(x, 1024)
    x = layers.MaxPooling2D(pool_size=(3, 3), strides=2, padding="same")(x)
    x = layers.Add()([residual, x])
    for filters in (1536, 2048):
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes)(x))


def vgg16_bn_cifar():
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            x = layers.Conv2D(filters, (3, 3), padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPool2D(pool_size=(2, 2), strides=2, padding="same")(x)
        x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def alexnet8_cifar():
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for filters in (96, 256):
        x = layers.Conv2D(filters=filters, kernel_size=(3, 3))(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPool2D(pool_size=(3, 3), strides=2)(x)
    x = layers.Conv2D(384, (3, 3), padding="same", activation="relu")(x)
    x = layers.Conv2D(384, (3, 3), padding="same", activation="relu")(x)
    x = layers.Conv2D(256, (3, 3), padding="same", activation="relu")(x)
    x = layers.MaxPool2D(pool_size=(3, 3), strides=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(2048, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(2048, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def _resnet_block(x, filters, strides=1, residual_path=False):
    residual = x
    y = layers.Conv2D(filters, (3, 3), strides=strides, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, (3, 3), strides=1, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if residual_path:
        residual = layers.Conv2D(filters, (1, 1), strides=strides, padding="same", use_bias=False)(
            x
        )
        residual = layers.BatchNormalization()(residual)
    return layers.Activation("relu")(layers.Add()([y, residual]))


def resnet18_cifar(block_list=(2, 2, 2, 2), initial_filters=64):
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(initial_filters, (3, 3), strides=1, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    filters = initial_filters
    for block_id, count in enumerate(block_list):
        for layer_id in range(count):
            if block_id != 0 and layer_id == 0:
                x = _resnet_block(x, filters, strides=2, residual_path=True)
            else:
                x = _resnet_block(x, filters)
        filters *= 2
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax", kernel_regularizer=keras.regularizers.l2())(x)
    return keras.Model(inputs, outputs)


def _vgg_block(x, n_filters, n_conv):
    for _ in range(n_conv):
        x = layers.Conv2D(n_filters, (3, 3), padding="same", activation="relu")(x)
    return layers.MaxPooling2D((2, 2), strides=(2, 2))(x)


def vgg_block():
    visible = keras.Input(shape=(256, 256, 3))
    return keras.Model(visible, _vgg_block(visible, 64, 2))


def vgg_blocks():
    visible = keras.Input(shape=(256, 256, 3))
    x = _vgg_block(visible, 64, 2)
    x = _vgg_block(x, 128, 2)
    return keras.Model(visible, _vgg_block(x, 256, 4))


def naive_inception():
    visible = keras.Input(shape=(256, 256, 3))
    conv1 = layers.Conv2D(64, (1, 1), padding="same", activation="relu")(visible)
    conv3 = layers.Conv2D(128, (3, 3), padding="same", activation="relu")(visible)
    conv5 = layers.Conv2D(32, (5, 5), padding="same", activation="relu")(visible)
    pool = layers.MaxPooling2D((3, 3), strides=(1, 1), padding="same")(visible)
    return keras.Model(visible, layers.concatenate([conv1, conv3, conv5, pool], axis=-1))


def inception_modules():
    visible = keras.Input(shape=(256, 256, 3))
    x = _inception_module(visible, 64, 96, 128, 16, 32, 32)
    return keras.Model(visible, _inception_module(x, 128, 128, 192, 32, 96, 64))


def residual_module(n_filters=64):
    visible = keras.Input(shape=(256, 256, 3))
    merge_input = visible
    if visible.shape[-1] != n_filters:
        merge_input = layers.Conv2D(
            n_filters, (1, 1), padding="same", activation="relu", kernel_initializer="he_normal"
        )(visible)
    conv1 = layers.Conv2D(
        n_filters, (3, 3), padding="same", activation="relu", kernel_initializer="he_normal"
    )(visible)
    conv2 = layers.Conv2D(
        n_filters, (3, 3), padding="same", activation="linear", kernel_initializer="he_normal"
    )(conv1)
    out = layers.add([conv2, merge_input])
    return keras.Model(visible, layers.Activation("relu")(out))
