"""Chapter 5's exercise checkers: ``check_torch_sparse`` (PyTorch's ``sparse_`` ported
to the Keras layout) and ``check_lsuv_init`` (LSUV over a whole network). Correct
solutions pass; each common mistake fails with a message that names it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from initcourse.exercises import (
    CHECKERS,
    ExerciseError,
    check_lsuv_init,
    check_torch_sparse,
)


# --------------------------------------------------------------------------------------
# torch_sparse
# --------------------------------------------------------------------------------------
def torch_sparse(shape, sparsity, std, rng):
    """PyTorch's loop on the (units, fan_in) weight, then the transpose."""
    fan_in, units = shape
    weight = rng.normal(0.0, std, size=(units, fan_in))
    num_zeros = math.ceil(sparsity * units)
    for col in range(fan_in):
        weight[rng.permutation(units)[:num_zeros], col] = 0.0
    return weight.T.astype(np.float32)


def torch_sparse_rows(shape, sparsity, std, rng):
    """The same law written directly in the Keras layout."""
    w = rng.normal(0.0, std, size=shape)
    k = math.ceil(sparsity * shape[1])
    for row in w:
        row[rng.choice(shape[1], size=k, replace=False)] = 0.0
    return w.astype(np.float32)


def _sparse_fails(fn, *fragments):
    with pytest.raises(ExerciseError) as info:
        check_torch_sparse(fn)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return info.value


def test_torch_sparse_correct_ports_pass():
    assert check_torch_sparse(torch_sparse).ok
    assert check_torch_sparse(torch_sparse_rows).ok
    assert CHECKERS["torch_sparse"] is check_torch_sparse


def test_torch_sparse_zeros_per_unit_instead_of_per_input_is_named():
    def per_column(shape, sparsity, std, rng):  # sparse_ applied to the Keras kernel
        w = rng.normal(0.0, std, size=shape)
        k = math.ceil(sparsity * shape[0])
        for col in range(shape[1]):
            w[rng.permutation(shape[0])[:k], col] = 0.0
        return w.astype(np.float32)

    err = _sparse_fails(per_column, "*rows* of the Keras kernel")
    assert err.check == "zeros per input"


def test_torch_sparse_pytorch_layout_is_named():
    def pytorch_layout(shape, sparsity, std, rng):
        return torch_sparse(shape, sparsity, std, rng).T.copy()

    _sparse_fails(pytorch_layout, "reverse of shape", "transpose")


def test_torch_sparse_rounding_down_is_named():
    def floor_count(shape, sparsity, std, rng):
        w = rng.normal(0.0, std, size=shape)
        k = int(sparsity * shape[1])
        for row in w:
            row[rng.choice(shape[1], size=k, replace=False)] = 0.0
        return w.astype(np.float32)

    err = _sparse_fails(floor_count, "rounds up")
    assert "a second shape" == err.check  # 0.25 * 40 is exact; 0.1 * 64 is not


def test_torch_sparse_same_pattern_wrong_std_and_float64_are_named():
    def same_units(shape, sparsity, std, rng):
        w = rng.normal(0.0, std, size=shape)
        w[:, : math.ceil(sparsity * shape[1])] = 0.0
        return w.astype(np.float32)

    _sparse_fails(same_units, "same units")
    _sparse_fails(
        lambda shape, sparsity, std, rng: torch_sparse(shape, sparsity, 1.0, rng),
        "N(0, std^2)",
    )
    _sparse_fails(lambda *args: torch_sparse(*args).astype(np.float64), "float32")


def test_torch_sparse_unseeded_fails():
    def unseeded(shape, sparsity, std, rng):
        return torch_sparse(shape, sparsity, std, np.random.default_rng())

    err = _sparse_fails(unseeded, "rng")
    assert err.check == "seeding"


