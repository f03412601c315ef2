# rednote-analysis: `make report` and `make test` do every set-up they need.
# `make help` lists the targets. Targets are real files: a second `make report` with
# nothing changed executes no notebook.
#
# Nothing is lost: there is no .DELETE_ON_ERROR. Every recipe that writes a target is
# atomic by itself (the runner and the renderer build in temporary files and rename
# them into place only when everything succeeded), and .PRECIOUS stops make from
# deleting a finished notebook or report when a recipe fails or is interrupted.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
KERNEL := rednote-analysis
BUILD := build
# Independent notebooks run in parallel (`make report JOBS=1` for one at a time).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# -jJOBS for the sub-make, unless make already runs with a jobserver (`make -j4 ...`).
PARALLEL = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS))

# Every date a build writes (PDF creation date, report date, provenance) is the time
# of the commit, so that two builds of one commit are byte-identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
export SOURCE_DATE_EPOCH

# uv installs the environment in seconds. Where it is not on PATH, `make install` puts
# uv's wheel (pinned, from PyPI like every other package) into $(VENV) with pip and
# uses it; where that fails (an index without uv), pip installs the same pins. Both
# install exactly the pins of $(LOCK). Neither byte-compiles every installed file (a
# third of pip's time); `runner --precompile` then compiles just the modules a build
# imports, and writes their .pyc even where PYTHONDONTWRITEBYTECODE is set.
UV_VERSION := 0.13.9
UV ?= $(shell command -v uv 2>/dev/null)
# the uv to use in a recipe (shell): on PATH, else the one in $(VENV)
FIND_UV = uv="$(UV)"; [ -n "$$uv" ] || { [ -x $(VENV)/bin/uv ] && uv=$(VENV)/bin/uv; } || true
ifneq ($(UV),)
MKVENV = $(UV) venv --quiet --seed --python $(PYTHON) $(VENV)
PIP = $(UV) pip install --quiet --python $(PY)
PIP_RUNTIME = $(PIP)
else
MKVENV = $(PYTHON) -m venv $(VENV)
PIP = $(PY) -m pip install --quiet --disable-pip-version-check
PIP_RUNTIME = $(PIP) --no-compile
endif

