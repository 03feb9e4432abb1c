"""The batch grader (``python -m initcourse.grading``) and the Gradescope autograder
zips.

Submissions are made here from the student versions of the real chapters
(``make_student``): correct, partly right, tampered with (checkers rebound, made-up
reports and histories), calling the course's own implementation, syntactically broken,
too slow, unreadable, and renamed. The grader must give each its row and feedback file
without stopping, recognise the chapter from the content, and recompute everything from
the student's functions.
"""

from __future__ import annotations

import ast
import copy
import csv
import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from make_student import make_student_notebook  # noqa: E402

from initcourse.exercises import CHECKERS  # noqa: E402
from initcourse.grading import build_manifest, grade_submission, identify_chapter  # noqa: E402
from initcourse.grading.manifest import SPECIAL_CHECKERS  # noqa: E402
from initcourse.grading.sandbox import (  # noqa: E402
    Described,
    RemoteFunction,
    SafeUnpickler,
    Sandbox,
    SandboxDied,
    SandboxTimeout,
)

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def manifest():
    return build_manifest(ROOT / "notebooks")


def solutions(stem: str) -> dict[str, str]:
    """Function name -> the instructor's solution cell that defines it."""
    nb = nbformat.read(str(ROOT / "notebooks" / f"{stem}.ipynb"), as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            try:
                names = [
                    n.name
                    for n in ast.parse(cell.source).body
                    if isinstance(n, ast.FunctionDef)
                ]
            except SyntaxError:
                continue
            out.update({n: cell.source for n in names})
    return out


def submission(stem: str, edit=None, extra: tuple = (), drop_metadata: bool = False):
    """The student notebook of ``stem`` with each stub replaced by ``edit(name,
    stub_source)``."""
    nb = make_student_notebook(ROOT / "notebooks" / f"{stem}.ipynb")
    for cell in nb.cells:
        if "stub" in cell.metadata.get("tags", []) and edit is not None:
            name = [
                n.name
                for n in ast.parse(cell.source).body
                if isinstance(n, ast.FunctionDef)
            ][0]
            cell.source = edit(name, cell.source)
    for source in extra:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    if drop_metadata:
        nb.metadata.pop("initcourse", None)
    return nb


# --------------------------------------------------------------------------------------
# Manifest and chapter recognition
# --------------------------------------------------------------------------------------
def test_manifest_lists_every_implementation_exercise_with_points(manifest):
    chapters = manifest["chapters"]
    assert len(chapters) == len(list((ROOT / "notebooks").glob("[0-9]*.ipynb")))
    for stem, entry in chapters.items():
        sol = solutions(stem)
        for ex in entry["exercises"]:
            assert ex["function"] in sol, (stem, ex)
            assert (
                ex["checker"] in SPECIAL_CHECKERS
                or ex["checker"][len("check_") :] in CHECKERS
            ), (stem, ex)
            assert ex["points"] > 0
        graded = {ex["function"] for ex in entry["exercises"]}
        assert graded <= set(sol)
        # every exercise that asks the student to write a function is graded
        nb = nbformat.read(str(ROOT / "notebooks" / f"{stem}.ipynb"), as_version=4)
        asked = {
            m
            for c in nb.cells
            if c.cell_type == "markdown" and "{exercise}" in c.source
            for m in re.findall(r"Write `(\w+)\(", c.source)
        }
        assert asked & set(sol) <= graded, (
            f"{stem}: exercises asking for {asked & set(sol) - graded} carry no points"
        )
    capstone = chapters["12_capstone"]
    assert [(e["function"], e["points"]) for e in capstone["exercises"]] == [
        ("choose_initializers", 4.0),
        ("init_report", 3.0),
        ("train_capstone", 3.0),
    ]
    assert (
        json.loads(json.dumps(manifest)) == manifest
    )  # plain JSON, shipped in the zips


def test_chapter_is_recognised_from_the_content_not_the_name(manifest):
    ch03 = submission("03_algorithm_steps", drop_metadata=True)
    assert identify_chapter(ch03, manifest)[0] == "03_algorithm_steps"
    lying = copy.deepcopy(ch03)
    lying.metadata["initcourse"] = {
        "chapter": "01_background"
    }  # content wins over metadata
    assert identify_chapter(lying, manifest)[0] == "03_algorithm_steps"
    honest = submission("01_background")
    stem, how = identify_chapter(honest, manifest)
    assert stem == "01_background" and "metadata" in how
    empty = nbformat.v4.new_notebook()
    assert identify_chapter(empty, manifest)[0] is None


# --------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------
def test_safe_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refused to unpickle"):
        SafeUnpickler(io.BytesIO(pickle.dumps(Evil()))).load()
    value = {
        "a": np.arange(3.0, dtype=np.float32),
        "b": [1, 2.5, "x"],
        "c": Described("HeNormal", {"scale": 2.0}),
    }
    back = SafeUnpickler(io.BytesIO(pickle.dumps(value))).load()
    assert np.array_equal(back["a"], value["a"]) and back["a"].dtype == np.float32
    assert back["c"].scale == 2.0 and back["c"].class_name == "HeNormal"


def test_sandbox_calls_functions_in_another_process():
    code = [
        (0, "import numpy as np\nimport os"),
        (
            1,
            "def ok(shape, rng):\n    return rng.normal(size=shape).astype(np.float32)",
        ),
        (2, "def bad(x):\n    raise ValueError(f'bad {x}')"),
        (3, "def pid():\n    return os.getpid()"),
        (4, "def slow():\n    while True:\n        pass"),
        (5, "def die():\n    os._exit(3)"),
        (
            6,
            "import initcourse.initializers as I\ndef course(shape, "
            "rng):\n    return I.he_normal(shape, rng=rng)",
        ),
        (7, "def broken(:\n    pass"),
        (
            8,
            "class Init:\n    scale, mode, distribution = 2.0, 'fan_in', "
            "'truncated_normal'\n\ndef obj():\n    return Init()",
        ),
    ]
    with Sandbox() as box:
        loaded = box.load("", code, timeout=60)
        assert {"ok", "bad", "pid", "course", "obj"} <= set(loaded["defined"])
        assert [e["cell"] for e in loaded["errors"]] == [7]
        w = RemoteFunction(box, "ok", 30)((3, 2), np.random.default_rng(0))
        assert w.shape == (3, 2) and w.dtype == np.float32
        assert np.array_equal(
            w, np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
        )
        with pytest.raises(ValueError, match="bad 7"):
            RemoteFunction(box, "bad", 30)(7)
        assert RemoteFunction(box, "pid", 30)() != os.getpid()
        course = RemoteFunction(box, "course", 30)
        course((4, 4), np.random.default_rng(0))
        assert "initcourse.initializers.he_normal" in course.course_calls
        described = RemoteFunction(box, "obj", 30)()
        assert (
            type(described).__name__ == "Described"
            and described.class_name == "Init"
            and described.scale == 2.0
        )
        with pytest.raises(SandboxTimeout):
            RemoteFunction(box, "slow", 2)()
        assert box.proc.poll() is not None  # stopped
    with Sandbox() as box:
        box.load("", code, timeout=60)
        with pytest.raises(SandboxDied):
            RemoteFunction(box, "die", 30)()


# --------------------------------------------------------------------------------------
# A batch of chapter 1 submissions through the command line
# --------------------------------------------------------------------------------------
def _ch01_batch(folder: Path) -> dict[str, Path]:
    sol = solutions("01_background")
    correct = lambda n, s: sol[n]  # noqa: E731

    def lecun(n, s):
        return (
            sol[n].replace("2.0 / fan_in", "1.0 / fan_in")
            if n == "he_normal"
            else sol[n]
        )

    def no_last_act(n, s):
        return (
            (
                "import numpy as np\n\ndef forward_std(depth, width, init_std, "
                "activation, rng):\n    act = {'linear': lambda z: z, 'relu': "
                "lambda z: np.maximum(z, 0), 'tanh': np.tanh}[activation]\n    x "
                "= rng.standard_normal((256, width))\n    out = []\n    for "
                "layer in range(depth):\n        h = x @ rng.normal(0, init_std, "
                "size=(width, width))\n        x = act(h) if layer < depth - 1 "
                "else h\n        out.append(x.std())\n    return np.array(out)\n"
            )
            if n == "forward_std"
            else sol[n]
        )

    def course(n, s):
        return (
            (
                "from initcourse.initializers import he_normal as course_he_normal\n\n"
                "def he_normal(shape, rng):\n"
                "    return course_he_normal(shape, rng=rng)\n"
            )
            if n == "he_normal"
            else sol[n]
        )

    def broken(n, s):
        return (
            sol[n].replace("def forward_std(depth", "def forward_std(depth,,")
            if n == "forward_std"
            else sol[n]
        )

    def slow(n, s):
        return (
            "def forward_std(depth, width, init_std, activation, rng):\n    "
            "while True:\n        pass\n"
            if n == "forward_std"
            else sol[n]
        )

    def wrong(n, s):
        return (
            "import numpy as np\n\ndef he_normal(shape, rng):\n    return "
            "np.zeros(shape, np.float32)\n"
            if n == "he_normal"
            else s
        )

    tamper = (
        "import initcourse.exercises as E\ndef check_he_normal(fn):\n    "
        "print('✓ he_normal: all correct')\nE.check_he_normal = "
        "check_he_normal\nE.CHECKERS['he_normal'] = "
        "check_he_normal\nE.CHECKERS['forward_std'] = check_he_normal\ndef "
        "grade(*args, **kwargs):\n    return 10\n"
    )
    made = {
        "correct": submission("01_background", correct),
        "partial_lecun": submission("01_background", lecun),
        "no_last_activation": submission("01_background", no_last_act),
        "course_implementation": submission("01_background", course),
        "syntax_error": submission("01_background", broken),
        "slow": submission("01_background", slow),
        "tampered": submission("01_background", wrong, extra=(tamper,)),
        "untouched": submission("01_background"),
        "renamed_no_metadata": submission("01_background", correct, drop_metadata=True),
    }
    paths = {}
    for name, nb in made.items():
        path = folder / (
            f"{name}.ipynb"
            if name != "renamed_no_metadata"
            else "homework_final_v2.ipynb"
        )
        nbformat.write(nb, str(path))
        paths[name] = path
    paths["unreadable"] = folder / "unreadable.ipynb"
    paths["unreadable"].write_text('{"cells": [ this is not json', encoding="utf-8")
    return paths


def test_batch_of_chapter_1_submissions(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    paths = _ch01_batch(subs)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "initcourse.grading",
            *map(str, paths.values()),
            "--csv",
            str(tmp_path / "grades.csv"),
            "--feedback",
            str(tmp_path / "feedback"),
            "--timeout",
            "6",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {
        r["submission"]: r
        for r in csv.DictReader(open(tmp_path / "grades.csv", encoding="utf-8"))
    }
    header = next(csv.reader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert header[:2] == ["submission", "chapter"] and header[-4:] == [
        "total",
        "max",
        "status",
        "seconds",
    ]
    assert {"ex-ch01-forward-std", "ex-ch01-he-normal"} <= set(header)
    assert len(rows) == len(paths)  # one row each, nothing stopped the batch

    def row(name):
        return rows[paths[name].name]

    assert (
        row("correct")["total"],
        row("correct")["max"],
        row("correct")["status"],
    ) == ("2.00", "2.00", "graded")
    assert (
        row("renamed_no_metadata")["chapter"] == "01_background"
        and row("renamed_no_metadata")["total"] == "2.00"
    )
    assert (
        0 < float(row("partial_lecun")["ex-ch01-he-normal"]) < 1
        and row("partial_lecun")["ex-ch01-forward-std"] == "1.00"
    )
    assert row("no_last_activation")["ex-ch01-forward-std"] != "1.00"
    assert row("course_implementation")["ex-ch01-he-normal"] == "0.00"
    assert (
        row("syntax_error")["ex-ch01-forward-std"],
        row("syntax_error")["ex-ch01-he-normal"],
    ) == ("0.00", "1.00")
    assert row("syntax_error")["status"] == "errors"
    assert (
        row("slow")["ex-ch01-forward-std"],
        row("slow")["ex-ch01-he-normal"],
        row("slow")["status"],
    ) == ("0.00", "1.00", "timeout")
    assert (
        float(row("tampered")["total"]) < 1
    )  # rebinding checkers in the notebook changes nothing
    assert row("untouched")["total"] == "0.00"
    assert (row("unreadable")["status"], row("unreadable")["chapter"]) == (
        "unreadable",
        "",
    )

    feedback = {
        p.stem: p.read_text(encoding="utf-8")
        for p in (tmp_path / "feedback").glob("*.txt")
    }
    assert len(feedback) == len(paths)
    assert "the course's own implementation" in feedback["course_implementation"]
    assert (
        "does not parse" in feedback["syntax_error"]
        and "time limit" in feedback["slow"]
    )
    assert "last layer" in feedback["no_last_activation"]
    assert "forget the ReLU factor 2" in feedback["partial_lecun"]
    assert "not a readable Jupyter notebook" in feedback["unreadable"]
    assert "graded in" not in out.stderr


def test_another_chapter_under_expect_gets_zero(tmp_path, manifest):
    nb = submission("03_algorithm_steps")
    path = tmp_path / "01_background.ipynb"  # the right name, the wrong chapter
    nbformat.write(nb, str(path))
    r = grade_submission(path, manifest, timeout=30, expect="01_background")
    assert (r.status, r.chapter, r.total, r.max) == (
        "wrong-chapter",
        "03_algorithm_steps",
        0.0,
        2.0,
    )


# --------------------------------------------------------------------------------------
# The capstone through the grader: tampering and made-up numbers earn nothing
# --------------------------------------------------------------------------------------
def test_capstone_tampering_and_made_up_numbers(tmp_path, manifest):
    sol = solutions("12_capstone")
    zeros_and_grade = submission(
        "12_capstone",
        lambda n, s: (
            (
                "def choose_initializers(block_activations):\n    return {r: "
                "'zeros' for r in ['embed', 'residual_out', 'head', "
                "*block_activations]}\n"
            )
            if n == "choose_initializers"
            else s
        ),
        extra=(
            "def grade(*args, **kwargs):\n    print('Total 10.00 / "
            "10')\nimport initcourse.grading.capstone as "
            "C\nC.check_choose_initializers = lambda fn: None\n",
        ),
    )
    made_up = submission(
        "12_capstone",
        lambda n, s: {
            "choose_initializers": (
                "import keras\n\ndef "
                "choose_initializers(block_activations):\n    per = {'relu': "
                "'kaiming_normal', 'tanh': 'xavier_normal', 'selu': "
                "keras.initializers.Orthogonal()}\n    out = {'embed': "
                "'lecun_uniform', 'residual_out': "
                "keras.initializers.Zeros(), 'head': 'xavier_uniform'}\n    "
                "out.update({a: per[a] for a in block_activations})\n    "
                "return out\n"
            ),
            "init_report": (
                "def init_report(model, x):\n    return {l.name: 1.0 for l "
                "in model.layers\n            if getattr(l, 'activation', "
                "None) is not None and l.activation.__name__ != 'linear'}\n"
            ),
            "train_capstone": (
                "from initcourse.training import History\n\ndef "
                "train_capstone(model, data, steps):\n    return "
                "History(steps=[200], loss=[0.0], accuracy=[1.0], "
                "test_loss=[0.0], test_accuracy=[1.0])\n"
            ),
        }[n],
    )
    results = {}
    for name, nb in (("zeros_and_grade", zeros_and_grade), ("made_up", made_up)):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        results[name] = grade_submission(path, manifest, timeout=120)
    points = {k: [i.points for i in r.items] for k, r in results.items()}
    # all zeros: only residual_out (1.5) and head (0.25) are right; (b), (c) untouched
    assert points["zeros_and_grade"] == [1.75, 0.0, 0.0]
    # PyTorch names, orthogonal SELU and uniform LeCun are right; the made-up report and
    # history earn nothing
    assert points["made_up"] == [4.0, 0.0, 0.0]
    made_up_text = "\n".join(i.message for i in results["made_up"].items)
    assert "you report 1, the std of its output measured" in made_up_text
    assert (
        "weights did not change" in made_up_text
        and "history does not describe this training" in made_up_text
    )
    assert sol  # the model solutions exist


# --------------------------------------------------------------------------------------
# Gradescope
# --------------------------------------------------------------------------------------
def test_gradescope_zip_runs_locally(tmp_path):
    import make_autograder

    zip_path = make_autograder.make_zip(
        "01_background",
        build_manifest(ROOT / "notebooks"),
        tmp_path / "zips",
        timeout=30,
    )
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        assert {
            "setup.sh",
            "run_autograder",
            "requirements.txt",
            "manifest.json",
            "pkg/initcourse/grading/cli.py",
        } <= names
        assert z.getinfo("run_autograder").external_attr >> 16 & 0o111  # executable
        requirements = z.read("requirements.txt").decode()
        assert "numpy==" in requirements and "jupyter-book" not in requirements
        root = tmp_path / "autograder"
        z.extractall(root / "source")
    (root / "submission").mkdir()
    env = {**ENV, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}

    def run():
        return subprocess.run(
            ["bash", str(root / "source" / "run_autograder")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    # no notebook submitted: a clear message, score 0
    assert run().returncode == 0
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 0 and "No .ipynb file" in result["output"]
    # a partly right notebook: one test per exercise with its score and feedback
    sol = solutions("01_background")
    nb = submission(
        "01_background",
        lambda n, s: (
            sol[n].replace("2.0 / fan_in", "1.0 / fan_in")
            if n == "he_normal"
            else sol[n]
        ),
    )
    nbformat.write(nb, str(root / "submission" / "my notebook.ipynb"))
    done = run()
    assert done.returncode == 0, done.stderr
    result = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in result["tests"]}
    assert set(tests) == {
        "Simulate the forward signal (forward_std)",
        "He initialization in NumPy (he_normal)",
    }
    assert tests["Simulate the forward signal (forward_std)"]["score"] == 1.0
    assert 0 < tests["He initialization in NumPy (he_normal)"]["score"] < 1
    assert (
        "forget the ReLU factor 2"
        in tests["He initialization in NumPy (he_normal)"]["output"]
    )
    assert result["score"] == pytest.approx(sum(t["score"] for t in result["tests"]))
    # another chapter's notebook under this chapter's zip: 0, and it says why
    (root / "submission" / "my notebook.ipynb").unlink()
    nbformat.write(
        submission("02_core_concepts"), str(root / "submission" / "01_background.ipynb")
    )
    assert run().returncode == 0
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 0 and "02_core_concepts" in result["output"]


# --------------------------------------------------------------------------------------
# The capstone's model answer earns every point in every setting the assignment allows
# (slow)
# --------------------------------------------------------------------------------------
@pytest.mark.expensive
def test_capstone_model_answer_full_marks_in_every_allowed_setting():
    """Every allowed optimizer at the ends and the middle of its learning-rate range,
    batch sizes 32 and 128, seeds 0-4: (c) earns 3 of 3 with the model answer's
    initialization, and the comparison with the tuned default passes for every optimizer
    and batch size 32, 64, 128."""
    from initcourse.exercises.capstone import grade_training_facts
    from initcourse.grading import capstone as cap
    from initcourse.training import train

    effective = cap.model_answer_effective()
    weights = cap.build_capstone(effective).get_weights()
    compared = {
        (opt, bs): cap.compare_with_default(effective, opt, bs)
        for opt in cap.ALLOWED_SETTINGS["optimizer"]
        for bs in (32, 64, 128)
    }
    for (opt, bs), c in compared.items():
        assert c["chosen"] >= c["default"] - 0.02, (opt, bs, c)
    for opt, (low, high) in cap.ALLOWED_SETTINGS["optimizer"].items():
        for lr in (low, float(np.sqrt(low * high)), high):
            for bs in (32, 128):
                for seed in range(5):

                    def train_capstone(
                        model, data, steps, _o=opt, _l=lr, _b=bs, _s=seed
                    ):
                        return train(
                            model,
                            data,
                            steps=steps,
                            optimizer=_o,
                            learning_rate=_l,
                            batch_size=_b,
                            seed=_s,
                        )

                    result = cap.run_training(
                        train_capstone,
                        effective,
                        weights,
                        cap.BUDGET,
                        [{"optimizer": opt, "batch_size": bs}],
                    )
                    facts = cap.training_facts(result, effective, compare=False)
                    facts.compared = compared[(opt, bs)]
                    verdict = grade_training_facts(
                        facts, budget=cap.BUDGET, threshold=cap.THRESHOLD
                    )
                    assert verdict.points == 3.0, (opt, lr, bs, seed, facts.accuracy)
