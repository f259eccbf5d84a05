"""More example nets written by hand in plain Keras: a small vision transformer, two text
classifiers and the ResNets of two seed tutorials. Each is the reference of a bundled
spec in specs/examples."""

import keras
from keras import layers
from keras.initializers import glorot_uniform


def vit_small(
    size: int = 32,
    patch: int = 4,
    width: int = 64,
    heads: int = 4,
    hidden: int = 128,
    depth: int = 4,
    classes: int = 10,
) -> keras.Model:
    """Patches by a strided convolution, a convolutional position encoding (a 3x3
    depthwise convolution over the patch grid, added back), pre-norm encoder blocks,
    mean of the tokens, softmax."""
    tokens = (size // patch) ** 2
    image = keras.Input(shape=(size, size, 3))
    patches = layers.Conv2D(width, patch, strides=patch, name="patch_embedding")(image)
    position = layers.DepthwiseConv2D(3, padding="same", name="position_encoding")(patches)
    x = layers.Add(name="embedded_patches")([patches, position])
    x = layers.Reshape((tokens, width), name="tokens")(x)
    for i in range(1, depth + 1):
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        y = layers.MultiHeadAttention(heads, width // heads, name=f"block{i}_attention")(y, y)
        x = layers.Add(name=f"block{i}_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
        y = layers.Dense(hidden, activation="gelu", name=f"block{i}_fc1")(y)
        y = layers.Dense(width, name=f"block{i}_fc2")(y)
        x = layers.Add(name=f"block{i}_add2")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(image, outputs, name="vit_small")


def conv1d_text_classifier(
    vocabulary: int = 20_000, steps: int = 200, classes: int = 2
) -> keras.Model:
    """Embedding, Conv1D/MaxPooling1D twice, a third Conv1D, global max pooling, dense."""
    tokens = keras.Input(shape=(steps,), dtype="int32")
    x = layers.Embedding(vocabulary, 128, name="embedding")(tokens)
    x = layers.Conv1D(128, 5, activation="relu", name="block1_conv")(x)
    x = layers.MaxPooling1D(5, name="block1_pool")(x)
    x = layers.Conv1D(128, 5, activation="relu", name="block2_conv")(x)
    x = layers.MaxPooling1D(5, name="block2_pool")(x)
    x = layers.Conv1D(128, 5, activation="relu", name="block3_conv")(x)
    x = layers.GlobalMaxPooling1D(name="global_pool")(x)
    x = layers.Dense(128, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="fc_dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(tokens, outputs, name="conv1d_text_classifier")


def bilstm_classifier(vocabulary: int = 20_000, steps: int = 64) -> keras.Model:
    """Embedding, two bidirectional LSTMs of 64 (the first returns sequences), sigmoid."""
    tokens = keras.Input(shape=(steps,), dtype="int32")
    x = layers.Embedding(vocabulary, 128, name="embedding")(tokens)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True), name="bilstm1")(x)
    x = layers.Bidirectional(layers.LSTM(64), name="bilstm2")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    return keras.Model(tokens, outputs, name="bilstm_classifier")


# The ResNet-50 of the tutorial "ResNet解读和实现": its ResNet50 function as printed, with
# the identity and convolutional blocks it calls (their code is not in the text; they
# follow the figures it describes, and name layers res<stage><block>_branch.. and
# bn<stage><block>_branch.. from the `stage` and `block` arguments the calls pass).


def _identity_block(X, f, filters, stage, block):
    conv_name_base = "res" + str(stage) + block + "_branch"
    bn_name_base = "bn" + str(stage) + block + "_branch"
    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(
        F1,
        (1, 1),
        strides=(1, 1),
        padding="valid",
        name=conv_name_base + "2a",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name=bn_name_base + "2a")(X)
    X = layers.Activation("relu")(X)
    X = layers.Conv2D(
        F2,
        (f, f),
        strides=(1, 1),
        padding="same",
        name=conv_name_base + "2b",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name=bn_name_base + "2b")(X)
    X = layers.Activation("relu")(X)
    X = layers.Conv2D(
        F3,
        (1, 1),
        strides=(1, 1),
        padding="valid",
        name=conv_name_base + "2c",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name=bn_name_base + "2c")(X)
    X = layers.Add()([X, X_shortcut])
    return layers.Activation("relu")(X)


def _convolutional_block(X, f, filters, stage, block, s=2):
    conv_name_base = "res" + str(stage) + block + "_branch"
    bn_name_base = "bn" + str(stage) + block + "_branch"
    F1, F2, F3 = filters
    X_shortcut = X
    X = layers.Conv2D(
        F1,
        (1, 1),
        strides=(s, s),
        padding="valid",
        name=conv_name_base + "2a",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name=bn_name_base + "2a")(X)
    X = layers.Activation("relu")(X)
    X = layers.Conv2D(
        F2,
        (f, f),
        strides=(1, 1),
        padding="same",
        name=conv_name_base + "2b",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name=bn_name_base + "2b")(X)
    X = layers.Activation("relu")(X)
    X = layers.Conv2D(
        F3,
        (1, 1),
        strides=(1, 1),
        padding="valid",
        name=conv_name_base + "2c",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name=bn_name_base + "2c")(X)
    X_shortcut = layers.Conv2D(
        F3,
        (1, 1),
        strides=(s, s),
        padding="valid",
        name=conv_name_base + "1",
        kernel_initializer=glorot_uniform(seed=0),
    )(X_shortcut)
    X_shortcut = layers.BatchNormalization(axis=3, name=bn_name_base + "1")(X_shortcut)
    X = layers.Add()([X, X_shortcut])
    return layers.Activation("relu")(X)


def resnet50_seed(input_shape=(64, 64, 3), classes=6):
    X_input = layers.Input(input_shape)
    X = layers.ZeroPadding2D((3, 3))(X_input)

    X = layers.Conv2D(
        filters=64,
        kernel_size=(7, 7),
        strides=(2, 2),
        name="conv1",
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    X = layers.BatchNormalization(axis=3, name="bn_conv1")(X)
    X = layers.Activation("relu")(X)
    X = layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2))(X)

    X = _convolutional_block(X, f=3, filters=[64, 64, 256], stage=2, block="a", s=1)
    X = _identity_block(X, f=3, filters=[64, 64, 256], stage=2, block="b")
    X = _identity_block(X, f=3, filters=[64, 64, 256], stage=2, block="c")

    X = _convolutional_block(X, f=3, filters=[128, 128, 512], stage=3, block="a", s=2)
    X = _identity_block(X, f=3, filters=[128, 128, 512], stage=3, block="b")
    X = _identity_block(X, f=3, filters=[128, 128, 512], stage=3, block="c")
    X = _identity_block(X, f=3, filters=[128, 128, 512], stage=3, block="d")

    X = _convolutional_block(X, f=3, filters=[256, 256, 1024], stage=4, block="a", s=2)
    X = _identity_block(X, f=3, filters=[256, 256, 1024], stage=4, block="b")
    X = _identity_block(X, f=3, filters=[256, 256, 1024], stage=4, block="c")
    X = _identity_block(X, f=3, filters=[256, 256, 1024], stage=4, block="d")
    X = _identity_block(X, f=3, filters=[256, 256, 1024], stage=4, block="e")
    X = _identity_block(X, f=3, filters=[256, 256, 1024], stage=4, block="f")

    X = _convolutional_block(X, f=3, filters=[512, 512, 2048], stage=5, block="a", s=2)
    X = _identity_block(X, f=3, filters=[512, 512, 2048], stage=5, block="b")
    X = _identity_block(X, f=3, filters=[512, 512, 2048], stage=5, block="c")

    X = layers.AveragePooling2D(pool_size=(2, 2), padding="same")(X)

    X = layers.Flatten()(X)
    X = layers.Dense(
        classes,
        activation="softmax",
        name="fc" + str(classes),
        kernel_initializer=glorot_uniform(seed=0),
    )(X)
    return keras.Model(inputs=X_input, outputs=X, name="ResNet50")


# The functional ResNet of the tutorial "Keras實現CNN經典神經網絡", as printed there.


def _residual_block(x, filters, downsample=False):
    shortcut = x
    stride = (1, 1)
    if downsample:
        stride = (2, 2)
        shortcut = layers.Conv2D(filters, (1, 1), strides=stride, padding="same")(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    x = layers.Conv2D(filters, (3, 3), strides=stride, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(filters, (3, 3), strides=(1, 1), padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.add([x, shortcut])
    return layers.Activation("relu")(x)


def resnet_functional_seed(input_shape=(224, 224, 3), num_classes=10):
    inputs = layers.Input(shape=input_shape)
    x = layers.ZeroPadding2D(padding=(3, 3))(inputs)
    x = layers.Conv2D(64, (7, 7), strides=(2, 2))(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _residual_block(x, filters=64)
    x = _residual_block(x, filters=64)
    x = _residual_block(x, filters=128, downsample=True)
    x = _residual_block(x, filters=128)
    x = _residual_block(x, filters=256, downsample=True)
    x = _residual_block(x, filters=256)
    x = _residual_block(x, filters=512, downsample=True)
    x = _residual_block(x, filters=512)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)
