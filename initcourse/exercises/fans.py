"""Chapter 2: ``compute_fans`` (Keras' fan-in/fan-out rule)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .core import CheckResult, _Session

__all__ = ["check_compute_fans"]


# --------------------------------------------------------------------------------------------
# compute_fans
# --------------------------------------------------------------------------------------------
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

    Expected: rank 0 → ``(1, 1)``; rank 1 ``(n,)`` → ``(n, n)``; dense ``(a, b)`` → ``(a, b)``;
    convolution ``(*k, c_in, c_out)`` → ``(c_in·r, c_out·r)`` with the receptive field
    :math:`r = \\prod k` :cite:`glorot2010understanding`.
    """
    s = _Session("compute_fans", fn, ("called", "returns a pair", "dense", "conv1d", "conv2d", "conv3d", "1-D", "scalar"))
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
            s.fail(f"{call} returned {out!r}; return a pair (fan_in, fan_out) of numbers")
        if i == 0:
            s.step("dense")
        want = _ref_fans(shape)
        got = (fi_f, fo_f)
        if got == tuple(float(x) for x in want):
            s.step(cases[i + 1][0] if i + 1 < len(cases) else "scalar")
            continue
        if kind == "dense" and got == (float(want[1]), float(want[0])):
            s.fail(
                f"{call} returned {(fi, fo)}: fan_in and fan_out are swapped; a Keras dense kernel "
                f"is (fan_in, units), so fan_in = shape[0] = {want[0]}"
            )
        if len(shape) >= 3:
            rf = int(np.prod(shape[:-2]))
            torch_rf = int(np.prod(shape[2:]))
            if got == (float(shape[-2]), float(shape[-1])):
                s.fail(
                    f"{call} returned {(fi, fo)}: you forgot the receptive field; multiply the "
                    f"channels by prod(shape[:-2]) = {rf}, giving {want}"
                )
            if got == (float(shape[1] * torch_rf), float(shape[0] * torch_rf)):
                s.fail(
                    f"{call} returned {(fi, fo)}: that is PyTorch's (out, in, *kernel) layout; Keras "
                    f"kernels are (*kernel_size, in, out), so fan_in = shape[-2] * prod(shape[:-2]) = {want[0]}"
                )
            if got == (float(shape[0]), float(shape[1])):
                s.fail(
                    f"{call} returned {(fi, fo)}: you applied the dense rule to a convolution kernel; "
                    f"for rank ≥ 3 use (shape[-2] * r, shape[-1] * r) with r = prod(shape[:-2]) = {rf}"
                )
            if got == (float(shape[-1] * rf), float(shape[-2] * rf)):
                s.fail(f"{call} returned {(fi, fo)}: fan_in and fan_out are swapped; in_channels is shape[-2]")
        if kind == "1-D":
            s.fail(f"{call} returned {(fi, fo)}; Keras gives a 1-D shape (n,) fan_in = fan_out = n = {shape[0]}")
        if kind == "scalar":
            s.fail(f"{call} returned {(fi, fo)}; Keras gives a scalar (shape ()) fan_in = fan_out = 1")
        s.fail(f"{call} returned {(fi, fo)}; expected {want}")
    return s.success("dense, conv1d/2d/3d, 1-D and scalar shapes all correct")