# --------------------------------------------------------------------------------------
# lsuv_init
# --------------------------------------------------------------------------------------
ACTS = {"relu": lambda h: np.maximum(h, 0), "tanh": np.tanh, "linear": lambda h: h}


def lsuv_init(kernels, biases, x, activation, tol=0.1, max_iter=10):
    new, h = [], x
    for w, b in zip(kernels, biases):
        w = np.array(w, dtype=np.float64)
        for _ in range(max_iter):
            var = np.var(h @ w + b)
            if abs(var - 1) < tol:
                break
            w = w / np.sqrt(var)
        new.append(w)
        h = ACTS[activation](h @ w + b)
    return new


def lsuv_init_while(kernels, biases, x, activation, tol=0.1, max_iter=10):
    """Another common shape of the loop: a counter and a while."""
    out, h = [], np.asarray(x, dtype=np.float32)
    for w0, b in zip(kernels, biases):
        w, done = w0.astype(np.float32), 0
        pre = h @ w + b
        while abs(pre.var() - 1) >= tol and done < max_iter:
            w = w / pre.std()
            pre, done = h @ w + b, done + 1
        out.append(w)
        h = ACTS[activation](pre)
    return out


def _lsuv_fails(fn, *fragments):
    with pytest.raises(ExerciseError) as info:
        check_lsuv_init(fn)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return info.value


def test_lsuv_init_correct_solutions_pass():
    assert check_lsuv_init(lsuv_init).ok
    assert check_lsuv_init(lsuv_init_while).ok
    assert CHECKERS["lsuv_init"] is check_lsuv_init


def test_lsuv_init_dividing_by_the_variance_is_named():
    def by_variance(kernels, biases, x, activation, tol=0.1, max_iter=10):
        new, h = [], x
        for w, b in zip(kernels, biases):
            w = np.array(w, dtype=np.float64)
            for _ in range(max_iter):
                var = np.var(h @ w + b)
                if abs(var - 1) < tol:
                    break
                w = w / var
            new.append(w)
            h = ACTS[activation](h @ w + b)
        return new

    err = _lsuv_fails(by_variance, "square root")
    assert err.passed == ("called", "returns the kernels")


def test_lsuv_init_measuring_the_original_network_is_named():
    def all_at_once(kernels, biases, x, activation, tol=0.1, max_iter=10):
        new, h = [], x
        for w, b in zip(kernels, biases):
            w = np.array(w, dtype=np.float64)
            w_new = w.copy()
            for _ in range(max_iter):
                var = np.var(h @ w_new + b)
                if abs(var - 1) < tol:
                    break
                w_new = w_new / np.sqrt(var)
            new.append(w_new)
            h = ACTS[activation](h @ w + b)  # the layers below NOT rescaled
        return new

    _lsuv_fails(all_at_once, "layer-sequential")


def test_lsuv_init_one_rescaling_is_named():
    def one_step(kernels, biases, x, activation, tol=0.1, max_iter=10):
        new, h = [], x
        for w, b in zip(kernels, biases):
            w = np.array(w, dtype=np.float64) / np.std(h @ w + b)
            new.append(w)
            h = ACTS[activation](h @ w + b)
        return new

    err = _lsuv_fails(one_step, "one rescaling is not enough")
    assert err.check == "biases need the loop"


def test_lsuv_init_in_place_and_non_lists_fail():
    def in_place(kernels, biases, x, activation, tol=0.1, max_iter=10):
        for k, new in zip(
            kernels, lsuv_init(kernels, biases, x, activation, tol, max_iter)
        ):
            k[...] = new
        return kernels

    err = _lsuv_fails(in_place, "in place")
    assert err.check == "inputs unchanged"
    _lsuv_fails(lambda *args, **kwargs: None, "returned None")

    def stub(kernels, biases, x, activation, tol=0.1, max_iter=10):
        raise NotImplementedError("rescale each layer in order")

    _lsuv_fails(stub, "not implemented yet", "rescale each layer in order")
