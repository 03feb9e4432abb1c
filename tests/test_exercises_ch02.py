"""Chapter 2's checker ``twin_units``: units of a kernel with equal incoming weights.

The correct solution is written here independently of the checker's reference; each
wrong solution makes one realistic mistake and the checker must reject it at the check
that names the mistake. The checker is also run on ZerO kernels of the course (not
designed for it), whose twin count follows from the Sylvester construction.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from initcourse import initializers
from initcourse.exercises import CHECKERS, ExerciseError, check_twin_units


def twin_units(kernel, tol=1e-6):
    m = np.asarray(kernel, dtype=np.float64).reshape(-1, kernel.shape[-1])
    limit = tol * np.abs(m).max()
    return [
        (j, k)
        for j, k in itertools.combinations(range(m.shape[1]), 2)
        if np.abs(m[:, j] - m[:, k]).max() <= limit
    ]


def exact_equality(kernel, tol=1e-6):
    m = kernel.reshape(-1, kernel.shape[-1])
    return [
        (j, k)
        for j, k in itertools.combinations(range(m.shape[1]), 2)
        if np.array_equal(m[:, j], m[:, k])
    ]


def absolute_values(kernel, tol=1e-6):
    return twin_units(np.abs(kernel), tol)


def rows_not_columns(kernel, tol=1e-6):
    return twin_units(np.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]).T), tol)


def torch_flattening(kernel, tol=1e-6):
    return twin_units(kernel.reshape(kernel.shape[0], -1), tol)


def both_orders(kernel, tol=1e-6):
    pairs = twin_units(kernel, tol)
    return pairs + [(k, j) for j, k in pairs]


def absolute_tolerance(kernel, tol=1e-6):
    m = kernel.reshape(-1, kernel.shape[-1])
    return [
        (j, k)
        for j, k in itertools.combinations(range(m.shape[1]), 2)
        if np.abs(m[:, j] - m[:, k]).max() <= 1e-2
    ]


def unsorted(kernel, tol=1e-6):
    return twin_units(kernel, tol)[::-1]


def in_place(kernel, tol=1e-6):
    pairs = twin_units(kernel, tol)
    kernel /= np.abs(kernel).max()
    return pairs


def test_correct_solution_passes_and_is_registered(capsys):
    result = check_twin_units(twin_units)
    assert result.ok and result.points == result.max_points
    assert "✓ twin_units" in capsys.readouterr().out
    assert CHECKERS["twin_units"] is check_twin_units


@pytest.mark.parametrize(
    "wrong, check, words",
    [
        (exact_equality, "tolerance", "tolerance"),
        (absolute_values, "sign", "not twins"),
        (rows_not_columns, "dense twins", "columns"),
        (torch_flattening, "convolution", "out channels"),
        (both_orders, "dense twins", "j < k"),
        (absolute_tolerance, "tolerance", "relative"),
        (unsorted, "dense twins", "sorted"),
        (in_place, "random", "copy"),
    ],
)
def test_each_mistake_is_named(wrong, check, words):
    with pytest.raises(ExerciseError) as info:
        check_twin_units(wrong)
    assert info.value.check == check
    assert words in str(info.value)


def test_stub_fails_with_its_hint():
    def stub(kernel, tol=1e-6):
        raise NotImplementedError("compare columns")

    with pytest.raises(ExerciseError, match="compare columns"):
        check_twin_units(stub)


@pytest.mark.parametrize(
    "shape, pairs",
    [((64, 128), 64), ((48, 128), 64), ((64, 100), 36), ((65, 128), 0), ((128, 64), 0)],
)
def test_course_zero_kernels_have_twins_iff_fan_in_at_most_half_the_hadamard_size(
    shape, pairs
):
    # p = 128 for 100 or 128 units: twins exist when fan_in <= 64, unit j + 64 repeating
    # unit j
    kernel = initializers.zero_hadamard(shape)
    found = twin_units(kernel)
    assert len(found) == pairs
    assert all(k - j == 64 for j, k in found)
