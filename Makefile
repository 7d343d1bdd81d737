# Two commands for people: `make lab` (set up and open the course) and `make test` (set up and test everything).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JUPYTER_PORT ?= 8888
PYTEST := $(BIN)/python -m pytest
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: lab test lint book test-unit test-notebooks test-browser execute sweep bench sync freeze browser-deps clean

# The learner's environment: created if missing, re-synced whenever the pins or the package change
# (pip shows its progress: a first install downloads about a gigabyte).
$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The maintainer's tools on top: tests, lint, the website builder, the browser tests.
DEV := $(BIN)/.dev-installed
$(DEV): $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

lab: $(BIN)/.installed
	$(BIN)/jupyter lab --no-browser --port=$(JUPYTER_PORT) --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(DEV) browser-deps
	$(MAKE) --no-print-directory lint test-unit test-notebooks test-browser

# ruff at 88 columns (pyproject.toml): the code must fit a projector and a book page.
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-unit: $(DEV) $(VENV)/ipywidgets7
	$(PYTEST) -q tests --ignore=tests/browser --ignore=tests/test_notebooks.py
	@echo "The widget base again, on Colab's ipywidgets 7.7.1:"
	PYTHONPATH=$(VENV)/ipywidgets7 $(BIN)/python -c "import ipywidgets; assert ipywidgets.__version__ == '7.7.1'"
	PYTHONPATH=$(VENV)/ipywidgets7 $(PYTEST) -q -W ignore::DeprecationWarning tests/test_widgets_and_plots.py

# Colab ships ipywidgets 7.7.1: a copy beside the venv lets the widget tests run against its API too.
$(VENV)/ipywidgets7: $(DEV)
	$(BIN)/python -m pip install --quiet --no-deps --target $@ ipywidgets==7.7.1 ipython_genutils==0.2.0

# nbval executes every notebook and compares the cells tagged nbval-check-output (a failed claim
# raises: COURSE_CLAIMS_STRICT); then papermill runs each with another SEED and checks every claim.
test-notebooks: $(DEV)
	COURSE_CLAIMS_STRICT=1 $(PYTEST) -q --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks
	$(PYTEST) -q tests/test_notebooks.py

test-browser: $(DEV) browser-deps
	$(PYTEST) -q tests/browser

# Debian's Chromium for the browser tests (never `playwright install`); installed when missing and root.
browser-deps:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "The browser tests need Chromium: install Debian's 'chromium' package (sudo apt-get install chromium)."; exit 1; fi; }

# The course as a static website from the committed outputs (no re-execution, offline).
BOOK_OUT ?= build/book
book: $(DEV)
	$(BIN)/jupyter-book build . --config book/_config.yml --toc book/_toc.yml \
		--path-output $(BOOK_OUT) --warningiserror --keep-going

execute: $(BIN)/.installed
	COURSE_CLAIMS_STRICT=1 $(BIN)/python tools/execute_notebooks.py

# Every notebook at SEED = 0…9 and a few other seeds / CPU paths (about 30 min on 2 cores):
# the committed course_lib/claims_sweep.json and book/claims.md. Then `make execute`, so
# the claims tables show the new ranges. NOTEBOOKS="notebooks/05_churn.ipynb" sweeps one.
sweep: $(BIN)/.installed
	$(BIN)/python tools/sweep.py $(NOTEBOOKS)

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run.py

sync: $(BIN)/.installed
	$(BIN)/python tools/sync_links.py

freeze: $(DEV)
	$(BIN)/python tools/freeze.py

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
