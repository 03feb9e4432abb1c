"""The command line of the batch grader (``python -m initcourse.grading --help``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .grade import (
    feedback_text,
    grade_batch,
    gradescope_results,
    write_csv,
    write_feedback,
)
from .manifest import load_manifest


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m initcourse.grading",
        description=(
            "Grade submitted notebooks outside the student's kernel: one CSV row "
            "and one feedback file each."
        ),
    )
    p.add_argument(
        "submissions",
        nargs="*",
        type=Path,
        help="submitted notebooks (.ipynb); folders are searched for *.ipynb",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the graded exercises of every chapter and exit",
    )
    p.add_argument(
        "--csv", type=Path, help="write the grades here (one row per submission)"
    )
    p.add_argument(
        "--feedback",
        type=Path,
        help="write one feedback file per submission into this folder",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="time limit in seconds for running a submission's definitions, and "
        "again for each exercise's checks (default 120)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="submissions graded at the same time (default 1)",
    )
    p.add_argument(
        "--expect",
        help="the chapter assigned (e.g. 03_algorithm_steps): another chapter's "
        "notebook gets 0",
    )
    p.add_argument(
        "--manifest",
        type=Path,
        help="the chapters' manifest (default: built from the repository's notebooks/)",
    )
    p.add_argument(
        "--gradescope",
        type=Path,
        help="write Gradescope's results.json for the (single) submission here",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        manifest = load_manifest(args.manifest)
        for stem, entry in manifest["chapters"].items():
            total = sum(e["points"] for e in entry["exercises"])
            print(
                f"{stem}  {entry['title']}  ({total:g} points, "
                f"{len(entry['written'])} written/exploration)"
            )
            for e in entry["exercises"]:
                print(
                    f"    {e['label']:<28} {e['function'] + '()':<24} "
                    f"{e['checker']:<28} {e['points']:g}"
                )
        return 0
    if not args.submissions:
        parser.error("give at least one submission (or --list)")
    if args.timeout <= 0:
        print(
            f"--timeout: expected a number of seconds > 0, got {args.timeout}",
            file=sys.stderr,
        )
        return 2
    if args.jobs < 1:
        print(f"--jobs: expected an int >= 1, got {args.jobs}", file=sys.stderr)
        return 2
    paths: list[Path] = []
    for p in args.submissions:
        if p.is_dir():
            paths += sorted(p.rglob("*.ipynb"))
        elif p.exists():
            paths.append(p)
        else:
            print(f"submission: no such file {p}", file=sys.stderr)
            return 2
    if not paths:
        print("submissions: no .ipynb file found", file=sys.stderr)
        return 2
    if args.gradescope and len(paths) != 1:
        print(
            f"--gradescope: expected exactly one submission, got {len(paths)}",
            file=sys.stderr,
        )
        return 2
    manifest = load_manifest(args.manifest)
    if args.expect and args.expect not in manifest["chapters"]:
        print(
            f"--expect: unknown chapter {args.expect!r}; known: "
            f"{', '.join(manifest['chapters'])}",
            file=sys.stderr,
        )
        return 2
    start = time.monotonic()

    def progress(r) -> None:
        if not args.quiet:
            print(
                f"{r.submission}: {r.chapter or '?'} "
                f"{r.total:.2f}/{r.max:.2f} {r.status} ({r.seconds:.1f} s)",
                flush=True,
            )

    results = grade_batch(
        paths,
        manifest,
        timeout=args.timeout,
        jobs=args.jobs,
        expect=args.expect,
        progress=progress,
    )
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        write_csv(results, args.csv, manifest)
    if args.feedback:
        write_feedback(results, args.feedback)
    if args.gradescope:
        args.gradescope.parent.mkdir(parents=True, exist_ok=True)
        args.gradescope.write_text(
            json.dumps(gradescope_results(results[0]), indent=1), encoding="utf-8"
        )
    if not (args.csv or args.feedback or args.gradescope):
        for r in results:
            print(feedback_text(r))
    if not args.quiet:
        n = len(results)
        took = time.monotonic() - start
        print(f"graded {n} submission(s) in {took:.1f} s ({took / n:.1f} s each)")
    return 0
