"""Chapter 9: Martens' ``sparse`` initialization."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _seeding, _Session, _shape

__all__ = ["check_sparse"]


# --------------------------------------------------------------------------------------------
# sparse
# --------------------------------------------------------------------------------------------
def check_sparse(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, nonzero=15) -> float32 array``: Martens' sparse initialization.

    For a dense kernel ``(fan_in, units)`` every unit (column) is connected to exactly
    ``min(nonzero, fan_in)`` inputs chosen at random, with unit-Gaussian weights; all other
    weights are 0 :cite:`martens2010deep`.
    """
    s = _Session("sparse", fn, ("called", "returns an array", "shape", "dtype", "per column", "random positions", "values", "nonzero", "small fan_in", "seeding"))
    shape = (256, 64)
    call = f"sparse(shape={shape}, rng)"
    out = s.call(shape, np.random.default_rng(0))
    s.step("returns an array")
    w = _array(s, out, call)
    s.step("shape")
    _shape(s, w, shape, call)
    s.step("dtype")
    _float32(s, w, call)
    _finite(s, w, call)
    s.step("per column")
    nz = w != 0
    per_col = nz.sum(axis=0)
    per_row = nz.sum(axis=1)
    if not np.all(per_col == 15):
        if np.all(per_row == 15):
            s.fail(
                f"{call}: each row has 15 nonzeros; a unit is a column in the Keras layout (fan_in, units): "
                "each column must have 15 nonzero weights"
            )
        if np.all(per_col == shape[0] - 15):
            s.fail(f"{call}: each column has {shape[0] - 15} nonzeros: keep 15 weights per column and zero the rest, not the other way round")
        if per_col.min() != per_col.max():
            s.fail(
                f"{call}: columns have between {per_col.min()} and {per_col.max()} nonzeros: choose exactly 15 "
                "inputs per unit, e.g. rng.choice(fan_in, size=15, replace=False), instead of zeroing at random"
            )
        s.fail(f"{call}: each column has {per_col[0]} nonzeros; expected exactly min(nonzero, fan_in) = 15")
    s.step("random positions")
    if all(np.array_equal(nz[:, 0], nz[:, j]) for j in range(1, shape[1])):
        s.fail(f"{call}: every column uses the same 15 inputs: choose the inputs independently for each unit")
    if np.all(nz[:15, :]):
        s.fail(f"{call}: the nonzeros are always the first 15 rows: choose the inputs at random")
    s.step("values")
    vals = w[nz].astype(np.float64)
    sd = float(vals.std())
    if vals.min() >= 0:
        s.fail(f"{call}: all nonzero weights are ≥ 0: draw them from N(0, 1)")
    if not 0.85 <= sd <= 1.15:
        s.fail(f"{call}: the nonzero weights have std {_g(sd)}; Martens draws them from a unit Gaussian N(0, 1), std 1")
    s.step("nonzero")
    call = "sparse(shape=(128, 32), rng, nonzero=5)"
    w = _array(s, s.call((128, 32), np.random.default_rng(1), nonzero=5), call)
    _shape(s, w, (128, 32), call)
    counts = (w != 0).sum(axis=0)
    if not np.all(counts == 5):
        s.fail(f"{call}: columns have {counts.min()}..{counts.max()} nonzeros; expected exactly nonzero = 5 (did you ignore `nonzero`?)")
    s.step("small fan_in")
    call = "sparse(shape=(10, 8), rng, nonzero=15)"
    w = _array(s, s.call((10, 8), np.random.default_rng(2), nonzero=15), call)
    _shape(s, w, (10, 8), call)
    counts = (w != 0).sum(axis=0)
    if not np.all(counts == 10):
        s.fail(f"{call}: columns have {counts.min()}..{counts.max()} nonzeros; with fan_in = 10 < 15 connect each unit to all 10 inputs: k = min(nonzero, fan_in)")
    s.step("seeding")
    _seeding(s, lambda r: s.call((64, 16), r))
    return s.success("exactly min(nonzero, fan_in) unit-Gaussian weights per column at random positions; seeding correct")
