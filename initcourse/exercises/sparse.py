"""Chapter 11: Martens' ``sparse`` initialization; chapter 5: PyTorch's ``sparse_``."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _seeding, _Session, _shape

__all__ = ["check_sparse", "check_torch_sparse"]


# --------------------------------------------------------------------------------------
# sparse
# --------------------------------------------------------------------------------------
def check_sparse(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, nonzero=15) -> float32 array``: Martens' sparse
    initialization.

    For a dense kernel ``(fan_in, units)`` every unit (column) is connected to exactly
    ``min(nonzero, fan_in)`` inputs chosen at random, with unit-Gaussian weights; all
    other weights are 0 :cite:`martens2010deep`.
    """
    s = _Session(
        "sparse",
        fn,
        (
            "called",
            "returns an array",
            "shape",
            "dtype",
            "per column",
            "random positions",
            "values",
            "nonzero",
            "small fan_in",
            "seeding",
        ),
    )
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
                f"{call}: each row has 15 nonzeros; a unit is a column in "
                "the Keras layout (fan_in, units): each column must have 15 "
                "nonzero weights"
            )
        if np.all(per_col == shape[0] - 15):
            s.fail(
                f"{call}: each column has {shape[0] - 15} nonzeros: keep 15 "
                "weights per column and zero the rest, not the other way "
                "round"
            )
        if per_col.min() != per_col.max():
            s.fail(
                f"{call}: columns have between {per_col.min()} and "
                f"{per_col.max()} nonzeros: choose exactly 15 inputs per "
                "unit, not a random share of them (zeroing each weight with "
                "some probability gives columns of different sizes)"
            )
        s.fail(
            f"{call}: each column has {per_col[0]} nonzeros; expected "
            "exactly min(nonzero, fan_in) = 15"
        )
    s.step("random positions")
    if all(np.array_equal(nz[:, 0], nz[:, j]) for j in range(1, shape[1])):
        s.fail(
            f"{call}: every column uses the same 15 inputs: choose the "
            "inputs independently for each unit"
        )
    if np.all(nz[:15, :]):
        s.fail(
            f"{call}: the nonzeros are always the first 15 rows: choose the "
            "inputs at random"
        )
    s.step("values")
    vals = w[nz].astype(np.float64)
    sd = float(vals.std())
    if vals.min() >= 0:
        s.fail(f"{call}: all nonzero weights are ≥ 0: draw them from N(0, 1)")
    if not 0.85 <= sd <= 1.15:
        s.fail(
            f"{call}: the nonzero weights have std {_g(sd)}; Martens draws "
            "them from a unit Gaussian N(0, 1), std 1"
        )
    s.step("nonzero")
    call = "sparse(shape=(128, 32), rng, nonzero=5)"
    w = _array(s, s.call((128, 32), np.random.default_rng(1), nonzero=5), call)
    _shape(s, w, (128, 32), call)
    counts = (w != 0).sum(axis=0)
    if not np.all(counts == 5):
        s.fail(
            f"{call}: columns have {counts.min()}..{counts.max()} nonzeros; "
            "expected exactly nonzero = 5 (did you ignore `nonzero`?)"
        )
    s.step("small fan_in")
    call = "sparse(shape=(10, 8), rng, nonzero=15)"
    w = _array(s, s.call((10, 8), np.random.default_rng(2), nonzero=15), call)
    _shape(s, w, (10, 8), call)
    counts = (w != 0).sum(axis=0)
    if not np.all(counts == 10):
        s.fail(
            f"{call}: columns have {counts.min()}..{counts.max()} nonzeros; "
            "with fan_in = 10 < 15 connect each unit to all 10 inputs: k = "
            "min(nonzero, fan_in)"
        )
    s.step("seeding")
    _seeding(s, lambda r: s.call((64, 16), r))
    return s.success(
        "exactly min(nonzero, fan_in) unit-Gaussian weights per column at "
        "random positions; seeding correct"
    )


# --------------------------------------------------------------------------------------
# PyTorch's sparse_, ported to the Keras layout (chapter 5)
# --------------------------------------------------------------------------------------
_TORCH_SPARSE_CASES = (
    # (fan_in, units), sparsity, std
    ((100, 40), 0.25, 0.05),
    ((30, 64), 0.1, 0.01),
)


