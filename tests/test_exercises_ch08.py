"""Chapter 8's checker: ``twin_groups`` finds units with identical incoming weights.

The correct solution is written here independently of the checker (pairwise distances of
all columns at once, then connected groups); each wrong one makes one specific mistake
that the checker must name.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.linalg import hadamard

from initcourse.exercises import CHECKERS, ExerciseError, check_twin_groups


def twin_groups(kernel, atol=1e-6):
    w = np.asarray(kernel, dtype=np.float64)
    order = np.lexsort(np.round(w, 4)[::-1])  # sorted columns: twins end up adjacent
    groups, current = [], [int(order[0])]
    for a, b in zip(order[:-1], order[1:]):
        if np.abs(w[:, a] - w[:, b]).max() <= atol:
            current.append(int(b))
        else:
            if len(current) > 1:
                groups.append(sorted(current))
            current = [int(b)]
    if len(current) > 1:
        groups.append(sorted(current))
    return groups


def exact_only(kernel, atol=1e-6):
    """np.unique: exact equality, no tolerance."""
    _, inverse = np.unique(np.asarray(kernel).T, axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    return [list(np.flatnonzero(inverse == k)) for k in range(inverse.max() + 1)
            if np.sum(inverse == k) > 1]


def rows_not_columns(kernel, atol=1e-6):
    return twin_groups(np.asarray(kernel).T, atol)


def with_singletons(kernel, atol=1e-6):
    groups = twin_groups(kernel, atol)
    grouped = {i for g in groups for i in g}
    return groups + [[j] for j in range(np.shape(kernel)[1]) if j not in grouped]


def sign_blind(kernel, atol=1e-6):
    """Counts a unit and its negative as twins."""
    w = np.asarray(kernel, dtype=np.float64)
    w = w * np.where(w[:1] < 0, -1.0, 1.0)  # each column flipped: positive first weight
    return twin_groups(w, atol)


def fixed_atol(kernel, atol=1e-6):
    return twin_groups(kernel, 1e-6)


def in_place(kernel, atol=1e-6):
    kernel -= kernel.mean(axis=0)  # "normalize" the caller's array
    return twin_groups(kernel, atol)


def zero_kernel(fan_in, fan_out):
    p = 2 ** math.ceil(math.log2(fan_out))
    return (np.eye(fan_out, p) @ hadamard(p) / math.sqrt(p) @ np.eye(p, fan_in)).T


def test_correct_solution_passes(capsys):
    result = check_twin_groups(twin_groups)
    out = capsys.readouterr().out
    assert result.ok and result.exercise == "twin_groups"
    assert out.startswith("✓ twin_groups: ") and out.count("\n") == 1
    assert CHECKERS["twin_groups"] is check_twin_groups


ZERO_SHAPES = [(64, 128), (63, 128), (100, 256), (96, 160), (300, 1000), (513, 1000),
               (784, 1024)]


@pytest.mark.parametrize("fan_in, fan_out", ZERO_SHAPES)
def test_zero_twins_follow_the_fan_in_rule(fan_in, fan_out):
    """The chapter's formula: min(fan_out, 2^ceil(log2 fan_in)) distinct units."""
    groups = twin_groups(zero_kernel(fan_in, fan_out).astype(np.float32))
    distinct = fan_out - sum(len(g) - 1 for g in groups)
    assert distinct == min(fan_out, 2 ** math.ceil(math.log2(fan_in)))
    p = 2 ** math.ceil(math.log2(fan_out))
    assert bool(groups) == (fan_in <= p // 2)


@pytest.mark.parametrize(
    "fn, pattern, failed_check",
    [
        (exact_only, r"compare with the tolerance", "tolerance"),
        (rows_not_columns, r"you compared the rows", "ZerO \\(64, 128\\)"),
        (with_singletons, r"only groups of two or more", "tolerance"),
        (sign_blind, r"opposite weights are not twins", "mirror images"),
        (fixed_atol, r"use the atol you are given", "atol"),
        (in_place, r"changed the kernel", "input unchanged"),
    ],
)
def test_each_mistake_is_named(fn, pattern, failed_check):
    with pytest.raises(ExerciseError, match=pattern) as info:
        check_twin_groups(fn)
    assert re.fullmatch(failed_check, info.value.check)
    assert len(info.value.passed) < info.value.total


def test_stub_and_bad_returns():
    def stub(kernel, atol=1e-6):
        raise NotImplementedError("Compare every column with every other.")

    with pytest.raises(ExerciseError, match="not implemented yet"):
        check_twin_groups(stub)
    with pytest.raises(ExerciseError, match="return a list of groups"):
        check_twin_groups(lambda kernel, atol=1e-6: 3)
    with pytest.raises(ExerciseError, match="returned None"):
        check_twin_groups(lambda kernel, atol=1e-6: None)

