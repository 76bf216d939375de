# The two commands the README promises: `make report` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# MNIST for tests, benchmarks and the report: the shared folder beside the checkout, unless the caller set one.
SHARED_MNIST := $(abspath ../shared/data/mnist)
ifeq ($(strip $(BACKPROPLAB_DATA)),)
  ifneq ($(wildcard $(SHARED_MNIST)/train-images-idx3-ubyte.gz),)
    export BACKPROPLAB_DATA := $(SHARED_MNIST)
  endif
endif

# Headless figures everywhere.
export MPLBACKEND := Agg

.PHONY: setup chromium test report lint bench docs screenshots clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch only as torch==2.13.0: the local CPU wheel (see CONTRIBUTING.md)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The report's browser test drives Debian's chromium: installed here when missing, so the test never skips.
chromium:
	.ci/install-chromium

test: setup chromium
	$(BIN)/python -m pytest -q -n 2

report: setup
	$(BIN)/backproplab report --out report

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

bench: setup
	$(BIN)/python benchmarks/bench_scratch.py  # includes bench_deep.py
	$(BIN)/python benchmarks/bench_dcn.py

# Mutation testing, not in CI (long: docs/results.md has its time): mutmut over the functions where a wrong number
# would mislead a learner, each group with the fast tests that cover it; `make mutants MUTANT_GROUPS="report_html"`
# runs some groups, `MUTANTS='backproplab.monitoring.x_tensor_stats*'` some mutants. Its last score is in
# docs/results.md.
.PHONY: mutants
mutants: setup
	$(BIN)/python -m pip install --quiet -e '.[mutants]'
	$(BIN)/python benchmarks/mutants.py $(MUTANT_GROUPS) $(if $(MUTANTS),--mutants $(MUTANTS))

# The guide (docs/, mkdocs.yml) as a static site in site/, built offline; open site/index.html from disk.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

# The README's two pictures (docs/images/), taken by the report's browser test from the quick report.
screenshots: setup chromium
	BACKPROPLAB_SCREENSHOTS=$(CURDIR)/docs/images $(BIN)/python -m pytest -q -n 0 \
		tests/test_report_browser.py::test_the_readme_screenshots

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info .pytest_cache .ruff_cache
