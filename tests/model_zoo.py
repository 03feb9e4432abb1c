"""Small models of the kinds practitioners have, for the tests of diagnostics, lsuv,
reinitialize.

Each builder returns ``(model, x)``: a built model with Keras's default initializers (or
the pattern its name says) and a batch. Sizes are tiny so that the default test run
stays fast; ``keras.applications`` models are built with ``weights=None`` at 32x32
(64x64 for ResNet50).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

RNG_SEED = 0


def pixels(n: int = 8, size: int = 32, channels: int = 3) -> np.ndarray:
    """Raw pixels in [0, 255], as a practitioner's image batch looks before
    preprocessing."""
    return (
        np.random.default_rng(RNG_SEED)
        .uniform(0, 255, (n, size, size, channels))
        .astype("float32")
    )


def application(name: str, size: int = 32, **kwargs):
    keras.utils.set_random_seed(RNG_SEED)
    model = getattr(keras.applications, name)(
        weights=None, input_shape=(size, size, 3), **kwargs
    )
    return model, pixels(size=size)


def text_rnn():
    """Embedding -> Bidirectional(LSTM) -> TimeDistributed(Dense) -> GRU -> softmax."""
    keras.utils.set_random_seed(RNG_SEED)
    inp = keras.Input((12,), dtype="int32")
    h = keras.layers.Embedding(200, 16, name="embed")(inp)
    h = keras.layers.Bidirectional(
        keras.layers.LSTM(8, return_sequences=True), name="bilstm"
    )(h)
    h = keras.layers.TimeDistributed(
        keras.layers.Dense(8, activation="relu"), name="td"
    )(h)
    h = keras.layers.GRU(8, name="gru")(h)
    out = keras.layers.Dense(4, activation="softmax", name="probs")(h)
    x = np.random.default_rng(RNG_SEED).integers(0, 200, (16, 12))
    return keras.Model(inp, out, name="text_rnn"), x


def transformer(depth: int = 2, width: int = 32):
    """A Transformer encoder: Embedding, MultiHeadAttention, residual Add,
    LayerNormalization."""
    keras.utils.set_random_seed(RNG_SEED)
    inp = keras.Input((10,), dtype="int32")
    h = keras.layers.Embedding(100, width, name="tokens")(inp)
    for i in range(depth):
        a = keras.layers.MultiHeadAttention(2, width // 2, name=f"mha_{i}")(h, h)
        h = keras.layers.LayerNormalization(name=f"ln_a_{i}")(
            keras.layers.Add()([h, a])
        )
        f = keras.layers.Dense(2 * width, activation="gelu", name=f"ff_in_{i}")(h)
        f = keras.layers.Dense(width, name=f"ff_out_{i}")(f)
        h = keras.layers.LayerNormalization(name=f"ln_f_{i}")(
            keras.layers.Add()([h, f])
        )
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(3, name="logits")(h)
    x = np.random.default_rng(RNG_SEED).integers(0, 100, (8, 10))
    return keras.Model(inp, out, name="encoder"), x


def conv_zoo():
    """SeparableConv2D, DepthwiseConv2D, Conv2DTranspose, Conv1D and Conv3D on three
    inputs."""
    keras.utils.set_random_seed(RNG_SEED)
    i2 = keras.Input((12, 12, 3), name="image")
    h = keras.layers.SeparableConv2D(8, 3, activation="relu", name="sep")(i2)
    h = keras.layers.DepthwiseConv2D(3, activation="relu", name="depthwise")(h)
    h = keras.layers.Conv2DTranspose(
        4, 3, strides=2, activation="relu", name="transpose"
    )(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    i1 = keras.Input((20, 3), name="series")
    g = keras.layers.Conv1D(6, 3, activation="tanh", name="conv1d")(i1)
    g = keras.layers.GlobalAveragePooling1D()(g)
    i3 = keras.Input((6, 6, 6, 2), name="volume")
    k = keras.layers.Conv3D(4, 3, activation="relu", name="conv3d")(i3)
    k = keras.layers.GlobalAveragePooling3D()(k)
    out = keras.layers.Dense(2, name="head")(keras.layers.Concatenate()([h, g, k]))
    rng = np.random.default_rng(RNG_SEED)
    x = [
        rng.standard_normal((8, 12, 12, 3)).astype("float32"),
        rng.standard_normal((8, 20, 3)).astype("float32"),
        rng.standard_normal((8, 6, 6, 6, 2)).astype("float32"),
    ]
    return keras.Model([i2, i1, i3], out, name="convs"), x


class Block(keras.layers.Layer):
    """A residual block whose Dense layers are attributes of a custom layer."""

    def __init__(self, width: int, zero_last: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(
            width, activation="relu", kernel_initializer="he_normal"
        )
        self.outer = keras.layers.Dense(
            width, kernel_initializer="zeros" if zero_last else "glorot_uniform"
        )

    def call(self, x):
        return x + self.outer(self.inner(x))


class Tower(keras.layers.Layer):
    """A custom layer holding custom layers (two levels of nesting)."""

    def __init__(self, width: int, depth: int, zero_last: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [Block(width, zero_last) for _ in range(depth)]

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class Subclassed(keras.Model):
    """A subclassed model with nested custom layers."""

    def __init__(self, zero_last: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.stem = keras.layers.Dense(16, name="stem")
        self.tower = Tower(16, 3, zero_last=zero_last, name="tower")
        self.head = keras.layers.Dense(3, name="head")

    def call(self, x):
        return self.head(self.tower(self.stem(x)))


def subclassed(zero_last: bool = False):
    keras.utils.set_random_seed(RNG_SEED)
    model = Subclassed(zero_last=zero_last, name="subclassed")
    x = np.random.default_rng(RNG_SEED).standard_normal((16, 10)).astype("float32")
    model(x)
    return model, x


def shared_two_in_two_out():
    """One Dense layer applied to two inputs; a regression and a softmax output (dict
    in/out)."""
    keras.utils.set_random_seed(RNG_SEED)
    a = keras.Input((6,), name="left")
    b = keras.Input((6,), name="right")
    shared = keras.layers.Dense(8, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    sim = keras.layers.Dense(1, name="sim")(keras.layers.Concatenate()([ha, hb]))
    cls = keras.layers.Dense(3, activation="softmax", name="cls")(hb)
    model = keras.Model(
        {"left": a, "right": b}, {"sim": sim, "cls": cls}, name="siamese"
    )
    rng = np.random.default_rng(RNG_SEED)
    x = {
        "left": rng.standard_normal((16, 6)).astype("float32"),
        "right": (3 * rng.standard_normal((16, 6))).astype("float32"),
    }
    return model, x


def mixed_precision_classifier(classes: int = 1000):
    """A float16-compute CNN with a 1000-class softmax head (as keras.applications
    builds it)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(RNG_SEED)
        inp = keras.Input((16, 16, 3))
        h = keras.layers.Conv2D(
            8, 3, activation="relu", kernel_initializer="he_normal"
        )(inp)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Conv2D(
            8, 3, activation="relu", kernel_initializer="he_normal"
        )(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
        out = keras.layers.Dense(
            classes, activation="softmax", dtype="float32", name="probs"
        )(h)
        model = keras.Model(inp, out, name="mixed")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    x = (
        np.random.default_rng(RNG_SEED)
        .standard_normal((8, 16, 16, 3))
        .astype("float32")
    )
    return model, x


def matrices(model) -> dict[str, np.ndarray]:
    """Every weight with at least two axes, by path."""
    return {str(v.path): v.numpy().copy() for v in model.weights if len(v.shape) >= 2}
