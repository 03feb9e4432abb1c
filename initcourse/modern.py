"""Initialization rules of modern architectures, as small tested functions (numpy only).

Each function states its formula and its source. The chapters on modern architectures
use
them; the tests check each against the paper's numbers or an independent computation.

Residual depth scaling
    :func:`gpt2_residual_scale`, :func:`fixup_scale`, :func:`t_fixup_scales`,
    :func:`ds_init_variance_scale`, :func:`deepnorm_constants`,
    :func:`branch_multipliers`.
Transformer scales
    :func:`small_init_std`, :func:`wang_init_std`.
Width (µP)
    :data:`MUP_TABLE`, :func:`mup_rules`.
Outputs and gates
    :func:`prior_bias`, :func:`chrono_forget_bias`.
Small numpy models, many seeds at once
    :func:`layer_norm`, :func:`residual_stream_variances`, :func:`bn_gradient_norms`,
    :func:`residual_mlp_init` / :func:`residual_mlp_forward` /
    :func:`residual_mlp_train`,
    :func:`mup_mlp_init` / :func:`mup_mlp_lr_multipliers` / :func:`mlp_logits` /
    :func:`mlp_train`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from initcourse._utils import RngLike, as_rng, check_choice, check_positive

__all__ = [
    "MUP_TABLE",
    "RESIDUAL_SCHEMES",
    "bn_gradient_norms",
    "branch_multipliers",
    "chrono_forget_bias",
    "deepnorm_constants",
    "ds_init_variance_scale",
    "fixup_scale",
    "gpt2_residual_scale",
    "layer_norm",
    "mlp_logits",
    "mlp_train",
    "mup_mlp_init",
    "mup_mlp_lr_multipliers",
    "mup_rules",
    "prior_bias",
    "residual_mlp_forward",
    "residual_mlp_init",
    "residual_mlp_train",
    "residual_stream_variances",
    "small_init_std",
    "t_fixup_scales",
    "wang_init_std",
]


def _check_count(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}: expected an int >= {minimum}, "
            f"got {type(value).__name__} {value!r}"
        )
    if int(value) < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- residual
# depth


def gpt2_residual_scale(n_residual_layers: int) -> float:
    """GPT-2's factor :math:`1/\\sqrt N` for weights that write into the stream.

    Radford et al. (2019) "scale the weights of residual layers at initialization by a
    factor of
    :math:`1/\\sqrt N` where :math:`N` is the number of residual layers". The paper does
    not say
    how :math:`N` is counted; Megatron-LM and Hugging Face's ``GPT2PreTrainedModel`` use
    :math:`N = 2\\,n_\\text{layers}` (an attention and an MLP sub-block per layer), i.e.
    a
    standard deviation :math:`0.02/\\sqrt{2 n_\\text{layers}}`.
    """
    n = _check_count(n_residual_layers, "n_residual_layers")
    return 1.0 / math.sqrt(n)


def fixup_scale(n_blocks: int, layers_per_branch: int = 2) -> float:
    """Fixup's factor :math:`L^{-1/(2m-2)}` for the inner (He) layers of each branch.

    Zhang, Dauphin & Ma (2019): with :math:`L` residual branches of :math:`m` layers
    each, scale
    the first :math:`m-1` layers of every branch by :math:`L^{-1/(2m-2)}` and set the
    last one
    to zero (and the classifier too). For :math:`m = 2` the factor is :math:`L^{-1/2}`.
    """
    n = _check_count(n_blocks, "n_blocks")
    m = _check_count(layers_per_branch, "layers_per_branch", minimum=2)
    return float(n ** (-1.0 / (2 * m - 2)))


def t_fixup_scales(n_layers: int) -> tuple[float, float]:
    """T-Fixup's encoder factors ``(branch, embedding)``.

    :math:`(0.67\\,N^{-1/4},\\ (9N)^{-1/4})`.

    Huang, Pérez, Ba & Volkovs (2020), for a Transformer without layer normalization and
    without warm-up: Xavier-initialize every weight, draw the embeddings from
    :math:`\\mathcal N(0, d^{-1/2})`, scale the value and output projections of each
    encoder
    attention block and the weights of each encoder MLP block by :math:`0.67 N^{-1/4}`,
    and the
    embeddings by :math:`(9N)^{-1/4}` (:math:`N` = number of layers).
    """
    n = _check_count(n_layers, "n_layers")
    return 0.67 * n**-0.25, (9 * n) ** -0.25


def ds_init_variance_scale(layer: int) -> float:
    """DS-Init's factor :math:`l^{-1/2}` on the Glorot variance of layer ``l`` >= 1.

    Zhang, Titov & Sennrich (2019) shrink the initialization of deeper layers of a
    Post-LN
    Transformer. Their released code (``bzhangGo/zero``, ``deep_transformer_init``)
    passes
    ``scale = gain * l ** -0.5`` to ``tf.variance_scaling_initializer(mode="fan_avg",
    distribution="uniform")``, i.e. multiplies the Glorot *variance* by
    :math:`l^{-1/2}`.
    """
    return float(_check_count(layer, "layer") ** -0.5)


def deepnorm_constants(
    n_layers: int, architecture: str = "encoder"
) -> tuple[float, float]:
    """DeepNorm's :math:`(\\alpha, \\beta)` for an encoder-only or decoder-only model.

    Wang et al. (2022): each sub-layer computes :math:`x \\leftarrow
    \\mathrm{LN}(\\alpha x +
    G(x))` and the value, output and feed-forward weights are Xavier-initialized with
    gain
    :math:`\\beta`; with :math:`N` layers, :math:`\\alpha = (2N)^{1/4}` and
    :math:`\\beta = (8N)^{-1/4}` (the same in the authors' ``torchscale`` code).
    Encoder-decoder
    models use other constants, not implemented here.
    """
    n = _check_count(n_layers, "n_layers")
    check_choice(architecture, "architecture", ("encoder", "decoder"))
    return (2 * n) ** 0.25, (8 * n) ** -0.25


RESIDUAL_SCHEMES = (
    "standard",
    "gpt2",
    "skipinit",
    "fixup",
    "t-fixup",
    "ds-init",
    "zero-branch",
)
"""Residual-branch schemes of :func:`branch_multipliers` and friends."""


def branch_multipliers(
    scheme: str, n_blocks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-block factors ``(first, last, gate)`` of a residual MLP's branches.

    A branch computes :math:`g_l\\,\\phi(x W_1) W_2`.

    The branch kernels start as :math:`W_1 \\sim` He (variance :math:`2/n`) and
    :math:`W_2 \\sim`
    LeCun (variance :math:`1/n`), so that each branch, alone, preserves the variance of
    its
    input. Block :math:`l` (1-based) of :math:`L` then multiplies :math:`W_1` by
    ``first[l-1]``,
    :math:`W_2` by ``last[l-1]`` and the branch by the gate ``gate[l-1]``:

    * ``"standard"``: 1, 1, 1;
    * ``"gpt2"``: :math:`W_2 \\times L^{-1/2}` (:func:`gpt2_residual_scale` with
      :math:`N = L`);
    * ``"skipinit"``: gate 0 (SkipInit, De & Smith 2020; ReZero, Bachlechner et al.
      2020);
    * ``"fixup"``: :math:`W_1 \\times L^{-1/2}`, :math:`W_2 = 0` (:func:`fixup_scale`);
    * ``"t-fixup"``: both :math:`\\times 0.67 L^{-1/4}` (:func:`t_fixup_scales`);
    * ``"ds-init"``: both :math:`\\times l^{-1/4}` (variance :math:`\\times l^{-1/2}`,
      :func:`ds_init_variance_scale`);
    * ``"zero-branch"``: :math:`W_2 = 0`, no other scaling (zero-γ / zero last layer).
    """
    check_choice(scheme, "scheme", RESIDUAL_SCHEMES)
    n = _check_count(n_blocks, "n_blocks")
    ones = np.ones(n)
    layer = np.arange(1, n + 1)
    if scheme == "standard":
        return ones, ones.copy(), ones.copy()
    if scheme == "gpt2":
        return ones, ones * gpt2_residual_scale(n), ones.copy()
    if scheme == "skipinit":
        return ones, ones.copy(), np.zeros(n)
    if scheme == "fixup":
        return ones * fixup_scale(n), np.zeros(n), ones.copy()
    if scheme == "t-fixup":
        tf_scale = t_fixup_scales(n)[0]
        return ones * tf_scale, ones * tf_scale, ones.copy()
    if scheme == "ds-init":
        ds = np.sqrt([ds_init_variance_scale(int(i)) for i in layer])
        return ds, ds.copy(), ones.copy()
    return ones, np.zeros(n), ones.copy()  # zero-branch


def residual_stream_variances(
    scheme: str,
    n_blocks: int,
    *,
    width: int = 128,
    batch: int = 256,
    seeds: int = 5,
    rng: RngLike = None,
) -> np.ndarray:
    """Variance of the residual stream after each block of ``seeds`` ReLU residual MLPs.

    :math:`x_{l} = x_{l-1} + g_l\\,\\mathrm{relu}(x_{l-1} W_1^{(l)}) W_2^{(l)}` with the
    factors of
    :func:`branch_multipliers`, unit-variance Gaussian inputs, every network with its
    own
    weights (all drawn from ``rng``). Returns an array ``(seeds, n_blocks + 1)``; column
    0 is
    the input. Each branch adds :math:`c_l^2\\,\\mathrm{Var}(x_{l-1})` with
    :math:`c_l` = first × last × gate, so :math:`\\mathrm{Var}(x_L) \\approx \\prod_l (1
    + c_l^2)`.
    """
    first, last, gate = branch_multipliers(scheme, n_blocks)
    width = _check_count(width, "width")
    batch = _check_count(batch, "batch")
    seeds = _check_count(seeds, "seeds")
    g = as_rng(rng)
    x = g.standard_normal((seeds, batch, width))
    out = np.empty((seeds, n_blocks + 1))
    out[:, 0] = x.var(axis=(1, 2))
    for k in range(n_blocks):
        w1 = g.standard_normal((seeds, width, width)) * math.sqrt(2 / width) * first[k]
        w2 = g.standard_normal((seeds, width, width)) * math.sqrt(1 / width) * last[k]
        x = x + gate[k] * (np.maximum(x @ w1, 0) @ w2)
        out[:, k + 1] = x.var(axis=(1, 2))
    return out


# ---------------------------------------------------------------------------
# Transformer scales


def small_init_std(d_model: int) -> float:
    """SmallInit: :math:`\\sigma = \\sqrt{2/(5d)}` for a Transformer of width :math:`d`.

    GPT-NeoX's ``small_init`` (attributed there to Nguyen & Salazar 2019, "Transformers
    without
    Tears"). :math:`2/(5d)` is the Glorot variance :math:`2/(d + 4d)` of the :math:`d
    \\times 4d`
    feed-forward matrix, used for every weight. Unlike GPT's fixed 0.02 it shrinks with
    the
    width: equal to 0.02 at :math:`d = 1000`.
    """
    d = _check_count(d_model, "d_model")
    return math.sqrt(2.0 / (5.0 * d))


def wang_init_std(n_layers: int, d_model: int) -> float:
    """GPT-NeoX's ``wang_init`` (output kernels): :math:`\\sigma = 2/(L\\sqrt d)`."""
    n = _check_count(n_layers, "n_layers")
    d = _check_count(d_model, "d_model")
    return 2.0 / (n * math.sqrt(d))


# --------------------------------------------------------------------------- µP

MUP_TABLE: dict[str, dict[str, str]] = {
    "input": {"init_var": "1/fan_in", "sgd_lr": "fan_out", "adam_lr": "1"},
    "hidden": {"init_var": "1/fan_in", "sgd_lr": "1", "adam_lr": "1/fan_in"},
    "output": {"init_var": "1/fan_in^2", "sgd_lr": "1/fan_in", "adam_lr": "1/fan_in"},
}
"""Tensor Programs V, Table 3 (Yang et al. 2022): µP for SGD and Adam.

Up to width-independent constants.

"input" covers the input weights and all biases, "hidden" the width-to-width matrices,
"output"
the readout. The learning rates are multipliers of one global rate; only their
dependence on
``fan_in``/``fan_out`` matters, so any base width can be factored out (the ``mup``
package
divides by the width multiplier ``fan_in / base_fan_in``).
"""


def mup_rules(
    kind: str,
    fan_in: int,
    fan_out: int,
    *,
    parametrization: str = "mup",
    optimizer: str = "adam",
    base_fan_in: int = 1,
    base_fan_out: int = 1,
    zero_readout: bool = False,
) -> tuple[float, float]:
    """``(init_variance, lr_multiplier)`` of one weight matrix, SP or µP, SGD or Adam.

    ``parametrization="sp"``: variance :math:`1/\\text{fan\\_in}` (LeCun) and multiplier
    1 for
    every matrix. ``"mup"``: :data:`MUP_TABLE`, with the widths measured relative to a
    base
    model (``fan_in / base_fan_in``), so that at the base shape µP and SP coincide,
    except the
    readout variance, which is :math:`1/\\text{fan\\_in}^2` relative to the base
    (:math:`\\text{base\\_fan\\_in}/\\text{fan\\_in}^2`), or 0 with ``zero_readout``
    (the limit
    the ``mup`` package recommends).
    """
    check_choice(kind, "kind", tuple(MUP_TABLE))
    check_choice(parametrization, "parametrization", ("sp", "mup"))
    check_choice(optimizer, "optimizer", ("sgd", "adam"))
    fi, fo = _check_count(fan_in, "fan_in"), _check_count(fan_out, "fan_out")
    bfi, bfo = (
        _check_count(base_fan_in, "base_fan_in"),
        _check_count(base_fan_out, "base_fan_out"),
    )
    if parametrization == "sp":
        return 1.0 / fi, 1.0
    m_in, m_out = fi / bfi, fo / bfo
    if kind == "input":
        return 1.0 / fi, (m_out if optimizer == "sgd" else 1.0)
    if kind == "hidden":
        return 1.0 / fi, (1.0 if optimizer == "sgd" else 1.0 / m_in)
    variance = 0.0 if zero_readout else 1.0 / (fi * m_in)
    return variance, 1.0 / m_in


# --------------------------------------------------------------------------- outputs
# and gates


def prior_bias(frequencies: Sequence[float], *, kind: str = "softmax") -> np.ndarray:
    """Output bias that makes an untrained classifier predict the class frequencies.

    ``"softmax"``: :math:`b_k = \\log p_k` (any constant may be added), so that with a
    zero or
    small readout kernel the first predictions are the prior (Karpathy, "A Recipe for
    Training
    Neural Networks": "init well"). ``"sigmoid"``: :math:`b = \\log(\\pi / (1 - \\pi))`
    for each
    independent binary output, RetinaNet's :math:`b = -\\log((1-\\pi)/\\pi)` with
    :math:`\\pi = 0.01` (Lin et al. 2017).
    """
    check_choice(kind, "kind", ("softmax", "sigmoid"))
    p = np.asarray(frequencies, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(
            f"frequencies: expected a non-empty 1-D sequence, got shape {p.shape}"
        )
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError(
            f"frequencies: every frequency must be finite and > 0, got {p.tolist()}"
        )
    if kind == "softmax":
        if abs(p.sum() - 1) > 1e-6:
            raise ValueError(
                "frequencies: softmax class frequencies must sum to 1, "
                f"got sum {p.sum():.6g}"
            )
        return np.log(p)
    if np.any(p >= 1):
        raise ValueError(
            f"frequencies: sigmoid positive rates must be < 1, got {p.tolist()}"
        )
    return np.log(p / (1 - p))


def chrono_forget_bias(
    units: int, t_max: float, *, rng: RngLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Chrono initialization of an LSTM's gate biases: ``(forget, input)``.

    Tallec & Ollivier (2018): :math:`b_f \\sim \\log\\,\\mathcal U[1, T_\\text{max} -
    1]` and
    :math:`b_i = -b_f`, so that the forget gates' characteristic memory times
    :math:`1/(1 - \\sigma(b_f)) \\approx e^{b_f}` spread over :math:`[1, T_\\text{max}]`
    (:math:`T_\\text{max}` is the longest dependency expected). The constant forget bias
    1 of
    Gers, Schmidhuber & Cummins (2000) and Jozefowicz, Zaremba & Sutskever (2015)
    corresponds to
    memory times of about :math:`1 + e \\approx 3.7` steps.
    """
    units = _check_count(units, "units")
    t_max = check_positive(t_max, "t_max")
    if t_max <= 2:
        raise ValueError(
            f"t_max: must be > 2 (the uniform range is [1, t_max - 1]), got {t_max!r}"
        )
    forget = np.log(as_rng(rng).uniform(1.0, t_max - 1.0, size=units))
    return forget, -forget


# --------------------------------------------------------------------------- numpy
# models


def layer_norm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Normalize the last axis to mean 0 and variance 1 (no gain, no bias)."""
    x = np.asarray(x, dtype=float)
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)


def bn_gradient_norms(
    depth: int,
    width: int,
    batch: int,
    *,
    activation: str = "relu",
    weight_std: float | None = None,
    seeds: int = 5,
    rng: RngLike = None,
) -> np.ndarray:
    """Norm of the gradient w.r.t. each layer's pre-activations in a deep BN network.

    Plain (no residual) network :math:`h_l = \\mathrm{BN}(x_{l-1} W_l)`, :math:`x_l =
    \\phi(h_l)`,
    batch statistics over ``batch`` examples, no learnable BN parameters, Gaussian
    weights of
    standard deviation ``weight_std`` (default He's :math:`\\sqrt{2/n}`; BN makes the
    forward
    pass independent of it), unit Gaussian inputs. The loss is :math:`\\langle x_L, r
    \\rangle`
    for a fixed random direction :math:`r`. Returns ``(seeds, depth)``: the Frobenius
    norm of
    :math:`\\partial \\mathcal L / \\partial h_l`, layer 1 first. Yang et al. (2019)
    show that
    in such networks the gradient grows exponentially towards the input at
    initialization,
    whatever the weight variance, and less so closer to the linear regime.
    """
    depth = _check_count(depth, "depth")
    width = _check_count(width, "width")
    batch = _check_count(batch, "batch", minimum=2)
    seeds = _check_count(seeds, "seeds")
    check_choice(activation, "activation", ("relu", "tanh", "linear"))
    std = (
        math.sqrt(2.0 / width)
        if weight_std is None
        else check_positive(weight_std, "weight_std")
    )
    g = as_rng(rng)
    eps = 1e-5
    x = g.standard_normal((seeds, batch, width))
    cache = []
    for _ in range(depth):
        w = g.standard_normal((seeds, width, width)) * std
        z = x @ w
        mu = z.mean(1, keepdims=True)
        sd = np.sqrt(z.var(1, keepdims=True) + eps)
        h = (z - mu) / sd
        cache.append((w, h, sd))
        x = (
            np.maximum(h, 0)
            if activation == "relu"
            else np.tanh(h)
            if activation == "tanh"
            else h
        )
    grad_x = g.standard_normal((seeds, 1, width)) * np.ones((1, batch, 1))
    norms = np.empty((seeds, depth))
    for k in range(depth - 1, -1, -1):
        w, h, sd = cache[k]
        if activation == "relu":
            grad_h = grad_x * (h > 0)
        elif activation == "tanh":
            grad_h = grad_x * (1 - np.tanh(h) ** 2)
        else:
            grad_h = grad_x
        norms[:, k] = np.sqrt(np.sum(grad_h**2, axis=(1, 2)))
        # backward through batch norm (batch statistics), then the matmul
        grad_z = (
            grad_h
            - grad_h.mean(1, keepdims=True)
            - h * (grad_h * h).mean(1, keepdims=True)
        ) / sd
        grad_x = grad_z @ np.swapaxes(w, 1, 2)
    return norms


# --------------------------------------------------------------------------- a residual
# MLP, many at once


def residual_mlp_init(
    schemes: Sequence[str],
    n_blocks: int,
    width: int,
    d_in: int,
    d_out: int,
    *,
    rng: RngLike = None,
) -> dict[str, np.ndarray]:
    """Weights of ``len(schemes)`` residual MLPs, stacked on a leading model axis.

    Input layer :math:`d_\\text{in} \\to n` (He normal), ``n_blocks`` branches
    :math:`g_l\\,\\mathrm{relu}(x W_1) W_2` initialized as in :func:`branch_multipliers`
    for each
    model's scheme, a readout :math:`n \\to d_\\text{out}` (LeCun normal; zero for
    ``"fixup"``,
    which also zeroes the classifier). Every model draws its own weights from ``rng``.
    Keys:
    ``w_in`` ``(M, d_in, n)``, ``w1``, ``w2`` ``(L, M, n, n)``, ``gate`` ``(L, M)``,
    ``gate_trained`` ``(M,)`` (1 where the scalar gate is a trained parameter:
    SkipInit/ReZero),
    ``w_out`` ``(M, n, d_out)``.
    """
    schemes = list(schemes)
    if not schemes:
        raise ValueError("schemes: need at least one scheme, got an empty sequence")
    for s in schemes:
        check_choice(s, "schemes", RESIDUAL_SCHEMES)
    n_blocks, width = _check_count(n_blocks, "n_blocks"), _check_count(width, "width")
    d_in, d_out = _check_count(d_in, "d_in"), _check_count(d_out, "d_out")
    g = as_rng(rng)
    m = len(schemes)
    factors = [branch_multipliers(s, n_blocks) for s in schemes]
    first = np.array([f[0] for f in factors]).T[:, :, None, None]  # (L, M, 1, 1)
    last = np.array([f[1] for f in factors]).T[:, :, None, None]
    gate = np.array([f[2] for f in factors]).T  # (L, M)
    w1 = g.standard_normal((n_blocks, m, width, width)) * math.sqrt(2 / width) * first
    w2 = g.standard_normal((n_blocks, m, width, width)) * math.sqrt(1 / width) * last
    w_out = g.standard_normal((m, width, d_out)) * math.sqrt(1 / width)
    w_out[[i for i, s in enumerate(schemes) if s == "fixup"]] = 0.0
    return {
        "w_in": g.standard_normal((m, d_in, width)) * math.sqrt(2 / d_in),
        "w1": w1,
        "w2": w2,
        "gate": gate,
        "gate_trained": np.array([s == "skipinit" for s in schemes], dtype=float),
        "w_out": w_out,
    }


def _softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy per model ``(M,)`` and its gradient w.r.t. the logits."""
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    batch = y.shape[-1]
    picked = np.take_along_axis(p, y[..., None], -1)[..., 0]
    loss = -np.log(np.maximum(picked, 1e-300)).mean(-1)
    grad = p.copy()
    np.put_along_axis(
        grad, y[..., None], np.take_along_axis(grad, y[..., None], -1) - 1, -1
    )
    return loss, grad / batch


def residual_mlp_forward(
    params: dict[str, np.ndarray], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Last hidden state ``(M, batch, n)`` and logits of stacked residual MLPs on ``x``.

    ``x`` has shape ``(M, batch, d_in)``.
    """
    h = np.asarray(x, dtype=np.float64) @ params["w_in"]
    for k in range(params["w1"].shape[0]):
        h = h + params["gate"][k][:, None, None] * (
            np.maximum(h @ params["w1"][k], 0) @ params["w2"][k]
        )
    return h, h @ params["w_out"]


def residual_mlp_train(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    rng: RngLike = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Train the stacked residual MLPs of :func:`residual_mlp_init` with plain SGD.

    Every model gets its own mini-batch order (from ``rng``), the same for every scheme
    when
    the models are laid out seed-major. Backpropagation is written out: with
    :math:`x_l = x_{l-1} + g_l\\,a_l W_2`, :math:`a_l = \\mathrm{relu}(x_{l-1} W_1)`,
    :math:`\\partial x_l / \\partial x_{l-1} = I + g_l\\,W_2^\\top \\mathrm{diag}(a_l >
    0) W_1^\\top`
    (in the row-vector convention). Non-finite values are allowed to appear (a diverging
    model
    ends with NaN or infinite losses) without warnings. Returns ``(losses (steps, M),
    params)``.
    """
    steps, batch_size = (
        _check_count(steps, "steps"),
        _check_count(batch_size, "batch_size"),
    )
    lr = check_positive(learning_rate, "learning_rate")
    p = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    m = p["w_in"].shape[0]
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    g = as_rng(rng)
    n_blocks = p["w1"].shape[0]
    losses = np.empty((steps, m))
    with np.errstate(all="ignore"):
        for t in range(steps):
            idx = g.integers(0, len(x), size=(m, batch_size))
            xb, yb = x[idx], y[idx]
            h = xb @ p["w_in"]
            cache = []
            for k in range(n_blocks):
                z = h @ p["w1"][k]
                a = np.maximum(z, 0)
                u = a @ p["w2"][k]
                cache.append((h, z, a, u))
                h = h + p["gate"][k][:, None, None] * u
            logits = h @ p["w_out"]
            losses[t], d_logits = _softmax_xent(logits, yb)
            grads = {"w_out": np.swapaxes(h, 1, 2) @ d_logits}
            dh = d_logits @ np.swapaxes(p["w_out"], 1, 2)
            gw1, gw2, ggate = (
                np.empty_like(p["w1"]),
                np.empty_like(p["w2"]),
                np.empty_like(p["gate"]),
            )
            for k in range(n_blocks - 1, -1, -1):
                h_prev, z, a, u = cache[k]
                ggate[k] = np.sum(dh * u, axis=(1, 2))
                du = p["gate"][k][:, None, None] * dh
                gw2[k] = np.swapaxes(a, 1, 2) @ du
                dz = (du @ np.swapaxes(p["w2"][k], 1, 2)) * (z > 0)
                gw1[k] = np.swapaxes(h_prev, 1, 2) @ dz
                dh = dh + dz @ np.swapaxes(p["w1"][k], 1, 2)
            grads.update(
                w1=gw1,
                w2=gw2,
                gate=ggate * p["gate_trained"],
                w_in=np.swapaxes(xb, 1, 2) @ dh,
            )
            for name, grad in grads.items():
                p[name] -= lr * grad
    return losses, p


# --------------------------------------------------------------------------- µP: a
# two-hidden-layer MLP


def mup_mlp_init(
    width: int,
    parametrization: str,
    *,
    d_in: int,
    d_out: int,
    n_models: int,
    base_width: int,
    zero_readout: bool = False,
    rng: RngLike = None,
) -> list[np.ndarray]:
    """Kernels ``[input, hidden, readout]`` of ``n_models`` stacked MLPs.

    Gaussian weights with the variances of :func:`mup_rules` (SP:
    :math:`1/\\text{fan\\_in}`
    everywhere; µP: the same except the readout, :math:`\\text{base}/n^2`, or zero),
    every
    model with its own draw.
    """
    width, n_models = _check_count(width, "width"), _check_count(n_models, "n_models")
    d_in, d_out = _check_count(d_in, "d_in"), _check_count(d_out, "d_out")
    base_width = _check_count(base_width, "base_width")
    g = as_rng(rng)
    shapes = {
        "input": (d_in, width),
        "hidden": (width, width),
        "output": (width, d_out),
    }
    bases = {
        "input": (d_in, base_width),
        "hidden": (base_width, base_width),
        "output": (base_width, d_out),
    }
    out = []
    for kind, (fi, fo) in shapes.items():
        var, _ = mup_rules(
            kind,
            fi,
            fo,
            parametrization=parametrization,
            base_fan_in=bases[kind][0],
            base_fan_out=bases[kind][1],
            zero_readout=zero_readout,
        )
        out.append(
            (g.standard_normal((n_models, fi, fo)) * math.sqrt(var)).astype(np.float32)
        )
    return out


def mup_mlp_lr_multipliers(
    width: int,
    parametrization: str,
    *,
    d_in: int,
    d_out: int,
    base_width: int,
    optimizer: str = "adam",
) -> np.ndarray:
    """Multipliers ``[input, hidden, readout]`` of the global rate (µP or SP)."""
    shapes = {
        "input": (d_in, width),
        "hidden": (width, width),
        "output": (width, d_out),
    }
    bases = {
        "input": (d_in, base_width),
        "hidden": (base_width, base_width),
        "output": (base_width, d_out),
    }
    return np.array(
        [
            mup_rules(
                kind,
                *shapes[kind],
                parametrization=parametrization,
                optimizer=optimizer,
                base_fan_in=bases[kind][0],
                base_fan_out=bases[kind][1],
            )[1]
            for kind in shapes
        ]
    )


def mlp_logits(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits ``(M, batch, d_out)`` of stacked two-hidden-layer MLPs on ``x``."""
    h = np.maximum(np.asarray(x) @ weights[0], 0)
    h = np.maximum(h @ weights[1], 0)
    return h @ weights[2]


def mlp_train(
    weights: Sequence[np.ndarray],
    learning_rates: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int,
    batch_size: int,
    optimizer: str = "adam",
    rng: RngLike = None,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Train ``M`` stacked two-hidden-layer ReLU MLPs (no biases, softmax) at once.

    ``weights`` as :func:`mup_mlp_init` returns them; ``learning_rates`` ``(M, 3)``:
    each model's
    rate for its input, hidden and readout kernels (a global rate times the multipliers
    of
    :func:`mup_mlp_lr_multipliers`). ``optimizer`` is ``"adam"`` (Kingma & Ba, with bias
    correction) or ``"sgd"``. Every model draws its own mini-batches from ``rng``.
    Returns the
    training loss of every step ``(steps, M)`` and the trained weights; a model that
    diverges
    shows NaN or infinite losses (no warning is printed).
    """
    steps, batch_size = (
        _check_count(steps, "steps"),
        _check_count(batch_size, "batch_size"),
    )
    check_choice(optimizer, "optimizer", ("adam", "sgd"))
    w = [np.array(k, dtype=np.float32) for k in weights]
    m = w[0].shape[0]
    lrs = np.asarray(learning_rates, dtype=np.float32)
    if lrs.shape != (m, 3):
        raise ValueError(
            f"learning_rates: expected shape (M, 3) = ({m}, 3), got {lrs.shape}"
        )
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    g = as_rng(rng)
    mom = [np.zeros_like(k) for k in w]
    sq = [np.zeros_like(k) for k in w]
    losses = np.empty((steps, m))
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            idx = g.integers(0, len(x), size=(m, batch_size))
            xb, yb = x[idx], y[idx]
            h1 = xb @ w[0]
            a1 = np.maximum(h1, 0)
            h2 = a1 @ w[1]
            a2 = np.maximum(h2, 0)
            logits = a2 @ w[2]
            losses[t - 1], d3 = _softmax_xent(logits.astype(np.float64), yb)
            d3 = d3.astype(np.float32)
            d2 = (d3 @ np.swapaxes(w[2], 1, 2)) * (h2 > 0)
            d1 = (d2 @ np.swapaxes(w[1], 1, 2)) * (h1 > 0)
            grads = [
                np.swapaxes(xb, 1, 2) @ d1,
                np.swapaxes(a1, 1, 2) @ d2,
                np.swapaxes(a2, 1, 2) @ d3,
            ]
            for i, gi in enumerate(grads):
                if optimizer == "sgd":
                    w[i] -= lrs[:, i, None, None] * gi
                    continue
                mom[i] = beta1 * mom[i] + (1 - beta1) * gi
                sq[i] = beta2 * sq[i] + (1 - beta2) * gi * gi
                step = (mom[i] / (1 - beta1**t)) / (
                    np.sqrt(sq[i] / (1 - beta2**t)) + epsilon
                )
                w[i] -= lrs[:, i, None, None] * step
    return losses, w
