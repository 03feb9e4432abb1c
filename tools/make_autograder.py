"""Write one Gradescope autograder zip per chapter (``make autograder``).

    python tools/make_autograder.py --out _build/autograder  # every chapter with points
    python tools/make_autograder.py --out _build/autograder 03_algorithm_steps
    python tools/make_autograder.py --timeout 180 --out _build/autograder 12_capstone

Each zip follows Gradescope's autograder contract
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): at its root
``setup.sh`` (run once when Gradescope builds the image: installs Python and the pinned
packages into ``/autograder/venv``) and ``run_autograder`` (run for every submission:
grades ``/autograder/submission/*.ipynb`` with ``python -m initcourse.grading`` and
writes ``/autograder/results/results.json``, one test per exercise with its score,
maximum and feedback). Beside them: ``requirements.txt`` (the course's pins, from
``environment.yml``), ``manifest.json`` (what the grader knows about the chapters, from
the instructor notebooks) and ``pkg/initcourse`` (a copy of the course package, put
first on ``PYTHONPATH``).

``run_autograder`` honours two variables so that it can be tried outside Gradescope:
``AUTOGRADER_ROOT`` (default ``/autograder``) and ``AUTOGRADER_PYTHON`` (default
``$AUTOGRADER_ROOT/venv/bin/python``). ``tests/test_grading.py`` runs it on a sample
submission in a temporary root.
"""

from __future__ import annotations

import argparse
import json
import stat
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from initcourse.grading.manifest import build_manifest  # noqa: E402

#: Packages of ``environment.yml`` the grader needs at run time (the rest builds the
#: book).
RUNTIME = (
    "numpy",
    "scipy",
    "pywavelets",
    "matplotlib",
    "scikit-learn",
    "keras",
    "tensorflow-cpu",
    "tensorflow",
    "nbformat",
    "ipykernel",
    "threadpoolctl",
    "cloudpickle",
)

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install -r /autograder/source/requirements.txt
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade the notebook, write \
results/results.json.
# Chapter {chapter}; time limit {timeout:g} s for the definitions and again for \
each exercise.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
SRC="$ROOT/source"
mkdir -p "$ROOT/results"
fail() {{
  "$PY" - "$ROOT/results/results.json" "$1" <<'EOF' || \
printf '{{"score": 0, "output": "the autograder could not run"}}' > \
"$ROOT/results/results.json"
import json, sys
json.dump({{"score": 0, "output": sys.argv[2], "tests": [], "visibility": "visible"}}, \
open(sys.argv[1], "w"))
EOF
  exit 0
}}
shopt -s nullglob
subs=("$ROOT"/submission/*.ipynb)
if [ ${{#subs[@]}} -eq 0 ]; then
  fail "No .ipynb file was submitted: upload the notebook {chapter}.ipynb \
(File > Download > .ipynb in Colab)."
fi
export PYTHONPATH="$SRC/pkg${{PYTHONPATH:+:$PYTHONPATH}}"
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0 MPLBACKEND=Agg
cd "$ROOT/results"
"$PY" -m initcourse.grading "${{subs[0]}}" --manifest "$SRC/manifest.json" \
--expect {chapter} \\
    --timeout {timeout:g} --gradescope "$ROOT/results/results.json" --quiet \\
  || fail "The grader stopped with an error; your instructor has been told. \
(exit code $?)"
if [ ${{#subs[@]}} -gt 1 ]; then
  "$PY" - "$ROOT/results/results.json" "${{#subs[@]}}" \
"$(basename "${{subs[0]}}")" <<'EOF'
import json, sys
path, n, first = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
r["output"] = f"{{n}} notebooks were submitted; only {{first}} was graded.\\n" + \
r.get("output", "")
json.dump(r, open(path, "w"))
EOF
fi
exit 0
"""


def runtime_requirements(environment: Path) -> list[str]:
    """The pinned lines of ``environment.yml`` for the packages the grader imports."""
    sys.path.insert(0, str(ROOT / "tools"))
    from pins import pip_requirements

    out = []
    for line in pip_requirements(environment.read_text(encoding="utf-8")):
        name = line.split("==")[0].split(";")[0].strip().lower()
        if name in RUNTIME:
            out.append(line)
    return out


def _package_files(root: Path) -> list[Path]:
    pkg = root / "initcourse"
    return sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)


def _add(z: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


def make_zip(
    chapter: str,
    manifest: dict,
    out: Path,
    *,
    timeout: float = 120.0,
    root: Path = ROOT,
) -> Path:
    """Write ``out/<chapter>.zip`` and return its path."""
    if chapter not in manifest["chapters"]:
        raise ValueError(
            f"chapter: unknown chapter {chapter!r}; known: "
            f"{', '.join(manifest['chapters'])}"
        )
    if timeout <= 0:
        raise ValueError(f"timeout: expected seconds > 0, got {timeout!r}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{chapter}.zip"
    with zipfile.ZipFile(path, "w") as z:
        _add(z, "setup.sh", SETUP_SH, executable=True)
        _add(
            z,
            "run_autograder",
            RUN_AUTOGRADER.format(chapter=chapter, timeout=timeout),
            executable=True,
        )
        _add(
            z,
            "requirements.txt",
            "\n".join(runtime_requirements(root / "environment.yml")) + "\n",
        )
        _add(z, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        for file in _package_files(root):
            _add(
                z,
                "pkg/" + file.relative_to(root).as_posix(),
                file.read_text(encoding="utf-8"),
            )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "chapters",
        nargs="*",
        help="chapter stems (default: every chapter with graded exercises)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "_build" / "autograder", help="output folder"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="the grader's --timeout (default 120 s)",
    )
    args = parser.parse_args(argv)
    manifest = build_manifest(ROOT / "notebooks")
    chapters = args.chapters or [
        c for c, e in manifest["chapters"].items() if e["exercises"]
    ]
    for chapter in chapters:
        try:
            path = make_zip(chapter, manifest, args.out, timeout=args.timeout)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        points = sum(e["points"] for e in manifest["chapters"][chapter]["exercises"])
        print(
            f"{path}  ({len(manifest['chapters'][chapter]['exercises'])} "
            f"exercises, {points:g} points)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
