"""Tests of the command line ``python -m initcourse.check`` (initcourse.check.main)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from initcourse.check import main, parse_shape  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _save(tmp_path, init, name="m.keras"):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((16,))] + [
        keras.layers.Dense(16, activation="relu", kernel_initializer=init)
        for _ in range(6)
    ]
    model = keras.Sequential(layers + [keras.layers.Dense(3)])
    path = tmp_path / name
    model.save(path)
    return str(path)


def test_healthy_model_exits_0_and_prints_the_report(tmp_path, capsys):
    path = _save(tmp_path, "he_normal")
    assert main([path, "--input-shape", "16", "--fail-on-finding"]) == 0
    out = capsys.readouterr().out
    assert "(training mode): 7 layers checked" in out and "findings: none" in out


def test_finding_exits_1_only_when_asked(tmp_path, capsys):
    path = _save(tmp_path, keras.initializers.RandomNormal(stddev=0.01))
    assert main([path, "--input-shape", "16"]) == 0
    assert main([path, "--input-shape", "16", "--fail-on-finding", "--table"]) == 1
    out = capsys.readouterr().out
    assert "signal vanishing" in out and "grad/weight" in out


def test_inputs_from_npz_and_plot(tmp_path, capsys):
    path = _save(tmp_path, "he_normal")
    batch = tmp_path / "batch.npz"
    rng = np.random.default_rng(0)
    np.savez(
        batch,
        x=rng.standard_normal((32, 16)).astype("float32"),
        y=rng.integers(0, 3, 32),
    )
    plot = tmp_path / "check.png"
    assert main([path, "--inputs", str(batch), "--save-plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "loss: sparse_categorical_crossentropy (from logits)" in out
    assert plot.exists() and plot.stat().st_size > 1000


def test_model_shape_is_used_when_known_and_errors_exit_2(tmp_path, capsys):
    path = _save(tmp_path, "he_normal")
    assert main([path]) == 0  # (None, 16): the shape is known
    assert main([path, "--input-shape", "15"]) == 2
    assert (
        "x: the batch has shape (8, 15), but the model expects (None, 16)"
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing.keras")])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main([path, "--input-shape", "16,a"])
    assert parse_shape("224,224,3") == (224, 224, 3)


def test_token_ids_are_drawn_below_the_vocabulary(tmp_path, capsys):
    inputs = keras.Input((7,), dtype="int32")
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 8)(inputs))
    path = tmp_path / "text.keras"
    keras.Model(inputs, keras.layers.Dense(2)(h)).save(path)
    assert main([str(path)]) == 0
    assert "integer inputs (token ids)" in capsys.readouterr().out


def test_module_runs_as_a_command(tmp_path):
    path = _save(tmp_path, keras.initializers.RandomNormal(stddev=0.01))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "initcourse.check",
            path,
            "--input-shape",
            "16",
            "--fail-on-finding",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 1, proc.stderr
    assert "findings:" in proc.stdout and "signal vanishing" in proc.stdout
