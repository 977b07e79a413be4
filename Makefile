# stridekit: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,onnx,vision,experiments,optuna,ray,web

.PHONY: install chromium demo test lint typecheck pytest bench pictures clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium (Playwright cannot download browsers here).
# Installed once when missing and apt-get can; `make test` then fails the browser tests if
# it is still missing (a plain pytest run elsewhere skips them and says why).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1; } || \
	echo "chromium could not be installed (apt-get missing or not root): the browser tests will fail"

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

lint: install
	$(BIN)/ruff check stridekit tests benchmarks
	$(BIN)/ruff format --check stridekit tests benchmarks

typecheck: install
	$(BIN)/mypy stridekit

pytest: install chromium
	STRIDEKIT_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# the README's pictures under docs/pictures/, drawn by stridekit (the same bytes every run)
pictures: install
	PYTHON=$(BIN)/python bash docs/pictures.sh docs/pictures

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
