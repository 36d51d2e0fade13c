# Two front doors: `make demo` runs the main job end to end, `make test` runs the tests.
# Each creates .venv (Python 3.11) and installs the project into it when missing or stale.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv ignores pip's configuration, so pass on the local wheel directory when this machine has one
# (that is where the CPU build of torch 2.13.0 lives).
UV_ENV := $(if $(PIP_FIND_LINKS),UV_FIND_LINKS=$(PIP_FIND_LINKS))

.PHONY: setup demo test test-fast bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(UV_ENV) $(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet -e '.[dev,bench,aws]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xlmforge demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/corpus_build.py

clean:
	rm -rf $(VENV) out runs bench/work
