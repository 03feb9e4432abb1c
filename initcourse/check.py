"""Command line: check the initialization of a saved Keras model.

::

    python -m initcourse.check model.keras --input-shape 224,224,3
    python -m initcourse.check model.keras --inputs batch.npz --save-plot check.png
    python -m initcourse.check model.keras --input-shape 224,224,3 --fail-on-finding

It loads the model (``keras.models.load_model``; the course's initializers are
registered first, so models that use them load), runs
:func:`initcourse.diagnostics.layer_stats` on one batch and prints
:meth:`~initcourse.diagnostics.LayerStats.summary` (findings and notes).

The batch is either read from an ``.npz`` file (``--inputs``: arrays named after the
model's inputs, or ``x``/``x0``, ``x1``, ... in input order, optionally ``y`` for the
targets), or drawn: standard normal values of the given shape (``--input-shape``,
without the batch axis; repeat the option for a model with several inputs; omitted, the
model's own input shapes are used when they are fully known), and, for integer inputs
(token ids), ids uniform below the smallest ``Embedding`` vocabulary (or ``--vocab``).

Exit status: 0 after printing the report, even with findings, unless
``--fail-on-finding`` is given (then 1 when there is a finding, for CI); 2 for a usage
error (a file that does not exist or does not load, shapes that do not fit).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["main", "parse_shape", "synthetic_batch"]


def parse_shape(text: str) -> tuple[int, ...]:
    """``"224,224,3"`` -> ``(224, 224, 3)``; a clear error for anything else."""
    try:
        dims = tuple(
            int(part) for part in text.replace("x", ",").split(",") if part.strip()
        )
    except ValueError:
        raise argparse.ArgumentTypeError(
            "--input-shape: expected comma-separated positive ints such as 224,224,3,"
            f" got {text!r}"
        ) from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(
            "--input-shape: expected comma-separated positive ints such as 224,224,3,"
            f" got {text!r}"
        )
    return dims


def _vocabulary(model: Any) -> int | None:
    import keras

    from initcourse import _modelwalk as mw

    sizes = [
        int(layer.input_dim)
        for layer in mw.walk(model)
        if isinstance(layer, keras.layers.Embedding)
    ]
    return min(sizes) if sizes else None


def synthetic_batch(
    model: Any,
    shapes: Sequence[tuple[int, ...]],
    batch: int,
    seed: int,
    vocab: int | None = None,
) -> Any:
    """A drawn batch for ``model``: N(0, 1) floats, or integer ids below the vocabulary.

    ``shapes`` (without the batch axis), one per model input; empty: the model's own
    input shapes, which must then be fully known.
    """
    import keras

    rng = np.random.default_rng(seed)
    specs = list(getattr(model, "inputs", None) or [])
    if not shapes:
        if not specs:
            raise ValueError(
                "--input-shape: the model does not declare its input shape; give it,"
                " e.g. --input-shape 224,224,3"
            )
        unknown = [
            tuple(s.shape) for s in specs if any(d is None for d in tuple(s.shape)[1:])
        ]
        if unknown:
            raise ValueError(
                f"--input-shape: the model's input shape(s) {unknown} have free"
                " dimensions (None); give them, e.g. --input-shape 224,224,3"
            )
        shapes = [tuple(int(d) for d in tuple(s.shape)[1:]) for s in specs]
    if specs and len(shapes) != len(specs):
        raise ValueError(
            f"--input-shape: the model has {len(specs)} inputs, got {len(shapes)}"
            " shape(s); repeat --input-shape once per input, in order"
        )
    arrays = []
    for i, shape in enumerate(shapes):
        dtype = keras.backend.standardize_dtype(specs[i].dtype) if specs else "float32"
        if "int" in dtype:
            high = vocab or _vocabulary(model)
            if high is None:
                raise ValueError(
                    f"--vocab: input {i} takes integers and the model has no Embedding"
                    " to read the vocabulary size from; give --vocab N"
                )
            arrays.append(rng.integers(0, high, size=(batch, *shape)).astype(dtype))
        else:
            arrays.append(rng.standard_normal((batch, *shape)).astype("float32"))
    return arrays[0] if len(arrays) == 1 else arrays


def _read_npz(path: str, model: Any) -> tuple[Any, Any]:
    """(x, y) from an ``.npz`` file (see the module docstring)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    y = arrays.pop("y", None)
    names = [str(s.name) for s in getattr(model, "inputs", None) or []]
    if names and all(n in arrays for n in names):
        x: Any = {n: arrays[n] for n in names}
        return (x if len(names) > 1 else x[names[0]]), y
    if "x" in arrays:
        return arrays["x"], y
    ordered = [
        arrays[k] for k in sorted(arrays) if k.startswith("x") and k[1:].isdigit()
    ]
    if not ordered:
        ordered = [arrays[k] for k in sorted(arrays, key=lambda k: (len(k), k))]
    if not ordered:
        raise ValueError(f"--inputs: {path} holds no array")
    return (ordered[0] if len(ordered) == 1 else ordered), y


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m initcourse.check",
        description=(
            "Check the initialization of a saved Keras model on one batch "
            "(initcourse.diagnostics.layer_stats)."
        ),
    )
    parser.add_argument(
        "model",
        help="a saved model (.keras, or anything keras.models.load_model reads)",
    )
    parser.add_argument(
        "--input-shape",
        type=parse_shape,
        action="append",
        default=[],
        metavar="D1,D2,...",
        help="shape of one input without the batch axis (repeat for several inputs)",
    )
    parser.add_argument(
        "--inputs", metavar="BATCH.npz", help="read the batch (and y) from an .npz file"
    )
    parser.add_argument(
        "--batch", type=int, default=8, help="batch size of a drawn batch (default 8)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the drawn batch (default 0)"
    )
    parser.add_argument(
        "--vocab", type=int, default=None, help="id range of drawn integer inputs"
    )
    parser.add_argument(
        "--inference",
        action="store_true",
        help="run in inference mode (training=False)",
    )
    parser.add_argument(
        "--table", action="store_true", help="also print the per-layer table"
    )
    parser.add_argument(
        "--save-plot", metavar="FILE.png", help="save the diagnostics plot"
    )
    parser.add_argument(
        "--fail-on-finding",
        action="store_true",
        help="exit with status 1 if there is a finding",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch < 2:
        parser.error(f"--batch: expected an int >= 2, got {args.batch}")
    if args.inputs and args.input_shape:
        parser.error("give either --inputs or --input-shape, not both")
    if not os.path.exists(args.model):
        parser.error(f"model: no such file {args.model!r}")
    if args.inputs and not os.path.exists(args.inputs):
        parser.error(f"--inputs: no such file {args.inputs!r}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    import initcourse.keras_initializers  # noqa: F401  (registers the course's initializers)
    from initcourse.diagnostics import layer_stats

    try:
        try:
            model = keras.models.load_model(args.model)
        except (
            Exception
        ):  # a compiled loss or metric that does not load: the model is enough
            model = keras.models.load_model(args.model, compile=False)
    except Exception as err:
        parser.error(
            f"model: {args.model!r} does not load with keras.models.load_model ({err})"
        )
    try:
        if args.inputs:
            x, y = _read_npz(args.inputs, model)
        else:
            x, y = (
                synthetic_batch(
                    model, args.input_shape, args.batch, args.seed, args.vocab
                ),
                None,
            )
        stats = layer_stats(model, x, y, training=not args.inference)
    except (TypeError, ValueError) as err:
        print(f"initcourse.check: error: {err}", file=sys.stderr)
        return 2
    print(stats.summary())
    if args.table:
        print()
        print(stats.format())
    if args.save_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        axes = stats.plot()
        axes[0].figure.savefig(args.save_plot, dpi=100, bbox_inches="tight")
        plt.close(axes[0].figure)
        print(f"plot saved to {args.save_plot}")
    return 1 if args.fail_on_finding and stats.warnings() else 0


if __name__ == "__main__":
    sys.exit(main())
