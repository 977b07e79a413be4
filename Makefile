# stridekit: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,onnx,tflite,vision,experiments,optuna,ray,web,docs,ultralytics,hf,port

.PHONY: install chromium demo test lint typecheck pytest soak bench pictures docs guide-results clean

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
	$(BIN)/ruff check stridekit tests benchmarks tools
	$(BIN)/ruff format --check stridekit tests benchmarks tools
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy stridekit

pytest: install chromium
	STRIDEKIT_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

# the concurrent tests (processes, threads, sockets, clusters, timing) 30 times in a row,
# each run a fresh pytest -n 2, then the tests marked soak; not part of make test (an hour
# or more on 2 cores). RUNS=3 for a quick look.
RUNS ?= 30
soak: install chromium
	$(BIN)/python tools/soak.py --runs $(RUNS)

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# the README's pictures under docs/pictures/, drawn by stridekit (the same bytes every run)
pictures: install
	PYTHON=$(BIN)/python bash docs/pictures.sh docs/pictures

# the documentation site and the stride guide, built offline into site/ (every number on the
# guide's pages is computed while it builds; about a minute on 2 cores)
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

# the stored sweep results the guide reads (docs/guide/results/*.db), from the example
# sweeps under stridekit/examples/sweeps/ (about 6 minutes on 2 cores); commit them after a change
guide-results: install
	PYTHON=$(BIN)/python bash docs/guide/results.sh docs/guide/results

clean:
	rm -rf site dist $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis stridekit.egg-info
