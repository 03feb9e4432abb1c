"""Chapter 7's checker: PyTorch's ``orthogonal_`` ported to the Keras layout.

The correct port is written here independently of the checker: it transcribes
``torch.nn.init.orthogonal_`` (flatten the PyTorch weight ``(out, in, *k)`` to
``(out, numel // out)``, QR of the tall side, sign fix, gain) and moves the axes with
``np.moveaxis``. Each wrong port makes one layout mistake that still returns an
orthogonal matrix of the right shape, and the checker must name that mistake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from initcourse.exercises import CHECKERS, ExerciseError, check_torch_orthogonal
from initcourse.exercises.core import success_line


def torch_orthogonal(shape, rng, gain=1.0):
    out_ch, in_ch, k = shape[-1], shape[-2], tuple(shape[:-2])
    rows, cols = out_ch, in_ch * math.prod(k)
    flat = rng.standard_normal((rows, cols))
    tall = flat if rows >= cols else flat.T
    q, r = np.linalg.qr(tall)
    q = q * np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    w_pt = (gain * q).reshape((out_ch, in_ch) + k)
    w = np.moveaxis(w_pt, (0, 1), (-1, -2))  # (out, in, *k) -> (*k, in, out)
    return w.astype(np.float32)


def keras_flattening(shape, rng, gain=1.0):
    """Orthogonal, but drawn as Keras draws it: (prod(shape[:-1]), out)."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return (gain * q).reshape(shape).astype(np.float32)


def _pytorch_weight(shape, rng, gain=1.0):
    """The PyTorch-layout weight, for the mistakes below."""
    w = torch_orthogonal(shape, rng, gain)
    return np.moveaxis(w, (-1, -2), (0, 1))


def reshaped(shape, rng, gain=1.0):
    """The PyTorch weight reshaped (not transposed) to the Keras shape."""
    return np.ascontiguousarray(_pytorch_weight(shape, rng, gain)).reshape(shape)


def all_axes_reversed(shape, rng, gain=1.0):
    """w.T: (out, in, kh, kw) -> (kw, kh, in, out) swaps the spatial axes too."""
    w = _pytorch_weight(shape, rng, gain).T
    if w.shape != tuple(shape):  # non-square kernel: return a kernel of the right shape
        w = w.reshape(shape)
    return np.ascontiguousarray(w)


def no_sign_fix(shape, rng, gain=1.0):
    out_ch, in_ch, k = shape[-1], shape[-2], tuple(shape[:-2])
    rows, cols = out_ch, in_ch * math.prod(k)
    flat = rng.standard_normal((rows, cols))
    q, _ = np.linalg.qr(flat if rows >= cols else flat.T)
    q = q if rows >= cols else q.T
    w_pt = (gain * q).reshape((out_ch, in_ch) + k)
    return np.moveaxis(w_pt, (0, 1), (-1, -2)).astype(np.float32)


def pytorch_layout(shape, rng, gain=1.0):
    return np.ascontiguousarray(_pytorch_weight(shape, rng, gain))


def no_gain(shape, rng, gain=1.0):
    return torch_orthogonal(shape, rng)


def float64(shape, rng, gain=1.0):
    return torch_orthogonal(shape, rng, gain).astype(np.float64)


def own_seed(shape, rng, gain=1.0):
    return torch_orthogonal(shape, np.random.default_rng(0), gain)


def test_correct_port_passes(capsys):
    result = check_torch_orthogonal(torch_orthogonal)
    out = capsys.readouterr().out
    assert result.ok and result.exercise == "torch_orthogonal"
    assert out.startswith("✓ torch_orthogonal: ")
    assert out == success_line(result.message) + "\n"  # wrapped to 88 columns
    assert CHECKERS["torch_orthogonal"] is check_torch_orthogonal


def test_keras_orthogonal_is_orthogonal_too_but_fails():
    """The mistakes all return orthogonal matrices: orthogonality alone cannot grade."""
    w = keras_flattening((3, 3, 16, 32), np.random.default_rng(0)).astype(np.float64)
    flat = w.reshape(-1, 32)
    assert np.allclose(flat.T @ flat, np.eye(32), atol=1e-5)
    with pytest.raises(ExerciseError, match="the Keras way"):
        check_torch_orthogonal(keras_flattening)


@pytest.mark.parametrize(
    "fn, pattern, failed_check",
    [
        (keras_flattening, r"the Keras way, flattened to \(prod\(shape", "dense, wide"),
        (reshaped, r"you reshaped the PyTorch weight", "dense, wide"),
        (all_axes_reversed, r"reversed all the axes", "conv2d"),
        (no_sign_fix, r"signs of the diagonal of R", "dense, wide"),
        (pytorch_layout, r"that is PyTorch's layout", "shape"),
        (no_gain, r"gain=1.5 was ignored", "gain"),
        (float64, r"float64", "dtype"),
        (own_seed, r"same rng seed|different rng seeds|differs from PyTorch", None),
    ],
)
def test_each_layout_mistake_is_named(fn, pattern, failed_check):
    with pytest.raises(ExerciseError, match=pattern) as info:
        check_torch_orthogonal(fn)
    if failed_check is not None:
        assert info.value.check == failed_check
    assert 0 <= len(info.value.passed) < info.value.total


def test_dense_reshape_mistake_passes_nowhere():
    """For a dense kernel, reshape (out, in) -> (in, out) is not a transpose either."""
    shape = (256, 128)
    a = reshaped(shape, np.random.default_rng(10))
    b = torch_orthogonal(shape, np.random.default_rng(10))
    assert a.shape == b.shape and not np.allclose(a, b)


def test_non_callable_is_rejected():
    with pytest.raises(TypeError, match="fn: expected your function"):
        check_torch_orthogonal("not a function")


def test_stub_is_named_not_implemented():
    def stub(shape, rng, gain=1.0):
        raise NotImplementedError("Start from the PyTorch shape.")

    with pytest.raises(ExerciseError, match="not implemented yet") as info:
        check_torch_orthogonal(stub)
    assert "hint: Start from the PyTorch shape." in str(info.value)
    assert info.value.passed == ()
