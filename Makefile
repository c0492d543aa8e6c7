# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU torch first: a bare torch requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/gridai run day-ahead --date 2008-06-30 -c configs/dayahead.yaml --out outputs/

lint: $(STAMP)
	$(BIN)/ruff check gridai tests experiments
	$(BIN)/ruff format --check gridai tests experiments

typecheck: $(STAMP)
	$(BIN)/mypy

# The report test renders report.html in headless Chromium (Debian's package); CI installs it here.
# GRIDAI_SKIP_BROWSER=1 skips the install (the test is then skipped, and says so).
browser:
	@if [ -n "$$GRIDAI_SKIP_BROWSER" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	echo "installing Debian's chromium for the report test"; \
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || \
	{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

test: $(STAMP) browser
	$(BIN)/ruff check gridai tests experiments
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

clean:
	rm -rf $(VENV) outputs mlruns mlflow.db
