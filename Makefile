# initcourse: one command builds the book, one runs every test.
#   make book   -> creates .venv if missing, installs the pinned environment, builds _build/html
#   make test   -> same environment; unit tests, notebook hygiene, strict nbval, browser test, -W book build
SHELL := /bin/bash
# A Python that TensorFlow 2.21 supports (3.10-3.13): python3 if it is one, else the newest
# python3.1x on PATH. Override with `make PYTHON=/path/to/python3.12 ...`.
SUPPORTED_PYTHONS := 3.10 3.11 3.12 3.13
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' \
  2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

# The second numerical configuration under which `make test` re-runs every chapter: another
# BLAS kernel family (OpenBLAS's Sandybridge kernels: AVX without FMA, unlike the Haswell/Zen
# and SkylakeX kernels that x86-64 machines pick by default), oneDNN off, and one thread on
# one core. Every assert and every compared output must hold under it too.
PERTURBED_ENV := OPENBLAS_CORETYPE=Sandybridge OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
  MKL_NUM_THREADS=1 TF_ENABLE_ONEDNN_OPTS=0 ONEDNN_MAX_CPU_ISA=AVX2 \
  TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
ONE_CORE := $(shell command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null && echo taskset -c 0)
NBVAL := -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -q -p no:cacheprovider

.PHONY: help venv book test unit notebooks notebooks-perturbed execute student autograder timings clean lab test-min python-check

help:
	@echo "make book      build the website into _build/html (creates .venv first if missing)"
	@echo "make test      run every test: unit, notebook hygiene, nbval, browser, book build"
	@echo "make execute   re-execute every chapter and store its outputs (NB=path for one)"
	@echo "make student   write student versions of the notebooks to _build/student"
	@echo "make autograder  write one Gradescope autograder zip per chapter to _build/autograder"
	@echo "make timings   time every chapter on a fresh kernel; writes book/timings.md"
	@echo "make lab       open the chapters in JupyterLab (same environment)"
	@echo "make test-min  install the lowest supported versions in .venv-min and run the tests"
	@echo "make notebooks-perturbed   strict nbval under the second numerical configuration"

python-check:
	@test -n "$(PYTHON)" || { echo "initcourse needs Python $(SUPPORTED_PYTHONS) (TensorFlow 2.21 has no wheel for other versions); none was found on PATH. Install one, or run make PYTHON=/path/to/python3.12"; exit 2; }
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 13) else "initcourse needs Python 3.10-3.13 (TensorFlow 2.21 has no wheel for others); $(PYTHON) is %d.%d. Run make PYTHON=/path/to/python3.12" % v)'

$(STAMP): environment.yml pyproject.toml tools/pins.py | python-check
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PYTHON) tools/pins.py environment.yml > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . --builder html -W -n --keep-going
	@echo "The website is in _build/html. Open file://$(CURDIR)/_build/html/index.html"

unit: $(STAMP)
	$(PY) -m pytest tests -q

notebooks: $(STAMP)
	$(PY) $(NBVAL) notebooks

notebooks-perturbed: $(STAMP)
	$(PERTURBED_ENV) $(ONE_CORE) $(PY) $(NBVAL) notebooks

test: $(STAMP)
	$(PY) -m pytest tests -q
	$(PY) $(NBVAL) notebooks
	$(PERTURBED_ENV) $(ONE_CORE) $(PY) $(NBVAL) notebooks

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks

# Lowest supported versions (pyproject.toml's lower bounds): unit tests, and the chapters
# executed without comparing outputs (other versions print other last digits).
test-min: python-check
	@test -x .venv-min/bin/python || $(PYTHON) -m venv .venv-min
	.venv-min/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) tools/pins.py --minimum pyproject.toml > .venv-min/requirements.txt
	.venv-min/bin/python -m pip install --quiet -r .venv-min/requirements.txt
	.venv-min/bin/python -m pip install --quiet --no-deps -e .
	.venv-min/bin/python -m pytest tests -q -m "not browser" --ignore=tests/test_book.py --ignore=tests/test_environment.py
	.venv-min/bin/python -m pytest --nbval-lax --nbval-current-env notebooks -q -p no:cacheprovider

execute: $(STAMP)
	$(PY) tools/execute.py $(if $(NB),$(NB),--all)

student: $(STAMP)
	$(PY) tools/make_student.py --out _build/student

autograder: $(STAMP)
	$(PY) tools/make_autograder.py --out _build/autograder

timings: $(STAMP)
	$(PY) tools/timings.py

clean:
	rm -rf _build
