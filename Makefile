# Two commands do all the set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install browser fonts postgres serve test lint typecheck eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: 2.13.0 is a CPU build on local disk; anything else pulls gigabytes
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Apache ECharts for the console's charts, vendored from its npm package (never a CDN: the console works
# offline). npm checks the package against the registry's integrity hash; only the dist file is kept.
ECHARTS_VERSION := 6.1.0
ECHARTS := api/static/vendor/echarts.min.js
$(ECHARTS):
	@command -v npm >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; }
	@mkdir -p api/static/vendor
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack -q echarts@$(ECHARTS_VERSION) >/dev/null && \
		tar xzf echarts-$(ECHARTS_VERSION).tgz package/dist/echarts.min.js package/LICENSE && \
		cp package/dist/echarts.min.js $(CURDIR)/$(ECHARTS).tmp && cp package/LICENSE $(CURDIR)/api/static/vendor/ECHARTS-LICENSE && \
		mv $(CURDIR)/$(ECHARTS).tmp $(CURDIR)/$(ECHARTS) && rm -rf $$tmp

install: $(STAMP) $(ECHARTS)

serve: install fonts
	$(VENV)/bin/matcher serve --prepare

lint: install
	$(VENV)/bin/ruff check matcher api tests benchmarks

typecheck: install
	$(VENV)/bin/mypy matcher api

# Page tests drive Debian's Chromium (Playwright never downloads a browser here); CJK fonts make
# screenshots readable. Installed with apt-get when missing (CI runs as root).
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@$(MAKE) -s fonts

# The agreements' PDFs are set in Noto CJK (weasyprint): a required install, for the service and the tests.
# libharfbuzz-subset0 lets weasyprint subset the fonts: without it a page embeds whole Noto CJK
# (seconds per render, and bytes that differ between runs, which breaks the agreement's checksum).
fonts:
	@{ test -d /usr/share/fonts/opentype/noto && ls /usr/lib/*/libharfbuzz-subset.so.0 >/dev/null 2>&1; } || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk libharfbuzz-subset0; }

# The suite runs twice, on both cores each time (pytest-xdist): every test on SQLite (the embedded
# default), then the tests that touch the database on a throwaway PostgreSQL cluster that tests/pgcluster.py
# starts in a temporary directory on a free port and always removes afterwards (tests/conftest.py says
# which tests run where). Debian's postgresql is installed with apt-get when missing (its binaries, not a
# system service).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }

# --durations: the slowest tests of each run are printed, so the suite's time can be planned
PYTEST := $(VENV)/bin/pytest -n 2 --dist loadfile --durations=25

test: install browser postgres lint typecheck
	$(VENV)/bin/matcher model prepare
	@echo "== test suite on SQLite: every test =="
	$(PYTEST)
	@echo "== test suite on PostgreSQL: the tests that touch the database =="
	$(PY) -m tests.pgcluster $(PYTEST)

eval: install
	$(VENV)/bin/matcher eval data/eval/demo
	$(VENV)/bin/matcher eval data/eval/csl
	$(VENV)/bin/matcher eval data/eval/small

bench: install
	$(VENV)/bin/matcher bench

clean:
	rm -rf var models/cache
