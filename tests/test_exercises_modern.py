"""Checkers of chapters 9 and 10: right answers pass, mistakes fail with advice."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initcourse.exercises import (
    CHECKERS,
    ExerciseError,
    check_chrono_bias,
    check_gpt2_init,
)


def gpt2_init(shape, rng, n_layers, residual):
    std = 0.02 / math.sqrt(2 * n_layers) if residual else 0.02
    return (std * rng.standard_normal(shape)).astype(np.float32)


def chrono_bias(units, t_max, rng):
    forget = np.log(rng.uniform(1.0, t_max - 1.0, size=units)).astype(np.float32)
    return forget, -forget


def test_registered() -> None:
    assert CHECKERS["gpt2_init"] is check_gpt2_init
    assert CHECKERS["chrono_bias"] is check_chrono_bias


def test_right_answers_pass(capsys) -> None:
    assert check_gpt2_init(gpt2_init).ok
    assert check_chrono_bias(chrono_bias).ok
    out = capsys.readouterr().out
    assert out.count("✓") == 2


@pytest.mark.parametrize(
    ("wrong", "advice"),
    [
        (
            lambda s, r, n, res: (
                (0.02 / math.sqrt(n) if res else 0.02)
                * r.standard_normal(s).astype(np.float32)
            ),
            "two residual layers",
        ),
        (
            lambda s, r, n, res: (
                (0.02 / (2 * n) if res else 0.02)
                * r.standard_normal(s).astype(np.float32)
            ),
            "square root",
        ),
        (
            lambda s, r, n, res: (0.02 * r.standard_normal(s)).astype(np.float32),
            "must be scaled down",
        ),
        (
            lambda s, r, n, res: (0.0004 * r.standard_normal(s)).astype(np.float32),
            "variance",
        ),
        (lambda s, r, n, res: r.uniform(-0.02, 0.02, s).astype(np.float32), "√3"),
        (
            lambda s, r, n, res: (
                (0.02 / math.sqrt(2 * n) if res else 0.02)
                * math.sqrt(3)
                * r.uniform(-1, 1, s).astype(np.float32)
            ),
            "beyond 2",
        ),
        (lambda s, r, n, res: 0.02 * r.standard_normal(s), "float64"),
        (
            lambda s, r, n, res: (
                0.02
                * np.random.default_rng(0).standard_normal(s)
                / (math.sqrt(2 * n) if res else 1)
            ).astype(np.float32),
            "same rng seed|different rng seeds",
        ),
    ],
)
def test_gpt2_mistakes_are_named(wrong, advice) -> None:
    with pytest.raises(ExerciseError, match=advice):
        check_gpt2_init(wrong)


@pytest.mark.parametrize(
    ("wrong", "advice"),
    [
        (
            lambda u, t, r: (np.log(r.uniform(0.0, t, u)).astype(np.float32),) * 2,
            "span",
        ),
        (lambda u, t, r: (np.ones(u, np.float32), -np.ones(u, np.float32)), "constant"),
        (
            lambda u, t, r: (
                (r.uniform(0.0, math.log(t - 1), u).astype(np.float32),) * 2
            ),
            "not uniform",
        ),
        (
            lambda u, t, r: (np.log(r.uniform(1, t - 1, u)).astype(np.float32),) * 2,
            "minus the forget",
        ),
        (lambda u, t, r: np.log(r.uniform(1, t - 1, u)).astype(np.float32), "pair"),
    ],
)
def test_chrono_mistakes_are_named(wrong, advice) -> None:
    with pytest.raises(ExerciseError, match=advice):
        check_chrono_bias(wrong)


def test_not_implemented_is_a_clear_failure() -> None:
    def stub(*args):
        raise NotImplementedError("draw with rng")

    with pytest.raises(ExerciseError, match="not implemented yet"):
        check_chrono_bias(stub)
