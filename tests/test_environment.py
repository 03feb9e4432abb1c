"""The environment files agree with each other, and the commands the README promises
exist."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from pins import pip_requirements  # noqa: E402

# The pinned environment uses the CPU-only TensorFlow wheel (same API, no CUDA probing
# at import); pyproject.toml names the generic distribution so Colab's preinstalled
# TensorFlow satisfies it.
EQUIVALENT = {"tensorflow-cpu": "tensorflow"}


def norm(name: str) -> str:
    name = re.split(r"[<>=!~;\[ @]", name.strip(), maxsplit=1)[0]
    name = re.sub(r"[-_.]+", "-", name).lower()
    return EQUIVALENT.get(name, name)


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def env_pins() -> list[str]:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    return [r for r in pip_requirements(text) if r != "-e ."]


def test_environment_names_the_same_packages_as_pyproject():
    proj = pyproject()["project"]
    declared = {norm(d) for d in proj["dependencies"]}
    for extra in proj["optional-dependencies"].values():
        declared |= {norm(d) for d in extra}
    pinned = {norm(p) for p in env_pins()}
    assert declared == pinned, (
        f"only in pyproject.toml: {sorted(declared - pinned)}; only in "
        f"environment.yml: {sorted(pinned - declared)}"
    )


def test_environment_pins_exactly():
    loose = [p for p in env_pins() if "==" not in p]
    assert not loose, f"environment.yml must pin exact versions: {loose}"
    assert "-e ." in pip_requirements((ROOT / "environment.yml").read_text()), (
        "environment.yml must install the package"
    )


def test_runtime_dependencies_are_lower_bounds_only():
    proj = pyproject()["project"]
    for dep in proj["dependencies"] + proj["optional-dependencies"]["keras"]:
        assert "==" not in dep and "<" not in dep, (
            f"runtime dependency {dep!r} must be a lower bound only"
        )
        assert ">=" in dep, f"runtime dependency {dep!r} needs a lower bound"


def test_jupyter_book_1_is_pinned():
    pins = {norm(p): p for p in env_pins()}
    assert pins["jupyter-book"] == "jupyter-book==1.0.4.post1", (
        "Jupyter Book 2 cannot build offline"
    )


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no command block"
    first_cmds = [
        line.split("#")[0].strip()
        for line in blocks[0].splitlines()
        if line.split("#")[0].strip()
    ]
    assert first_cmds[:2] == ["make book", "make test"], (
        f"README's first commands are {first_cmds[:2]}"
    )


def test_makefile_targets_and_ci():
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("book:", "test:", "execute:", "student:", "timings:"):
        assert re.search(rf"^{target}", mk, flags=re.M), f"Makefile lacks {target}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M), (
        ".ci/run must run the README's test command"
    )


# --- the pinned set installs where readers are
# --------------------------------------------

SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PLATFORMS = {
    "Linux x86-64": "x86_64-manylinux_2_28",
    "macOS arm64": "aarch64-apple-darwin",
    "Windows amd64": "x86_64-pc-windows-msvc",
}


def _uv() -> str:
    import shutil

    exe = Path(sys.executable).with_name("uv")
    found = str(exe) if exe.exists() else shutil.which("uv")
    assert found, (
        "uv is not installed: it is pinned in environment.yml (`make venv` installs it)"
    )
    return found


def test_pins_resolve_to_wheels_on_every_platform(tmp_path):
    """`uv pip compile --python-platform P --python-version V --only-binary :all:`
    evaluates the markers of environment.yml for each target and finds a wheel for every
    package. The 12 resolutions run concurrently (network: PyPI only)."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    reqs = tmp_path / "requirements.txt"
    reqs.write_text("\n".join(env_pins()) + "\n", encoding="utf-8")
    uv = _uv()

    def resolve(
        target: tuple[str, str],
    ) -> tuple[str, str, subprocess.CompletedProcess]:
        platform, python = target
        cmd = [
            uv,
            "pip",
            "compile",
            str(reqs),
            "--python-version",
            python,
            "--python-platform",
            PLATFORMS[platform],
            "--only-binary",
            ":all:",
            "--no-header",
            "--no-annotate",
            "-q",
        ]
        return (
            platform,
            python,
            subprocess.run(cmd, capture_output=True, text=True, timeout=600),
        )

    targets = [(p, v) for p in PLATFORMS for v in SUPPORTED_PYTHONS]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        results = list(pool.map(resolve, targets))
    failures = []
    for platform, python, done in results:
        if done.returncode != 0:
            if re.search(
                r"(?i)failed to fetch|error sending request|dns|connect", done.stderr
            ):
                pytest.fail(
                    "could not reach the package index to resolve the pins for "
                    f"{platform}, Python {python}; this test needs PyPI. uv "
                    f"said:\n{done.stderr[-1500:]}"
                )
            failures.append(f"{platform}, Python {python}:\n{done.stderr[-2000:]}")
            continue
        resolved = {norm(line) for line in done.stdout.splitlines() if "==" in line}
        if not {"tensorflow", "keras", "numpy"} <= resolved:
            failures.append(
                f"{platform}, Python {python}: resolved without tensorflow/keras/numpy"
            )
    listed = "\n".join(failures)
    assert not failures, f"the pins do not resolve to wheels for:\n{listed}"


