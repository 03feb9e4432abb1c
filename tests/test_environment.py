"""The environment files agree with each other, and the commands the README promises exist."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from pins import pip_requirements  # noqa: E402

# The pinned environment uses the CPU-only TensorFlow wheel (same API, no CUDA probing at import);
# pyproject.toml names the generic distribution so Colab's preinstalled TensorFlow satisfies it.
EQUIVALENT = {"tensorflow-cpu": "tensorflow"}


def norm(name: str) -> str:
    name = re.split(r"[<>=!~;\[ @]", name.strip(), maxsplit=1)[0]
    name = re.sub(r"[-_.]+", "-", name).lower()
    return EQUIVALENT.get(name, name)


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def env_pins() -> list[str]:
    return [r for r in pip_requirements((ROOT / "environment.yml").read_text(encoding="utf-8")) if r != "-e ."]


def test_environment_names_the_same_packages_as_pyproject():
    proj = pyproject()["project"]
    declared = {norm(d) for d in proj["dependencies"]}
    for extra in proj["optional-dependencies"].values():
        declared |= {norm(d) for d in extra}
    pinned = {norm(p) for p in env_pins()}
    assert declared == pinned, (
        f"only in pyproject.toml: {sorted(declared - pinned)}; only in environment.yml: {sorted(pinned - declared)}"
    )


def test_environment_pins_exactly():
    loose = [p for p in env_pins() if "==" not in p]
    assert not loose, f"environment.yml must pin exact versions: {loose}"
    assert "-e ." in pip_requirements((ROOT / "environment.yml").read_text()), "environment.yml must install the package"


def test_runtime_dependencies_are_lower_bounds_only():
    proj = pyproject()["project"]
    for dep in proj["dependencies"] + proj["optional-dependencies"]["keras"]:
        assert "==" not in dep and "<" not in dep, f"runtime dependency {dep!r} must be a lower bound only"
        assert ">=" in dep, f"runtime dependency {dep!r} needs a lower bound"


def test_jupyter_book_1_is_pinned():
    pins = {norm(p): p for p in env_pins()}
    assert pins["jupyter-book"] == "jupyter-book==1.0.4.post1", "Jupyter Book 2 cannot build offline"


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no command block"
    first_cmds = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.split("#")[0].strip()]
    assert first_cmds[:2] == ["make book", "make test"], f"README's first commands are {first_cmds[:2]}"


def test_makefile_targets_and_ci():
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("book:", "test:", "execute:", "student:", "timings:"):
        assert re.search(rf"^{target}", mk, flags=re.M), f"Makefile lacks {target}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M), ".ci/run must run the README's test command"
