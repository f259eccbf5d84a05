"""The Keras layer of the example plugin's op (imported only when a model is built)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="archspec_example_plugin")
class ChannelAffine(keras.layers.Layer):
    """`x * scale + shift`, one learned scale and shift per channel."""

    def __init__(self, use_shift: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.use_shift = use_shift

    def build(self, input_shape):
        channels = (input_shape[-1],)
        self.scale = self.add_weight(shape=channels, initializer="ones", name="scale")
        if self.use_shift:
            self.shift = self.add_weight(shape=channels, initializer="zeros", name="shift")

    def call(self, x):
        out = x * self.scale
        return out + self.shift if self.use_shift else out

    def get_config(self):
        return {**super().get_config(), "use_shift": self.use_shift}