def test_tensorflow_wheel_is_chosen_per_platform():
    tf = [p for p in env_pins() if norm(p) == "tensorflow"]
    assert any(p.startswith("tensorflow-cpu==") and "win32" in p for p in tf), tf
    assert any(p.startswith("tensorflow==") and "darwin" in p for p in tf), tf


def test_every_pin_applies_to_each_supported_python_exactly_once():
    from packaging.markers import Marker

    for python in SUPPORTED_PYTHONS:
        for sys_platform, machine in (
            ("linux", "x86_64"),
            ("darwin", "arm64"),
            ("win32", "AMD64"),
        ):
            env = {
                "python_version": python,
                "sys_platform": sys_platform,
                "platform_machine": machine,
            }
            seen: dict[str, int] = {}
            for pin in env_pins():
                marker = pin.split(";", 1)[1] if ";" in pin else None
                if marker is None or Marker(marker).evaluate(env):
                    seen[norm(pin)] = seen.get(norm(pin), 0) + 1
            twice = [name for name, n in seen.items() if n != 1]
            assert not twice, (
                f"Python {python} on {sys_platform}: pinned more than once: {twice}"
            )
            assert "tensorflow" in seen and "numpy" in seen


def test_license_is_an_spdx_string():
    # setuptools stops accepting the table form in February 2027 (it would break
    # `pip install git+...`)
    assert isinstance(pyproject()["project"]["license"], str)


def test_makefile_offers_lab_min_and_perturbed_runs():
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("lab:", "test-min:", "notebooks-perturbed:"):
        assert re.search(rf"^{target}", mk, flags=re.M), f"Makefile lacks {target}"
    test_recipe = re.search(r"^test:.*?\n((?:\t.*\n)+)", mk, flags=re.M).group(1)
    assert "$(PERTURBED_ENV)" in test_recipe, (
        "make test must re-run the notebooks under PERTURBED_ENV"
    )
    perturbed = re.search(
        r"^PERTURBED_ENV := (.*?)(?<!\\)\n", mk, flags=re.M | re.S
    ).group(1)
    for var in ("OPENBLAS_CORETYPE", "TF_ENABLE_ONEDNN_OPTS=0", "OMP_NUM_THREADS=1"):
        assert var in perturbed, f"PERTURBED_ENV lacks {var}"


def test_make_refuses_an_unsupported_python():
    import subprocess

    # PYTHON= stands for "no supported interpreter on PATH"
    done = subprocess.run(
        ["make", "-s", "python-check", "PYTHON="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "3.10" in done.stdout + done.stderr and "3.13" in done.stdout + done.stderr
    done = subprocess.run(
        ["make", "-s", "python-check", "PYTHON=" + sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
