"""Chapter 2: ``compute_fans`` (Keras' fan-in/fan-out rule) and ``twin_units``
(identical units)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .core import CheckResult, _Session

__all__ = ["check_compute_fans", "check_twin_units"]


# --------------------------------------------------------------------------------------
# compute_fans
# --------------------------------------------------------------------------------------
def _ref_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return shape[-2] * rf, shape[-1] * rf


def check_compute_fans(fn: Callable[[tuple[int, ...]], tuple[int, int]]) -> CheckResult:
    """Check ``fn(shape) -> (fan_in, fan_out)`` against Keras' rule.

    Expected: rank 0 → ``(1, 1)``; rank 1 ``(n,)`` → ``(n, n)``; dense ``(a, b)`` →
    ``(a, b)``; convolution ``(*k, c_in, c_out)`` → ``(c_in·r, c_out·r)`` with the
    receptive field :math:`r = \\prod k` :cite:`glorot2010understanding`.
    """
    s = _Session(
        "compute_fans",
        fn,
        (
            "called",
            "returns a pair",
            "dense",
            "conv1d",
            "conv2d",
            "conv3d",
            "1-D",
            "scalar",
        ),
    )
    cases = [
        ("dense", (256, 128)),
        ("conv1d", (5, 16, 32)),
        ("conv2d", (3, 3, 16, 32)),
        ("conv3d", (3, 3, 3, 8, 4)),
        ("1-D", (7,)),
        ("scalar", ()),
    ]
    for i, (kind, shape) in enumerate(cases):
        call = f"compute_fans({shape})"
        out = s.call(shape)
        if i == 0:
            s.step("returns a pair")
        try:
            fi, fo = out
            fi_f, fo_f = float(fi), float(fo)
        except (TypeError, ValueError):
            s.fail(
                f"{call} returned {out!r}; return a pair (fan_in, fan_out) of numbers"
            )
        if i == 0:
            s.step("dense")
        want = _ref_fans(shape)
        got = (fi_f, fo_f)
        if got == tuple(float(x) for x in want):
            s.step(cases[i + 1][0] if i + 1 < len(cases) else "scalar")
            continue
        if kind == "dense" and got == (float(want[1]), float(want[0])):
            s.fail(
                f"{call} returned {(fi, fo)}: fan_in and fan_out are "
                "swapped; a Keras dense kernel is (fan_in, units), so "
                f"fan_in = shape[0] = {want[0]}"
            )
        if len(shape) >= 3:
            rf = int(np.prod(shape[:-2]))
            torch_rf = int(np.prod(shape[2:]))
            if got == (float(shape[-2]), float(shape[-1])):
                s.fail(
                    f"{call} returned {(fi, fo)}, the channel counts alone: "
                    "every input channel feeds a unit through each of the "
                    f"{rf} positions of the kernel window (the receptive "
                    "field), and each position is a weight of its own, so "
                    "the fans count the channels once per position"
                )
            if got == (float(shape[1] * torch_rf), float(shape[0] * torch_rf)):
                s.fail(
                    f"{call} returned {(fi, fo)}: that reads the shape in "
                    "PyTorch's (out, in, *kernel) layout; Keras kernels are "
                    "(*kernel_size, in, out), with the channels last"
                )
            if got == (float(shape[0]), float(shape[1])):
                s.fail(
                    f"{call} returned {(fi, fo)}: the dense rule applied to "
                    "a convolution kernel; the first axes of a Keras "
                    "convolution kernel are the kernel window, not the "
                    "channels"
                )
            if got == (float(shape[-1] * rf), float(shape[-2] * rf)):
                s.fail(
                    f"{call} returned {(fi, fo)}: fan_in and fan_out are "
                    "swapped; the input channels come before the output "
                    "channels in the Keras layout"
                )
        if kind == "1-D":
            s.fail(
                f"{call} returned {(fi, fo)}; Keras gives a 1-D shape (n,) "
                f"fan_in = fan_out = n = {shape[0]}"
            )
        if kind == "scalar":
            s.fail(
                f"{call} returned {(fi, fo)}; Keras gives a scalar (shape "
                "()) fan_in = fan_out = 1"
            )
        s.fail(f"{call} returned {(fi, fo)}; expected {want}")
    return s.success("dense, conv1d/2d/3d, 1-D and scalar shapes all correct")


# --------------------------------------------------------------------------------------
# twin_units
# --------------------------------------------------------------------------------------
def _ref_twins(kernel: np.ndarray, tol: float) -> list[tuple[int, int]]:
    """Pairs (j, k), j < k, of columns of the (fan_in, units) view equal within tol *
    max|w|."""
    m = np.asarray(kernel, dtype=np.float64).reshape(-1, kernel.shape[-1])
    limit = tol * float(np.abs(m).max()) if m.size else 0.0
    out: list[tuple[int, int]] = []
    for j in range(m.shape[1]):
        diff = (
            np.abs(m[:, j + 1 :] - m[:, j : j + 1]).max(axis=0)
            if j + 1 < m.shape[1]
            else []
        )
        out.extend(
            (j, j + 1 + int(d)) for d in np.flatnonzero(np.asarray(diff) <= limit)
        )
    return out


def _sylvester(p: int) -> np.ndarray:
    h = np.ones((1, 1))
    while h.shape[0] < p:
        h = np.block([[h, h], [h, -h]])
    return h


def _as_pairs(out: Any) -> list[tuple[int, int]] | None:
    try:
        pairs = [(int(a), int(b)) for a, b in out]
    except (TypeError, ValueError):
        return None
    return pairs


def check_twin_units(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(kernel, tol=1e-6) -> list of pairs (j, k)``: the units with equal
    weights.

    A unit's incoming weights are one column of the kernel viewed as
    ``(prod(shape[:-1]), shape[-1])`` (Keras layout: units on the last axis, so a
    convolution kernel ``(kh, kw, in, out)`` has ``out`` units of ``kh·kw·in`` weights
    each). Return every pair ``(j, k)`` with ``j < k`` whose columns differ by at most
    ``tol * max|w|`` in every entry, sorted; columns of opposite sign are not twins.
    Such units start identical and get identical gradients, so a layer with twins is
    narrower than it looks; ZerO's Hadamard kernel has them when the fan-in is at most
    half the Hadamard size :cite:`zhao2022zero`.
    """
    s = _Session(
        "twin_units",
        fn,
        (
            "called",
            "returns pairs",
            "random",
            "dense twins",
            "triplet",
            "sign",
            "tolerance",
            "convolution",
            "ZerO",
            "input untouched",
        ),
    )
    rng = np.random.default_rng(7)

    def run(
        label: str, kernel: np.ndarray, want: list[tuple[int, int]], call: str
    ) -> None:
        before = kernel.copy()
        out = s.call(kernel)
        if label == "random":
            s.step("returns pairs")
        pairs = _as_pairs(out)
        if pairs is None:
            s.fail(
                f"{call} returned {out!r}; return a list of pairs (j, k) of "
                "unit indices"
            )
        if label == "random":
            s.step("random")
        if not np.array_equal(kernel, before):
            s.fail(f"{call} changed the kernel you were given; work on a copy")
        got = sorted(pairs)
        if got == sorted(want):
            if pairs != sorted(pairs):
                s.fail(
                    f"{call} returned the right pairs but not sorted; return "
                    "sorted(pairs)"
                )
            return
        more_got, more_want = " …" * (len(got) > 6), " …" * (len(want) > 6)
        msg = f"{call} returned {got[:6]}{more_got}; expected {want[:6]}{more_want}"
        flat = kernel.reshape(-1, kernel.shape[-1])
        rows = _ref_twins(np.ascontiguousarray(flat.T), 1e-6)
        if (got and got == rows) or (not got and label == "dense twins"):
            msg += (
                ": compare the columns of the kernel (the units, its last "
                "axis), not its rows (the inputs)"
            )
        elif any(j >= k for j, k in got):
            msg += ": give each pair once, with j < k, and never a unit with itself"
        elif len(set(got)) != len(got):
            msg += ": each pair should appear once"
        elif label == "sign" and len(got) > len(want):
            msg += (
                ": w and -w are not twins: relu(x·w) and relu(-x·w) are "
                "different functions; compare the weights themselves, not "
                "their absolute values"
            )
        elif label == "tolerance" and len(got) < len(want):
            msg += (
                ": floating-point weights are rarely exactly equal; compare with "
                "the tolerance "
            )
            msg += (
                "tol * max|w| (e.g. np.abs(a - b).max() <= tol * np.abs(kernel).max())"
            )
        elif label == "tolerance" and len(got) > len(want):
            msg += (
                ": the tolerance is relative: tol times the largest absolute "
                "weight, not tol itself"
            )
        elif label == "convolution":
            msg += (
                ": for a convolution kernel (kh, kw, in, out) the units are "
                "the out channels; view it as kernel.reshape(-1, "
                "kernel.shape[-1]) (not reshape(shape[0], -1))"
            )
        s.fail(msg)

    w = rng.standard_normal((64, 32))
    run("random", w, [], "twin_units(random (64, 32) kernel)")
    s.step("dense twins")
    w = rng.standard_normal((8, 6))
    w[:, 4] = w[:, 1]
    w[:, 5] = w[:, 2]
    run(
        "dense twins",
        w,
        [(1, 4), (2, 5)],
        "twin_units(8×6 kernel with units 4 = 1 and 5 = 2)",
    )
    s.step("triplet")
    w = rng.standard_normal((5, 7))
    w[:, 3] = w[:, 0]
    w[:, 6] = w[:, 0]
    run(
        "triplet",
        w,
        [(0, 3), (0, 6), (3, 6)],
        "twin_units(5×7 kernel with units 0 = 3 = 6)",
    )
    s.step("sign")
    w = rng.standard_normal((6, 4))
    w[:, 2] = -w[:, 0]
    w[:, 3] = w[:, 1]
    run(
        "sign",
        w,
        [(1, 3)],
        "twin_units(6×4 kernel with unit 2 = -unit 0 and unit 3 = unit 1)",
    )
    s.step("tolerance")
    w = rng.standard_normal((16, 5))
    w[:, 1] = w[:, 0] * (1 + 1e-9)
    w[:, 4] = w[:, 2] + 1e-3
    run(
        "tolerance",
        w,
        [(0, 1)],
        "twin_units(kernel with unit 1 = unit 0 up to 1e-9, unit 4 = unit 2 + 1e-3)",
    )
    s.step("convolution")
    w = rng.standard_normal((3, 3, 4, 8))
    w[..., 7] = w[..., 2]
    run(
        "convolution",
        w,
        [(2, 7)],
        "twin_units(3×3 conv kernel, 4 -> 8 channels, out channel 7 = 2)",
    )
    s.step("ZerO")
    zero = (_sylvester(128)[:64, :] / np.sqrt(128)).astype(np.float32)
    run(
        "ZerO",
        zero,
        [(j, j + 64) for j in range(64)],
        "twin_units(ZerO Hadamard kernel (64, 128))",
    )
    s.step("input untouched")
    return s.success(
        "random, repeated, signed, near-equal, convolution and ZerO kernels all correct"
    )
