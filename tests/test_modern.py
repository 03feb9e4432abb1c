"""Tests of initcourse.modern (numpy) and initcourse.modern_tf (TensorFlow twins).

The constants are checked against the papers' formulas written out independently; the
numpy models against finite differences; the stacked TensorFlow models against the Keras
layers they reimplement and against training each model alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from initcourse import modern

# ------------------------------------------------------------------ constants


def test_depth_constants_match_the_papers() -> None:
    assert modern.gpt2_residual_scale(24) == pytest.approx(1 / math.sqrt(24))
    assert modern.fixup_scale(16) == pytest.approx(16**-0.5)  # m = 2: L^(-1/2)
    assert modern.fixup_scale(16, layers_per_branch=3) == pytest.approx(16**-0.25)
    branch, embed = modern.t_fixup_scales(6)
    assert branch == pytest.approx(0.67 * 6**-0.25)
    assert embed == pytest.approx(54**-0.25)
    alpha, beta = modern.deepnorm_constants(6)
    assert alpha == pytest.approx(12**0.25) and beta == pytest.approx(48**-0.25)
    # the DeepNet paper's 1000-layer example would use alpha = 2000^(1/4) ~ 6.69
    assert modern.deepnorm_constants(1000)[0] == pytest.approx(6.687, abs=1e-3)
    assert modern.ds_init_variance_scale(4) == pytest.approx(0.5)
    assert modern.small_init_std(1000) == pytest.approx(0.02)
    assert modern.small_init_std(768) == pytest.approx(math.sqrt(2 / (5 * 768)))
    assert modern.wang_init_std(24, 1024) == pytest.approx(2 / 24 / 32)


@pytest.mark.parametrize(
    "call",
    [
        lambda: modern.gpt2_residual_scale(0),
        lambda: modern.fixup_scale(8, layers_per_branch=1),
        lambda: modern.deepnorm_constants(6, architecture="encoder-decoder"),
        lambda: modern.ds_init_variance_scale(0),
        lambda: modern.small_init_std(-3),
        lambda: modern.branch_multipliers("rezero-ish", 4),
    ],
)
def test_bad_arguments_name_the_parameter(call) -> None:
    with pytest.raises(ValueError) as err:
        call()
    assert ":" in str(err.value) and "got" in str(err.value)


def test_integer_arguments_reject_floats_and_bools() -> None:
    with pytest.raises(TypeError, match="n_layers"):
        modern.deepnorm_constants(6.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n_blocks"):
        modern.fixup_scale(True)  # type: ignore[arg-type]


# ------------------------------------------------------------------ residual streams


def _predicted(scheme: str, blocks: int) -> np.ndarray:
    first, last, gate = modern.branch_multipliers(scheme, blocks)
    return np.cumprod(1 + (first * last * gate) ** 2)


@pytest.mark.parametrize("scheme", ["gpt2", "t-fixup", "ds-init"])
def test_stream_variance_follows_the_product_formula(scheme: str) -> None:
    blocks = 24
    v = modern.residual_stream_variances(
        scheme, blocks, width=256, batch=128, seeds=4, rng=3
    )
    rel = np.median(v[:, 1:] / v[:, :1], axis=0)
    assert np.allclose(rel, _predicted(scheme, blocks), rtol=0.15)


@pytest.mark.parametrize("scheme", ["skipinit", "fixup", "zero-branch"])
def test_zero_branches_leave_the_stream_unchanged(scheme: str) -> None:
    v = modern.residual_stream_variances(scheme, 8, width=32, batch=16, seeds=2, rng=0)
    assert np.allclose(v, v[:, :1])


def test_standard_branches_double_the_variance() -> None:
    v = modern.residual_stream_variances(
        "standard", 6, width=512, batch=256, seeds=3, rng=1
    )
    per_block = np.exp(np.mean(np.diff(np.log(v), axis=1)))
    assert 1.8 < per_block < 2.1


def test_gpt2_limit_is_e() -> None:
    assert _predicted("gpt2", 4096)[-1] == pytest.approx(math.e, rel=1e-3)


# ------------------------------------------------------------------ µP rules


def test_mup_table_has_sgd_and_adam_columns() -> None:
    assert set(modern.MUP_TABLE) == {"input", "hidden", "output"}
    for row in modern.MUP_TABLE.values():
        assert set(row) == {"init_var", "sgd_lr", "adam_lr"}
    assert modern.MUP_TABLE["output"]["init_var"] == "1/fan_in^2"


def test_mup_rules_scale_with_the_width_multiplier() -> None:
    n, base = 1024, 64
    m = n / base
    assert modern.mup_rules("input", 10, n, optimizer="sgd", base_fan_out=base) == (
        0.1,
        m,
    )
    assert modern.mup_rules("input", 10, n, optimizer="adam", base_fan_out=base) == (
        0.1,
        1.0,
    )
    assert modern.mup_rules("hidden", n, n, optimizer="sgd", base_fan_in=base)[1] == 1.0
    assert (
        modern.mup_rules("hidden", n, n, optimizer="adam", base_fan_in=base)[1] == 1 / m
    )
    var, lr = modern.mup_rules("output", n, 10, optimizer="sgd", base_fan_in=base)
    assert var == pytest.approx(base / n**2) and lr == pytest.approx(1 / m)
    assert (
        modern.mup_rules("output", n, 10, base_fan_in=base, zero_readout=True)[0] == 0
    )
    # at the base width muP and SP coincide
    for kind, shape in (
        ("input", (10, base)),
        ("hidden", (base, base)),
        ("output", (base, 10)),
    ):
        bases = {"base_fan_in": shape[0], "base_fan_out": shape[1]}
        assert modern.mup_rules(kind, *shape, **bases) == modern.mup_rules(
            kind, *shape, parametrization="sp"
        )


def test_mup_rules_reject_unknown_choices() -> None:
    with pytest.raises(ValueError, match="kind"):
        modern.mup_rules("embedding", 4, 4)
    with pytest.raises(ValueError, match="optimizer"):
        modern.mup_rules("hidden", 4, 4, optimizer="lion")


def test_mup_readout_logits_vanish_like_one_over_sqrt_width() -> None:
    x = np.random.default_rng(0).standard_normal((1, 64, 16)).astype(np.float32)
    stds = {}
    for n in (64, 1024):
        w = modern.mup_mlp_init(
            n, "mup", d_in=16, d_out=10, n_models=8, base_width=64, rng=n
        )
        stds[n] = np.median(modern.mlp_logits(w, np.repeat(x, 8, 0)).std(axis=(1, 2)))
    assert stds[1024] / stds[64] == pytest.approx(0.25, rel=0.3)


def _mlp_loss(w: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    z = modern.mlp_logits([k.astype(np.float64) for k in w], x[None])[0]
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def test_mlp_sgd_step_is_the_gradient_step() -> None:
    """One full-batch SGD step moves each weight by -lr * (finite-difference grad)."""
    g = np.random.default_rng(5)
    x = g.standard_normal((12, 6)).astype(np.float32)
    y = g.integers(0, 3, 12)
    w = modern.mup_mlp_init(5, "sp", d_in=6, d_out=3, n_models=1, base_width=5, rng=6)
    w64 = [k[0].astype(np.float64) for k in w]
    lr = 1.0  # an SGD step is exactly -lr * grad; a large lr resolves it in float32
    # the trainer draws its batch with rng.integers(0, n, (M, B)): reproduce that batch
    idx = np.random.default_rng(7).integers(0, len(x), size=(1, len(x)))[0]
    _, after = modern.mlp_train(
        w, np.full((1, 3), lr), x, y, steps=1, batch_size=len(x), optimizer="sgd", rng=7
    )
    eps = 1e-6
    for layer, (i, j) in ((0, (1, 2)), (1, (3, 4)), (2, (2, 1))):
        plus = [k.copy() for k in w64]
        minus = [k.copy() for k in w64]
        plus[layer][i, j] += eps
        minus[layer][i, j] -= eps
        grad = (_mlp_loss(plus, x[idx], y[idx]) - _mlp_loss(minus, x[idx], y[idx])) / (
            2 * eps
        )
        step = (w64[layer][i, j] - after[layer][0, i, j]) / lr
        assert step == pytest.approx(grad, rel=1e-3, abs=1e-6)
        assert abs(grad) > 1e-4  # a coordinate that is really tested


def test_mlp_train_rejects_a_wrong_rate_shape() -> None:
    w = modern.mup_mlp_init(4, "sp", d_in=3, d_out=2, n_models=2, base_width=4, rng=0)
    with pytest.raises(ValueError, match="learning_rates"):
        modern.mlp_train(
            w,
            np.ones((2, 2)),
            np.zeros((5, 3)),
            np.zeros(5, int),
            steps=1,
            batch_size=2,
        )


# ------------------------------------------------------------------ residual MLP


def _residual_loss(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    _, z = modern.residual_mlp_forward(p, x[None])
    z = z[0] - z[0].max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def test_residual_mlp_sgd_matches_finite_differences() -> None:
    g = np.random.default_rng(1)
    x = g.standard_normal((10, 4))
    y = g.integers(0, 3, 10)
    p = modern.residual_mlp_init(["skipinit"], 3, 5, 4, 3, rng=2)
    p["gate"][:] = 0.7  # a nonzero, trained gate
    lr = 1e-3
    idx = np.random.default_rng(9).integers(0, len(x), size=(1, len(x)))[0]
    _, after = modern.residual_mlp_train(
        p, x, y, steps=1, batch_size=len(x), learning_rate=lr, rng=9
    )
    eps = 1e-6
    for key, index in (
        ("w_in", (0, 1, 2)),
        ("w1", (1, 0, 2, 3)),
        ("w2", (2, 0, 4, 1)),
        ("gate", (1, 0)),
        ("w_out", (0, 3, 2)),
    ):
        plus = {k: v.copy() for k, v in p.items()}
        minus = {k: v.copy() for k, v in p.items()}
        plus[key][index] += eps
        minus[key][index] -= eps
        grad = (
            _residual_loss(plus, x[idx], y[idx]) - _residual_loss(minus, x[idx], y[idx])
        ) / (2 * eps)
        step = (p[key][index] - after[key][index]) / lr
        assert step == pytest.approx(grad, rel=1e-4, abs=1e-8), key


def test_residual_mlp_gates_are_trained_only_for_skipinit() -> None:
    g = np.random.default_rng(0)
    x, y = g.standard_normal((8, 4)), g.integers(0, 2, 8)
    p = modern.residual_mlp_init(["standard", "skipinit"], 2, 3, 4, 2, rng=1)
    _, after = modern.residual_mlp_train(
        p, x, y, steps=3, batch_size=4, learning_rate=0.1, rng=2
    )
    assert np.array_equal(after["gate"][:, 0], p["gate"][:, 0])
    assert not np.array_equal(after["gate"][:, 1], p["gate"][:, 1])


def test_fixup_starts_with_a_zero_classifier_and_zero_last_kernels() -> None:
    p = modern.residual_mlp_init(["fixup", "standard"], 4, 8, 3, 2, rng=0)
    assert not p["w_out"][0].any() and p["w_out"][1].any()
    assert not p["w2"][:, 0].any()
    assert np.std(p["w1"][:, 0]) == pytest.approx(math.sqrt(2 / 8) / 2, rel=0.3)


# ------------------------------------------------------------------ batch norm


def test_bn_gradients_match_autodiff() -> None:
    tf = pytest.importorskip("tensorflow")
    depth, width, batch = 3, 6, 5
    norms = modern.bn_gradient_norms(
        depth, width, batch, activation="tanh", seeds=1, rng=4
    )
    # replay the same draws: inputs, one kernel per layer, then the loss direction
    g = np.random.default_rng(4)
    x = tf.constant(g.standard_normal((1, batch, width))[0])
    ws = [
        tf.constant(g.standard_normal((1, width, width))[0] * math.sqrt(2 / width))
        for _ in range(depth)
    ]
    r = tf.constant(g.standard_normal((1, 1, width))[0])
    hs = []
    with tf.GradientTape() as tape:
        h = x
        for w in ws:
            z = h @ w
            mu, var = tf.nn.moments(z, axes=[0], keepdims=True)
            pre = (z - mu) / tf.sqrt(var + 1e-5)
            tape.watch(pre)
            hs.append(pre)
            h = tf.tanh(pre)
        loss = tf.reduce_sum(h * r)
    grads = tape.gradient(loss, hs)
    want = [float(tf.norm(gh)) for gh in grads]
    assert np.allclose(norms[0], want, rtol=1e-6)


def test_bn_explosion_does_not_depend_on_the_weight_scale() -> None:
    a = modern.bn_gradient_norms(12, 32, 32, weight_std=0.1, seeds=2, rng=0)
    b = modern.bn_gradient_norms(12, 32, 32, weight_std=1.0, seeds=2, rng=0)
    assert np.allclose(
        a, b, rtol=3e-3
    )  # same draws rescaled: BN removes the scale (up to eps)
    assert np.all(a[:, 0] > a[:, -1])


# ------------------------------------------------------------------ outputs, gates


def test_prior_bias_reproduces_the_frequencies() -> None:
    p = np.array([0.7, 0.2, 0.1])
    b = modern.prior_bias(p)
    assert np.allclose(np.exp(b) / np.exp(b).sum(), p)
    (b1,) = modern.prior_bias([0.01], kind="sigmoid")
    assert 1 / (1 + math.exp(-b1)) == pytest.approx(0.01)
    assert b1 == pytest.approx(-math.log(99))  # RetinaNet's -log((1 - pi) / pi)


@pytest.mark.parametrize(
    "bad", [[0.5, 0.6], [0.0, 1.0], [], [[0.5, 0.5]], [float("nan"), 1.0]]
)
def test_prior_bias_rejects_bad_frequencies(bad) -> None:
    with pytest.raises(ValueError, match="frequencies"):
        modern.prior_bias(bad)


def test_chrono_bias_is_log_uniform_and_reproducible() -> None:
    f, i = modern.chrono_forget_bias(20000, 50, rng=0)
    assert np.array_equal(i, -f)
    assert f.min() >= 0 and f.max() <= math.log(49)
    u = np.exp(f)
    assert u.mean() == pytest.approx(25.0, rel=0.02)  # U[1, 49] has mean 25
    assert np.array_equal(
        modern.chrono_forget_bias(5, 10, rng=3)[0],
        modern.chrono_forget_bias(5, 10, rng=3)[0],
    )
    with pytest.raises(ValueError, match="t_max"):
        modern.chrono_forget_bias(4, 2.0)


def test_layer_norm_is_scale_free_up_to_epsilon() -> None:
    x = np.random.default_rng(0).standard_normal((4, 64))
    assert np.allclose(
        modern.layer_norm(0.02 * x, eps=1e-12), modern.layer_norm(x, eps=1e-12)
    )
    assert modern.layer_norm(0.02 * x, eps=1e-3).std() < 0.6


# ------------------------------------------------------------------ TensorFlow twins


@pytest.fixture(scope="module")
def tfmods():
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    from initcourse import modern_tf

    return tf, keras, modern_tf


@pytest.mark.parametrize("scheme", ["post", "pre", "deepnorm", "tfixup"])
def test_stacked_encoder_equals_keras_layers(tfmods, scheme: str) -> None:
    tf, _, mt = tfmods
    p = mt.encoder_params(2, 16, 24, 7, 5, scheme=scheme, rng=1)
    g = np.random.default_rng(2)
    # perturb the zero biases and unit gains so that they are tested too
    for k in p:
        if k.startswith("l") and ("_b" in k or "_g" in k) or k in ("gF", "bF", "out_b"):
            p[k] = p[k] + 0.1 * g.standard_normal(p[k].shape).astype(np.float32)
    tokens = g.integers(0, 7, (3, 5))
    keras_out = mt.keras_encoder(p, num_heads=4, scheme=scheme)(tokens).numpy()
    twin = mt.encoder_logits(
        mt.stack_params([p]), tokens[None], schemes=[scheme], num_heads=4
    )
    assert np.allclose(keras_out, twin.numpy()[0], atol=1e-5)


def test_encoder_schemes_rescale_the_right_kernels(tfmods) -> None:
    _, _, mt = tfmods
    base = mt.encoder_params(6, 16, 32, 5, 4, scheme="post", rng=0)
    deep = mt.encoder_params(6, 16, 32, 5, 4, scheme="deepnorm", rng=0)
    beta = modern.deepnorm_constants(6)[1]
    for name in ("wv", "wo", "w1", "w2"):
        assert np.allclose(deep[f"l3_{name}"], beta * base[f"l3_{name}"])
    for name in ("wq", "wk"):
        assert np.array_equal(deep[f"l3_{name}"], base[f"l3_{name}"])
    tfix = mt.encoder_params(6, 16, 32, 5, 4, scheme="tfixup", rng=0)
    assert np.allclose(tfix["tok"], modern.t_fixup_scales(6)[1] * base["tok"])
    # Xavier over the 2-D fans: std sqrt(2 / (16 + 16))
    assert np.std(base["l0_wq"]) == pytest.approx(math.sqrt(2 / 32), rel=0.15)
    with pytest.raises(ValueError, match="scheme"):
        mt.encoder_params(2, 8, 8, 3, 3, scheme="admin")


def test_keras_mha_default_uses_the_2d_fans(tfmods) -> None:
    """What chapter 9 states about MultiHeadAttention's default initializer."""
    _, keras, _ = tfmods
    mha = keras.layers.MultiHeadAttention(num_heads=8, key_dim=64, seed=0)
    x = np.zeros((1, 2, 512), dtype="float32")
    mha(x, x)
    assert np.std(mha.query_dense.kernel.numpy()) == pytest.approx(
        math.sqrt(1 / 512), rel=0.02
    )


