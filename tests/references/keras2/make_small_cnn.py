"""Writes ``small_cnn.h5``: a small residual CNN saved whole by Keras 2 (tf.keras).

The file is checked in, since Keras 2 is not a test dependency. It was made with
TensorFlow 2.21 and tf_keras 2.21::

    pip install tf_keras==2.21.0
    TF_USE_LEGACY_KERAS=1 python -m tests.references.keras2.make_small_cnn

``small_cnn.npz`` holds an input and the model's outputs for it, computed by Keras 2,
so a test can check the weights moved without Keras 2 installed. ``small_cnn.yaml`` is
the same architecture as a spec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tf_keras

from tests.references.small_cnn import small_cnn

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(13)
    model = small_cnn(api=tf_keras)
    # batch-norm statistics away from their initial 0 and 1, so a layer left
    # initialised cannot pass for one that took its weights
    model.set_weights([rng.normal(0.0, 0.3, w.shape).astype("float32") for w in model.weights])
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            var = rng.uniform(0.5, 2.0, var.shape).astype("float32")
            layer.set_weights([gamma, beta, mean, var])
    model.save(HERE / "small_cnn.h5")
    x = rng.uniform(0.0, 1.0, (2, 32, 32, 3)).astype("float32")
    np.savez(HERE / "small_cnn.npz", x=x, y=model(x, training=False).numpy())


if __name__ == "__main__":
    main()