def check_torch_sparse(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, sparsity, std, rng) -> float32 array``: a port of ``sparse_``.

    ``torch.nn.init.sparse_(weight, sparsity, std)`` fills a 2-D weight of shape
    ``(rows, cols)`` with :math:`\\mathcal N(0, \\text{std}^2)` values, then, in every
    column, sets ``ceil(sparsity * rows)`` entries at random rows to zero
    :cite:`martens2010deep,paszke2019pytorch`. An ``nn.Linear`` weight is
    ``(out_features, in_features)``: a column is one *input*, and the zeros cut
    connections from that input to a fraction of the units. The port returns a Keras
    kernel of ``shape = (fan_in, units)`` with the same law: in every *row* exactly
    ``ceil(sparsity * units)`` zeros at random units. (Martens' sparse initialization
    fixes the count per unit instead: a column of the Keras kernel.)
    """
    checks = (
        "called",
        "returns an array",
        "shape",
        "dtype",
        "zeros per input",
        "random units",
        "values",
        "a second shape",
        "seeding",
    )
    s = _Session("torch_sparse", fn, checks)
    for i, (shape, sparsity, std) in enumerate(_TORCH_SPARSE_CASES):
        fan_in, units = shape
        call = f"torch_sparse(shape={shape}, sparsity={sparsity}, std={std}, rng)"
        out = s.call(shape, sparsity, std, np.random.default_rng(10 + i))
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        _shape(
            s,
            w,
            shape,
            call,
            " (the PyTorch weight is (units, fan_in), the Keras kernel its transpose)",
        )
        if i == 0:
            s.step("dtype")
        _float32(s, w, call)
        _finite(s, w, call)
        if i == 0:
            s.step("zeros per input")
        zero = w == 0
        per_row, per_col = zero.sum(axis=1), zero.sum(axis=0)
        want = math.ceil(sparsity * units)
        if not np.all(per_row == want):
            if np.all(per_col == math.ceil(sparsity * fan_in)):
                s.fail(
                    f"{call}: every column (unit) has {per_col[0]} zeros. That is "
                    "sparse_ applied to the Keras kernel as if it were the PyTorch "
                    "weight: PyTorch's columns are inputs, which are the *rows* of the "
                    f"Keras kernel. Each row needs ceil(sparsity * units) = {want} "
                    "zeros"
                )
            if np.all(per_row == int(sparsity * units)) or np.all(
                per_row == round(sparsity * units)
            ):
                s.fail(
                    f"{call}: each row has {per_row[0]} zeros; PyTorch rounds up: "
                    f"ceil(sparsity * units) = {want}"
                )
            if per_row.min() != per_row.max():
                s.fail(
                    f"{call}: rows have between {per_row.min()} and {per_row.max()} "
                    f"zeros; zero exactly ceil(sparsity * units) = {want} entries per "
                    "row, at positions drawn without replacement"
                )
            s.fail(
                f"{call}: each row has {per_row[0]} zeros; expected "
                f"ceil(sparsity * units) = {want}"
            )
        if i == 0:
            s.step("random units")
        if all(np.array_equal(zero[0], zero[r]) for r in range(1, fan_in)):
            s.fail(
                f"{call}: every input loses the same units; draw the zeroed units "
                "independently for each input (row), as sparse_ does per column"
            )
        if i == 0:
            s.step("values")
        vals = w[~zero].astype(np.float64)
        sd = float(vals.std())
        if vals.min() >= 0:
            s.fail(f"{call}: all nonzero weights are >= 0; draw them from N(0, std^2)")
        if not 0.85 * std <= sd <= 1.15 * std:
            s.fail(
                f"{call}: the nonzero weights have std {_g(sd)}; sparse_ draws them "
                f"from N(0, std^2) with std = {std}"
            )
        if i == 0:
            s.step("a second shape")
    s.step("seeding")
    _seeding(s, lambda r: s.call((20, 12), 0.5, 0.1, r))
    return s.success(
        "ceil(sparsity * units) zeros in every input's row, N(0, std^2) elsewhere, "
        "Keras layout; seeding correct"
    )
