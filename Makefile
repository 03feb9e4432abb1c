# initcourse: one command builds the book, one runs every test.
#   make book   -> creates .venv if missing, installs the pinned environment, builds _build/html
#   make test   -> same environment; unit tests, notebook hygiene, strict nbval, browser test, -W book build
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

.PHONY: help venv book test unit notebooks execute student timings clean

help:
	@echo "make book      build the website into _build/html (creates .venv first if missing)"
	@echo "make test      run every test: unit, notebook hygiene, nbval, browser, book build"
	@echo "make execute   re-execute every chapter and store its outputs (NB=path for one)"
	@echo "make student   write student versions of the notebooks to _build/student"
	@echo "make timings   time every chapter on a fresh kernel; writes book/timings.md"

$(STAMP): environment.yml pyproject.toml tools/pins.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version.split()[0])'
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
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks -q -p no:cacheprovider

test: $(STAMP)
	$(PY) -m pytest tests -q
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks -q -p no:cacheprovider

execute: $(STAMP)
	$(PY) tools/execute.py $(if $(NB),$(NB),--all)

student: $(STAMP)
	$(PY) tools/make_student.py --out _build/student

timings: $(STAMP)
	$(PY) tools/timings.py

clean:
	rm -rf _build