# pip's warnings about index locations that do not exist on this machine
PIP_NOISE := is ignored: it is neither a file nor a directory

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst notebooks/%.ipynb,$(BUILD)/notebooks/%.ipynb,$(NOTEBOOKS))
# make -j starts prerequisites in the order listed: the later notebooks are the longer
# ones, so starting them first shortens a parallel build.
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
QMDS := $(filter-out reports/_%,$(wildcard reports/*.qmd))
REPORT_HTML := $(patsubst reports/%.qmd,reports/_output/%.html,$(QMDS))
REPORT_PDF := $(patsubst reports/%.qmd,reports/_output/%.pdf,$(QMDS))
RENDER_DEPS := reports/_quarto.yml reports/references.bib $(wildcard reports/_*.qmd) \
	$(wildcard src/analysis/pipeline/*.py) src/analysis/_io.py src/analysis/config.py \
	src/analysis/pipeline/filters/callouts.lua src/analysis/pipeline/templates/report.css

.PHONY: help install notebooks _notebooks report _report data test test-fast lint lab \
	clean distclean bench
.PRECIOUS: $(EXECUTED) $(REPORT_HTML) $(REPORT_PDF)

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) $(DEV_STAMP) ## Create .venv (uv if on PATH, else pip), install the pinned dependencies and dev tools, register the kernel

# What `make report` needs: the package and its pinned dependencies, and the kernel.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || { echo "[install] creating $(VENV) with $(if $(UV),uv,$(PYTHON) -m venv)"; $(MKVENV); }
	@set -o pipefail; $(FIND_UV); \
	if [ -z "$$uv" ]; then \
	  echo "[install] pip install uv==$(UV_VERSION) into $(VENV) (falls back to pip if that fails)"; \
	  if $(PIP) "uv==$(UV_VERSION)" 2>&1 | { grep -v "$(PIP_NOISE)" || true; } \
	     && [ -x $(VENV)/bin/uv ]; then uv=$(VENV)/bin/uv; fi; \
	fi; \
	if [ -n "$$uv" ]; then \
	  echo "[install] uv pip install -c $(LOCK) -e ."; \
	  "$$uv" pip install --quiet --python $(PY) -c $(LOCK) -e .; \
	else \
	  echo "[install] pip install -c $(LOCK) -e ."; \
	  $(PIP_RUNTIME) -c $(LOCK) -e . 2>&1 | { grep -v "$(PIP_NOISE)" || true; }; \
	fi
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	@$(PY) -m analysis.pipeline.runner --precompile
	@touch $@

# What `make test`, `lint` and `lab` need on top: the dev extra.
$(DEV_STAMP): $(STAMP)
	@set -o pipefail; $(FIND_UV); \
	if [ -n "$$uv" ]; then \
	  echo "[install] uv pip install -c $(LOCK) -e '.[dev]'"; \
	  "$$uv" pip install --quiet --python $(PY) -c $(LOCK) -e '.[dev]'; \
	else \
	  echo "[install] pip install -c $(LOCK) -e '.[dev]'"; \
	  $(PIP) -c $(LOCK) -e '.[dev]' 2>&1 | { grep -v "$(PIP_NOISE)" || true; }; \
	fi
	@touch $@

# Each executed notebook depends on its source and parameters; the .d file the runner
# writes adds the analysis modules it imported and the data files it read. When make
# re-runs a notebook whose recorded inputs are unchanged by content (a touched file, a
# checkout), the runner says "up to date by content" and does not execute it.
$(BUILD)/notebooks/%.ipynb: notebooks/%.ipynb params/%.yaml $(LOCK) | $(STAMP)
	$(PY) -m analysis.pipeline.runner $< --params params/$*.yaml --output $@

-include $(wildcard $(BUILD)/notebooks/*.d)

# The notebooks are independent of each other (none reads another's outputs), so the
# sub-make runs them in parallel; the runner's per-notebook locks and atomic promotion
# hold under -j as they do for two builds started at once.
notebooks: | $(STAMP) ## Execute the notebooks whose inputs changed, in parallel (JOBS=n to choose)
	@$(MAKE) --no-print-directory $(PARALLEL) _notebooks

_notebooks: $(call reverse,$(EXECUTED))

$(REPORT_HTML) $(REPORT_PDF) &: $(QMDS) $(call reverse,$(EXECUTED)) $(RENDER_DEPS) | $(STAMP)
	$(PY) -m analysis.pipeline.render --reports-dir reports

report: | $(STAMP) ## Build everything: environment, notebooks (in parallel), reports (HTML + PDF)
	@$(MAKE) --no-print-directory $(PARALLEL) _report

_report: $(REPORT_HTML) $(REPORT_PDF)

data: $(STAMP) ## Build the default SIMULATED activity panel (build/data/, cached)
	$(PY) -m analysis.simulation.panel

bench: $(DEV_STAMP) ## Run the benchmarks (installs the optional Prophet extra; minutes)
	$(PIP) -c $(LOCK) -e '.[dev,bench]'
	$(PY) benchmarks/bench_retention.py
	$(PY) benchmarks/bench_adoption.py
	$(PY) benchmarks/bench_forecast.py
	$(PY) benchmarks/bench_cohorts.py
	$(PY) benchmarks/bench_build.py

test: $(DEV_STAMP) ## Run the test suite (sets up what it needs)
	$(PY) -m pytest

test-fast: $(DEV_STAMP) ## Run the tests not marked slow
	$(PY) -m pytest -m "not slow and not browser"

lint: $(DEV_STAMP) ## pre-commit on every file (.pre-commit-config.yaml), else ruff
	@if [ -f .pre-commit-config.yaml ]; then \
		echo "$(VENV)/bin/pre-commit run --all-files"; $(VENV)/bin/pre-commit run --all-files; \
	else \
		echo "$(VENV)/bin/ruff check src tests benchmarks notebooks"; \
		$(VENV)/bin/ruff check src tests benchmarks notebooks; \
	fi

lab: $(DEV_STAMP) ## JupyterLab at the project root (notebooks/, build/, reports/_output/) with the project's kernel
	$(VENV)/bin/jupyter lab --notebook-dir=.

clean: ## Remove build products (executed notebooks, results, reports)
	rm -rf $(BUILD) reports/_output reports/.quarto

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
