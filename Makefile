# rednote-analysis: `make report` and `make test` do every set-up they need.
# `make help` lists the targets. Targets are real files: a second `make report` with
# nothing changed executes no notebook.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
STAMP := $(VENV)/.installed
KERNEL := rednote-analysis
BUILD := build

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst notebooks/%.ipynb,$(BUILD)/notebooks/%.ipynb,$(NOTEBOOKS))
QMDS := $(filter-out reports/_%,$(wildcard reports/*.qmd))
REPORT_HTML := $(patsubst reports/%.qmd,reports/_output/%.html,$(QMDS))
REPORT_PDF := $(patsubst reports/%.qmd,reports/_output/%.pdf,$(QMDS))
RENDER_DEPS := reports/_quarto.yml reports/references.bib $(wildcard reports/_*.qmd) \
	$(wildcard src/analysis/pipeline/*.py) src/analysis/_io.py src/analysis/config.py \
	src/analysis/pipeline/filters/callouts.lua src/analysis/pipeline/templates/report.css

.PHONY: help install notebooks report html pdf data test test-fast lint lab clean distclean bench

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv, install the pinned dependencies, register the Jupyter kernel

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	@touch $@

# Each executed notebook depends on its source and parameters; the .d file the runner
# writes adds the analysis modules it imported and the data files it read.
$(BUILD)/notebooks/%.ipynb: notebooks/%.ipynb params/%.yaml $(LOCK) | $(STAMP)
	$(PY) -m analysis.pipeline.runner $< --params params/$*.yaml --output $@

-include $(wildcard $(BUILD)/notebooks/*.d)

notebooks: $(EXECUTED) ## Execute the notebooks whose inputs changed (papermill)

$(REPORT_HTML) $(REPORT_PDF) &: $(QMDS) $(EXECUTED) $(RENDER_DEPS) | $(STAMP)
	$(PY) -m analysis.pipeline.render

report: $(REPORT_HTML) $(REPORT_PDF) ## Build everything: environment, notebooks, reports (HTML + PDF)

data: $(STAMP) ## Build the default SIMULATED activity panel (build/data/, cached)
	$(PY) -m analysis.simulation.panel

bench: $(STAMP) ## Run the benchmarks (installs the optional Prophet extra; minutes)
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(LOCK) -e '.[dev,bench]'
	$(PY) benchmarks/bench_retention.py
	$(PY) benchmarks/bench_adoption.py
	$(PY) benchmarks/bench_forecast.py
	$(PY) benchmarks/bench_cohorts.py

test: $(STAMP) ## Run the test suite (sets up what it needs)
	$(PY) -m pytest

test-fast: $(STAMP) ## Run the tests not marked slow
	$(PY) -m pytest -m "not slow and not browser"

lint: $(STAMP) ## Lint the package, tests, benchmarks and notebooks with ruff
	$(VENV)/bin/ruff check src tests benchmarks notebooks

lab: $(STAMP) ## Open JupyterLab on the notebooks, with the project's kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

clean: ## Remove build products (executed notebooks, results, reports)
	rm -rf $(BUILD) reports/_output reports/.quarto

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