def test_stacked_lstm_equals_keras_lstm(tfmods) -> None:
    _, keras, mt = tfmods
    for forget in (0.0, 1.0, "chrono"):
        p = mt.lstm_params(3, 5, forget_bias=forget, t_max=12, rng=4)
        layer, dense = keras.layers.LSTM(5), keras.layers.Dense(1)
        x = np.random.default_rng(3).standard_normal((4, 7, 3)).astype(np.float32)
        dense(layer(x))
        layer.set_weights([p["kernel"], p["recurrent"], p["bias"]])
        dense.set_weights([p["w"], p["w_b"]])
        twin = mt.lstm_predict(mt.stack_params([p]), x[None]).numpy()[0]
        assert np.allclose(dense(layer(x)).numpy(), twin, atol=1e-6)
    assert np.all(mt.lstm_params(2, 4, forget_bias=1.0, rng=0)["bias"][4:8] == 1)
    with pytest.raises(ValueError, match="t_max"):
        mt.lstm_params(2, 4, forget_bias="chrono")
    with pytest.raises(ValueError, match="forget_bias"):
        mt.lstm_params(2, 4, forget_bias="positive")


def test_training_stacked_equals_training_each_model_alone(tfmods) -> None:
    tf, _, mt = tfmods
    models = [
        mt.encoder_params(2, 8, 16, 5, 4, scheme=s, rng=i)
        for i, s in enumerate(["post", "pre"])
    ]
    g = np.random.default_rng(0)
    x = g.integers(0, 5, (6, 2, 8, 4))  # steps, models, batch, seq
    y = np.sort(x, -1)
    lrs = np.array([[0.01, 0.003]] * 6, dtype=np.float32)

    def loss_for(schemes):
        def loss_fn(p, batch):
            tok, tgt = batch
            logits = mt.encoder_logits(p, tok, schemes=schemes, num_heads=2)
            ce = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(tgt, logits), axis=[1, 2]
            )
            return ce, ce

        return loss_fn

    together, _, _ = mt.train_stacked(
        mt.stack_params(models),
        loss_for(["post", "pre"]),
        [(tf.constant(a), tf.constant(b)) for a, b in zip(x, y)],
        lrs,
    )
    for i, scheme in enumerate(["post", "pre"]):
        alone, _, _ = mt.train_stacked(
            mt.stack_params([models[i]]),
            loss_for([scheme]),
            [
                (tf.constant(a[i : i + 1]), tf.constant(b[i : i + 1]))
                for a, b in zip(x, y)
            ],
            lrs[:, i : i + 1],
        )
        assert np.allclose(together[:, i], alone[:, 0], rtol=1e-4, atol=1e-6)


def test_train_stacked_checks_the_schedules(tfmods) -> None:
    tf, _, mt = tfmods
    params = {"a/w": np.zeros((2, 3), np.float32), "b/w": np.zeros((3, 3), np.float32)}

    def loss_fn(p, batch):
        return tf.concat(
            [tf.reduce_sum(p["a/w"], 1), tf.reduce_sum(p["b/w"], 1)], 0
        ), 0.0

    with pytest.raises(ValueError, match="params: the weights stack different numbers"):
        mt.train_stacked(params, loss_fn, [0, 1], np.zeros((2, 5)))
    with pytest.raises(ValueError, match="learning_rates"):
        mt.train_stacked(params, loss_fn, [0, 1], {"a": np.zeros((2, 2))})
    losses, _, final = mt.train_stacked(
        params, loss_fn, [0, 1], {"a": np.full((2, 2), 0.1), "b": np.zeros((2, 3))}
    )
    assert losses.shape == (2, 5)
    assert np.allclose(final["a/w"], -0.2) and np.allclose(final["b/w"], 0.0)
