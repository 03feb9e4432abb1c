"""Many small Transformers (and LSTMs) trained at once, in one TensorFlow graph.

A comparison of initializations needs several seeds per arm, and training them one Keras
model
after another costs minutes. Here the weights of ``M`` models are stacked along a
leading axis
(``params["l0_wq"]`` has shape ``(M, d_model, d_model)``), every layer is an ``einsum``
over
that axis, and one :func:`train_stacked` step updates all ``M`` models: their losses are
summed,
so each model receives exactly its own gradient, and Adam is elementwise, so each model
also
gets its own learning-rate schedule.

* :func:`encoder_params` draws one encoder's weights as **Keras' defaults** draw them
  (``Embedding``: uniform on [-0.05, 0.05]; ``MultiHeadAttention`` and ``Dense``: Glorot
  uniform
  with Keras' fans, zero biases; ``LayerNormalization``: gain 1, bias 0) and then
  applies a
  scheme: Post-LN, Pre-LN (Xiong et al. 2020), DeepNorm (Wang et al. 2022) or T-Fixup's
  scaling
  without layer norms (Huang et al. 2020).
* :func:`encoder_logits` is the forward pass; ``tests/test_modern.py`` checks that, with
  weights
  copied from Keras layers, it computes what ``keras.layers.MultiHeadAttention``,
  ``Dense`` and
  ``LayerNormalization`` compute.
* :func:`train_stacked` is a small, generic Adam loop over stacked parameters.

TensorFlow is imported here (this is not a numpy-only module).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from initcourse import modern
from initcourse._utils import RngLike, as_rng, check_choice

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

__all__ = [
    "SCHEMES",
    "encoder_logits",
    "encoder_params",
    "keras_encoder",
    "lstm_params",
    "lstm_predict",
    "scheme_switches",
    "stack_params",
    "train_stacked",
]

SCHEMES = ("post", "pre", "deepnorm", "tfixup")
"""Block layouts: Post-LN, Pre-LN, DeepNorm (Post-LN with alpha, beta), T-Fixup."""

_LN_EPS = 1e-3  # keras.layers.LayerNormalization's default epsilon


def _glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot-uniform ``(fan_in, fan_out)`` matrix, limit :math:`\\sqrt{6/(i+o)}`."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def _check_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}: expected an int >= {minimum}, "
            f"got {type(value).__name__} {value!r}"
        )
    if int(value) < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def encoder_params(
    depth: int,
    d_model: int,
    d_ff: int,
    vocab: int,
    seq_len: int,
    *,
    scheme: str = "post",
    rng: RngLike = None,
) -> dict[str, np.ndarray]:
    """One encoder's weights in Xiong et al.'s (2020) setup, rescaled by ``scheme``.

    Every kernel is Glorot (Xavier) uniform over its two-dimensional fans, biases are
    zero, layer
    norms have gain 1 and bias 0, and the token and position tables are
    :math:`\\mathcal N(0, 1)`: the :math:`\\mathcal N(0, 1/d)` embeddings of Vaswani et
    al.
    multiplied by their :math:`\\sqrt d`. Layout (``x @ W``): ``tok`` ``(vocab, d)``,
    ``pos``
    ``(seq_len, d)``; per layer ``k`` the attention kernels ``l{k}_wq``, ``_wk``,
    ``_wv``,
    ``_wo`` ``(d, d)`` (heads side by side, as ``keras.layers.MultiHeadAttention`` lays
    out its
    ``(d, heads, d // heads)`` kernels) with biases ``_bq`` ... ``_bo``, the ReLU
    feed-forward
    kernels ``_w1`` ``(d, d_ff)``, ``_w2`` ``(d_ff, d)`` with biases ``_b1``, ``_b2``,
    and the
    layer-norm gains and biases ``_ga``, ``_ba`` (attention) and ``_gf``, ``_bf``
    (feed-forward); the final layer norm ``gF``, ``bF`` and the readout ``out``,
    ``out_b``.
    Every scheme has every weight, so models of different schemes stack together; a
    scheme
    that does not use a weight leaves it untouched.

    ``scheme`` (see :func:`encoder_logits` for the blocks):

    * ``"post"``, ``"pre"``: as above;
    * ``"deepnorm"``: ``wv``, ``wo``, ``w1``, ``w2`` times :math:`\\beta = (8N)^{-1/4}`
      (Wang et al. 2022, encoder-only; :func:`initcourse.modern.deepnorm_constants`);
    * ``"tfixup"``: the same four kernels times :math:`0.67\\,N^{-1/4}` and the tables
      times
      :math:`(9N)^{-1/4}` (Huang et al. 2020, :func:`initcourse.modern.t_fixup_scales`;
      the
      paper's tables start as :math:`\\mathcal N(0, d^{-1/2})`, here :math:`\\mathcal
      N(0, 1)`).
    """
    depth = _check_int(depth, "depth")
    d = _check_int(d_model, "d_model")
    d_ff, vocab, seq_len = (
        _check_int(v, n)
        for v, n in ((d_ff, "d_ff"), (vocab, "vocab"), (seq_len, "seq_len"))
    )
    check_choice(scheme, "scheme", SCHEMES)
    g = as_rng(rng)
    table_scale, branch_scale = 1.0, 1.0
    if scheme == "deepnorm":
        branch_scale = modern.deepnorm_constants(depth)[1]
    elif scheme == "tfixup":
        branch_scale, table_scale = modern.t_fixup_scales(depth)
    p: dict[str, np.ndarray] = {
        "tok": (g.standard_normal((vocab, d)) * table_scale).astype(np.float32),
        "pos": (g.standard_normal((seq_len, d)) * table_scale).astype(np.float32),
    }
    for k in range(depth):
        for name in ("q", "k", "v", "o"):
            p[f"l{k}_w{name}"] = _glorot_uniform(g, d, d)
            p[f"l{k}_b{name}"] = np.zeros(d, np.float32)
        p[f"l{k}_w1"] = _glorot_uniform(g, d, d_ff)
        p[f"l{k}_b1"] = np.zeros(d_ff, np.float32)
        p[f"l{k}_w2"] = _glorot_uniform(g, d_ff, d)
        p[f"l{k}_b2"] = np.zeros(d, np.float32)
        for name in ("wv", "wo", "w1", "w2"):
            p[f"l{k}_{name}"] *= np.float32(branch_scale)
        for n in ("a", "f"):
            p[f"l{k}_g{n}"] = np.ones(d, np.float32)
            p[f"l{k}_b{n}"] = np.zeros(d, np.float32)
    p["gF"] = np.ones(d, np.float32)
    p["bF"] = np.zeros(d, np.float32)
    p["out"] = _glorot_uniform(g, d, vocab)
    p["out_b"] = np.zeros(vocab, np.float32)
    return p


def stack_params(models: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack several models' weights (same names and shapes) on a new first axis."""
    if not models:
        raise ValueError("models: need at least one model, got an empty sequence")
    names = set(models[0])
    for i, m in enumerate(models):
        if set(m) != names:
            raise ValueError(f"models: model {i} has other weight names than model 0")
    return {k: np.stack([np.asarray(m[k]) for m in models]) for k in models[0]}


def _layer_norm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    mean = tf.reduce_mean(x, -1, keepdims=True)
    var = tf.reduce_mean(tf.square(x - mean), -1, keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + _LN_EPS) * gain[:, None, None, :] + bias[
        :, None, None, :
    ]


def _dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.einsum("mbti,mio->mbto", x, w) + b[:, None, None, :]


def scheme_switches(schemes: Sequence[str], depth: int) -> dict[str, np.ndarray]:
    """Per-model switches ``pre``, ``post`` (0/1) and skip factor ``alpha``."""
    for s in schemes:
        check_choice(s, "schemes", SCHEMES)
    alpha = modern.deepnorm_constants(_check_int(depth, "depth"))[0]
    return {
        "pre": np.array([s == "pre" for s in schemes], np.float32),
        "post": np.array([s in ("post", "deepnorm") for s in schemes], np.float32),
        "alpha": np.array(
            [alpha if s == "deepnorm" else 1.0 for s in schemes], np.float32
        ),
    }


def encoder_logits(
    params: Mapping[str, Any],
    tokens: Any,
    *,
    schemes: Sequence[str],
    num_heads: int,
    return_stream: bool = False,
) -> Any:
    """Logits ``(M, batch, seq_len, vocab)`` of ``M`` stacked encoders.

    ``tokens`` has shape ``(M, batch, seq_len)``.

    ``schemes[i]`` is model ``i``'s block layout. With :math:`A` the multi-head
    self-attention
    (scores divided by :math:`\\sqrt{d_k}`, as ``keras.layers.MultiHeadAttention`` does)
    and
    :math:`F` the ReLU feed-forward network, each of the ``depth`` layers computes

    * ``"post"``:  :math:`x \\leftarrow \\mathrm{LN}(x + A(x))`, then :math:`x
      \\leftarrow \\mathrm{LN}(x + F(x))`;
    * ``"pre"``:   :math:`x \\leftarrow x + A(\\mathrm{LN}(x))`, then :math:`x
      \\leftarrow x + F(\\mathrm{LN}(x))`,
      with a final LN before the readout;
    * ``"deepnorm"``: :math:`x \\leftarrow \\mathrm{LN}(\\alpha x + A(x))`, ...,
      :math:`\\alpha = (2N)^{1/4}`;
    * ``"tfixup"``: :math:`x \\leftarrow x + A(x)`, then :math:`x \\leftarrow x + F(x)`
      (no LN).

    Models of different layouts run in the same ops: every model computes both
    normalized and
    unnormalized values and keeps the ones its layout uses. With ``return_stream=True``
    the
    residual stream after every layer is returned too.
    """
    p = params
    depth = sum(1 for k in p if k.endswith("_wq"))
    sw = {k: tf.constant(v) for k, v in scheme_switches(list(schemes), depth).items()}
    pre, post, alpha = (sw[k][:, None, None, None] for k in ("pre", "post", "alpha"))
    x = tf.gather(p["tok"], tokens, batch_dims=1) + p["pos"][:, None, :, :]
    m = tf.shape(x)[0]
    d = x.shape[-1]
    dk = d // num_heads

    def attention(h: tf.Tensor, k: int) -> tf.Tensor:
        def heads(z: tf.Tensor) -> tf.Tensor:
            return tf.reshape(z, (m, -1, z.shape[2], num_heads, dk))

        q = heads(_dense(h, p[f"l{k}_wq"], p[f"l{k}_bq"]))
        key = heads(_dense(h, p[f"l{k}_wk"], p[f"l{k}_bk"]))
        v = heads(_dense(h, p[f"l{k}_wv"], p[f"l{k}_bv"]))
        scores = tf.einsum("mbqhe,mbkhe->mbhqk", q, key) / math.sqrt(dk)
        o = tf.einsum("mbhqk,mbkhe->mbqhe", tf.nn.softmax(scores, -1), v)
        return _dense(
            tf.reshape(o, (m, -1, o.shape[2], d)), p[f"l{k}_wo"], p[f"l{k}_bo"]
        )

    def ffn(h: tf.Tensor, k: int) -> tf.Tensor:
        return _dense(
            tf.nn.relu(_dense(h, p[f"l{k}_w1"], p[f"l{k}_b1"])),
            p[f"l{k}_w2"],
            p[f"l{k}_b2"],
        )

    def sublayer(
        x: tf.Tensor, branch: Callable[[tf.Tensor, int], tf.Tensor], k: int, n: str
    ) -> tf.Tensor:
        gain, bias = p[f"l{k}_g{n}"], p[f"l{k}_b{n}"]
        h = pre * _layer_norm(x, gain, bias) + (1 - pre) * x
        y = alpha * x + branch(h, k)
        return post * _layer_norm(y, gain, bias) + (1 - post) * y

    stream = []
    for k in range(depth):
        x = sublayer(x, attention, k, "a")
        x = sublayer(x, ffn, k, "f")
        stream.append(x)
    x = pre * _layer_norm(x, p["gF"], p["bF"]) + (1 - pre) * x
    logits = tf.einsum("mbti,miv->mbtv", x, p["out"]) + p["out_b"][:, None, None, :]
    return (logits, stream) if return_stream else logits


def keras_encoder(
    params: Mapping[str, np.ndarray], *, num_heads: int, scheme: str
) -> Any:
    """A Keras model, built from Keras layers, that computes :func:`encoder_logits`.

    ``params`` are one model's weights (:func:`encoder_params`, no leading model axis).
    The
    blocks use ``keras.layers.MultiHeadAttention``, ``Dense`` and ``LayerNormalization``
    (epsilon :data:`_LN_EPS`, Keras' default), with the weights copied in. The model
    maps
    integer tokens ``(batch, seq_len)`` to logits ``(batch, seq_len, vocab)``;
    DeepNorm's
    :math:`\\alpha` is a ``Rescaling`` layer on the skip path.
    """
    import keras

    check_choice(scheme, "scheme", SCHEMES)
    p = {k: np.asarray(v, np.float32) for k, v in params.items()}
    depth = sum(1 for k in p if k.endswith("_wq"))
    vocab, d = p["tok"].shape
    seq_len = p["pos"].shape[0]
    if d % num_heads:
        raise ValueError(f"num_heads: must divide d_model={d}, got {num_heads}")
    dk = d // num_heads
    alpha = modern.deepnorm_constants(depth)[0] if scheme == "deepnorm" else 1.0
    tokens = keras.Input((seq_len,), dtype="int32")
    tok = keras.layers.Embedding(vocab, d, name="tok")
    x = tok(tokens)
    pos = keras.layers.Embedding(seq_len, d, name="pos")
    positions = (
        keras.ops.cumsum(keras.ops.ones_like(tokens), axis=1) - 1
    )  # 0..seq_len-1, in the graph
    x = x + pos(positions)
    weights: list[tuple[Any, list[np.ndarray]]] = [(tok, [p["tok"]]), (pos, [p["pos"]])]

    def layer_norm(name: str, g: str, b: str) -> Any:
        ln = keras.layers.LayerNormalization(epsilon=_LN_EPS, name=name)
        if (
            scheme != "tfixup"
        ):  # T-Fixup has no layer norm: the layer is never called, never built
            weights.append((ln, [p[g], p[b]]))
        return ln

    for k in range(depth):
        mha = keras.layers.MultiHeadAttention(num_heads, dk, name=f"mha_{k}")
        ff1 = keras.layers.Dense(
            p[f"l{k}_w1"].shape[1], activation="relu", name=f"ffn1_{k}"
        )
        ff2 = keras.layers.Dense(d, name=f"ffn2_{k}")
        ln_a = layer_norm(f"ln_a_{k}", f"l{k}_ga", f"l{k}_ba")
        ln_f = layer_norm(f"ln_f_{k}", f"l{k}_gf", f"l{k}_bf")
        qkv = []
        for n in ("q", "k", "v"):
            qkv += [
                p[f"l{k}_w{n}"].reshape(d, num_heads, dk),
                p[f"l{k}_b{n}"].reshape(num_heads, dk),
            ]
        weights.append(
            (mha, qkv + [p[f"l{k}_wo"].reshape(num_heads, dk, d), p[f"l{k}_bo"]])
        )
        weights.append((ff1, [p[f"l{k}_w1"], p[f"l{k}_b1"]]))
        weights.append((ff2, [p[f"l{k}_w2"], p[f"l{k}_b2"]]))
        skip = keras.layers.Rescaling(alpha) if alpha != 1.0 else (lambda t: t)
        if scheme == "pre":
            h = ln_a(x)
            x = x + mha(h, h)
            x = x + ff2(ff1(ln_f(x)))
        elif scheme == "tfixup":
            x = x + mha(x, x)
            x = x + ff2(ff1(x))
        else:
            x = ln_a(skip(x) + mha(x, x))
            x = ln_f(skip(x) + ff2(ff1(x)))
    if scheme == "pre":
        x = layer_norm("ln_final", "gF", "bF")(x)
    readout = keras.layers.Dense(vocab, name="readout")
    logits = readout(x)
    weights.append((readout, [p["out"], p["out_b"]]))
    model = keras.Model(tokens, logits)
    for layer, values in weights:
        layer.set_weights(values)
    return model


def lstm_params(
    input_dim: int,
    units: int,
    *,
    forget_bias: str | float = 1.0,
    t_max: float | None = None,
    rng: RngLike = None,
) -> dict[str, np.ndarray]:
    """One LSTM and a linear readout, drawn as ``keras.layers.LSTM`` draws them.

    Keras layout, gates in the order input, forget, cell, output: ``kernel``
    ``(input_dim,
    4 units)`` Glorot uniform, ``recurrent`` ``(units, 4 units)`` orthogonal, ``bias``
    ``(4 units,)``
    zero except the forget slice: ``forget_bias`` (a number; 1 is
    ``unit_forget_bias=True``, 0 is
    ``unit_forget_bias=False``) or ``"chrono"``
    (:func:`initcourse.modern.chrono_forget_bias`
    with ``t_max``, which also sets the input-gate slice to minus the forget bias). The
    readout
    ``w`` ``(units, 1)`` is Glorot uniform, ``w_b`` zero.
    """
    input_dim, units = _check_int(input_dim, "input_dim"), _check_int(units, "units")
    g = as_rng(rng)
    kernel = _glorot_uniform(g, input_dim, 4 * units)
    a = g.standard_normal((4 * units, units))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    bias = np.zeros(4 * units, np.float32)
    if isinstance(forget_bias, str):
        check_choice(forget_bias, "forget_bias", ("chrono",))
        if t_max is None:
            raise ValueError(
                "t_max: chrono initialization needs t_max (the longest "
                "dependency), got None"
            )
        f, i = modern.chrono_forget_bias(units, t_max, rng=g)
        bias[units : 2 * units] = f
        bias[:units] = i
    else:
        if (
            isinstance(forget_bias, bool)
            or not isinstance(forget_bias, numbers.Real)
            or not math.isfinite(forget_bias)
        ):
            raise ValueError(
                "forget_bias: expected a finite number or 'chrono', "
                f"got {forget_bias!r}"
            )
        bias[units : 2 * units] = forget_bias
    return {
        "kernel": kernel,
        "recurrent": q.T.astype(np.float32),
        "bias": bias,
        "w": _glorot_uniform(g, units, 1),
        "w_b": np.zeros(1, np.float32),
    }


def lstm_predict(params: Mapping[str, Any], x: Any) -> tf.Tensor:
    """Outputs ``(M, batch, 1)`` of ``M`` stacked LSTMs.

    ``x`` has shape ``(M, batch, time, input_dim)``.

    The recurrence of ``keras.layers.LSTM`` (sigmoid gates, tanh cell, zero initial
    state):
    :math:`z_t = x_t K + h_{t-1} R + b = (z^i, z^f, z^c, z^o)`,
    :math:`c_t = \\sigma(z^f) c_{t-1} + \\sigma(z^i) \\tanh(z^c)`,
    :math:`h_t = \\sigma(z^o) \\tanh(c_t)`; the prediction is :math:`h_T w + w_b`.
    """
    p = params
    x = tf.convert_to_tensor(x, tf.float32)
    m, batch, steps = x.shape[0], x.shape[1], x.shape[2]
    units = p["recurrent"].shape[1]
    xk = tf.einsum("mbti,mig->mbtg", x, p["kernel"]) + p["bias"][:, None, None, :]
    h = tf.zeros((m, batch, units))
    c = tf.zeros((m, batch, units))
    for t in range(steps):
        z = xk[:, :, t] + tf.einsum("mbu,mug->mbg", h, p["recurrent"])
        zi, zf, zc, zo = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zc)
        h = tf.sigmoid(zo) * tf.tanh(c)
    return tf.einsum("mbu,muo->mbo", h, p["w"]) + p["w_b"][:, None, :]


def train_stacked(
    params: Mapping[str, np.ndarray],
    loss_fn: Callable[[Mapping[str, tf.Variable], Any], tuple[tf.Tensor, tf.Tensor]],
    batches: Sequence[Any],
    learning_rates: np.ndarray | Mapping[str, np.ndarray],
    *,
    beta1: float = 0.9,
    beta2: float = 0.98,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Adam on stacked models, all in one graph; returns per-step losses and metrics.

    ``params`` maps names to arrays whose leading axis indexes the models.
    ``loss_fn(variables,
    batch)`` returns ``(loss, metric)``, each a vector with one entry per model: model
    ``i``'s
    loss depends only on slice ``i`` of its variables, so the gradient of ``sum(loss)``
    gives
    every model its own gradient. ``learning_rates`` is an array ``(steps, M)`` when all
    variables stack the same ``M`` models, or a mapping ``{group: (steps, M_group)}``
    when the
    names are ``"group/name"`` and the groups stack different numbers of models (e.g.
    one group
    per architecture). The update is Adam (Kingma & Ba 2015) with bias correction:
    :math:`m \\leftarrow \\beta_1 m + (1-\\beta_1) g`, :math:`v \\leftarrow \\beta_2 v +
    (1-\\beta_2) g^2`,
    :math:`w \\leftarrow w - \\eta_t\\, \\hat m / (\\sqrt{\\hat v} + \\epsilon)`, with
    :math:`\\eta_t` the model's own rate at step :math:`t`. A model whose loss becomes
    NaN keeps
    training (its numbers stay non-finite); the caller decides what that means.

    Returns ``(losses, metrics, final_params)`` with ``losses`` and ``metrics`` of shape
    ``(steps, total number of models)``, in the order ``loss_fn`` returns them.
    """
    names = list(params)
    if not names:
        raise ValueError("params: no weights to train")
    steps = len(batches)
    rates: dict[str | None, np.ndarray]
    group_of: dict[str, str | None]
    if isinstance(learning_rates, Mapping):
        rates = {k: np.asarray(v, dtype=np.float32) for k, v in learning_rates.items()}
        group_of = {}
        for name in names:
            group = name.split("/", 1)[0] if "/" in name else None
            if group not in rates:
                raise ValueError(
                    f"learning_rates: no schedule for weight {name!r}; names must be "
                    f"'group/name' with group in {sorted(map(str, rates))}"
                )
            group_of[name] = group
    else:
        rates = {None: np.asarray(learning_rates, dtype=np.float32)}
        group_of = {name: None for name in names}
    for group, r in rates.items():
        m_models = {params[n].shape[0] for n in names if group_of[n] == group}
        if len(m_models) > 1:
            where = (
                "the weights" if group is None else f"the weights of group {group!r}"
            )
            raise ValueError(
                f"params: {where} stack different numbers of models "
                f"{sorted(m_models)}; "
                "name them 'group/name' and pass learning_rates as {group: schedule}"
            )
        want = (steps, m_models.pop()) if m_models else (steps,)
        if r.shape[: len(want)] != want or r.ndim != 2:
            raise ValueError(
                f"learning_rates: group {group!r} needs shape (steps, M) = {want}, "
                f"got {r.shape}"
            )
    # One flat (M, P) variable per group: Adam then costs a handful of ops per group,
    # not per weight.
    group_names = list(rates)
    layout: dict[Any, list[tuple[str, tuple[int, ...], int, int]]] = {
        g: [] for g in group_names
    }
    flats = []
    for gname in group_names:
        offset, pieces = 0, []
        for name in names:
            if group_of[name] != gname:
                continue
            arr = np.asarray(params[name], dtype=np.float32)
            size = int(np.prod(arr.shape[1:], dtype=np.int64))
            layout[gname].append((name, arr.shape[1:], offset, offset + size))
            pieces.append(arr.reshape(arr.shape[0], size))
            offset += size
        flats.append(tf.Variable(np.concatenate(pieces, axis=1)))
    mom = [tf.Variable(tf.zeros_like(v)) for v in flats]
    sq = [tf.Variable(tf.zeros_like(v)) for v in flats]

    def views() -> dict[str, tf.Tensor]:
        out = {}
        for gname, flat in zip(group_names, flats):
            m = flat.shape[0]
            for name, shape, a, b in layout[gname]:
                out[name] = tf.reshape(flat[:, a:b], (m, *shape))
        return out

    @tf.function(
        autograph=False
    )  # the loss is plain TF (Python loops unroll): no AutoGraph
    def step(
        batch: Any, t: tf.Tensor, lr: list[tf.Tensor]
    ) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            loss, metric = loss_fn(views(), batch)
            total = tf.reduce_sum(loss)
        grads = tape.gradient(total, flats)
        for v, g, a, b, rate in zip(flats, grads, mom, sq, lr):
            if g is None:  # a group the loss does not use
                continue
            a.assign(beta1 * a + (1 - beta1) * g)
            b.assign(beta2 * b + (1 - beta2) * g * g)
            a_hat = a / (1 - beta1**t)
            b_hat = b / (1 - beta2**t)
            v.assign_sub(rate[:, None] * a_hat / (tf.sqrt(b_hat) + epsilon))
        return loss, metric

    losses, metrics = [], []
    for i, batch in enumerate(batches):
        lr_i = [tf.constant(rates[gname][i]) for gname in group_names]
        loss, metric = step(batch, tf.constant(float(i + 1)), lr_i)
        losses.append(loss.numpy())
        metrics.append(metric.numpy())
    final = {k: v.numpy() for k, v in views().items()}
    return np.array(losses), np.array(metrics), final
