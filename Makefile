# Two commands do all the set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install serve test lint typecheck eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: 2.13.0 is a CPU build on local disk; anything else pulls gigabytes
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/matcher serve --prepare

lint: install
	$(VENV)/bin/ruff check matcher api tests

typecheck: install
	$(VENV)/bin/mypy matcher api

test: install lint typecheck
	$(VENV)/bin/matcher model prepare
	$(VENV)/bin/pytest

eval: install
	$(VENV)/bin/matcher eval data/eval/demo
	$(VENV)/bin/matcher eval data/eval/csl

bench: install
	$(VENV)/bin/matcher bench

clean:
	rm -rf var models/cache
