"""All paths of the project, in one place (cookiecutter-data-science ``config.py``).

Notebooks, scripts and tests import these constants; no other module builds a path
from a string literal. ``ANALYSIS_BUILD_DIR`` overrides the build directory, so that
tests can execute notebooks without touching the user's build.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]

DATA_DIR = PROJ_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
REFERENCE_DIR = RAW_DIR / "reference"
SEEDS_DIR = RAW_DIR / "seeds"
PUBLISHED_METRICS_CSV = RAW_DIR / "published_metrics.csv"
#: Quantitative passages of the seeds deliberately left without a row, with the reason
#: (tests/data/test_curation_coverage.py; data/raw/README.md, "Coverage").
CURATION_SKIP_CSV = RAW_DIR / "curation_skip.csv"

NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
PARAMS_DIR = PROJ_ROOT / "params"
REPORTS_DIR = PROJ_ROOT / "reports"
REPORTS_OUTPUT_DIR = REPORTS_DIR / "_output"
BENCHMARKS_DIR = PROJ_ROOT / "benchmarks"

BUILD_DIR = Path(os.environ.get("ANALYSIS_BUILD_DIR", PROJ_ROOT / "build")).resolve()
EXECUTED_DIR = BUILD_DIR / "notebooks"
RESULTS_DIR = BUILD_DIR / "results"
# Generated data (simulated panels and the like): build products, never raw data.
GENERATED_DATA_DIR = BUILD_DIR / "data"
# Where DuckDB spills when a query outgrows its memory limit.
DUCKDB_SPILL_DIR = BUILD_DIR / "duckdb_tmp"
# The provenance appendix the renderer writes and the reports include.
REPORT_BUILD_DIR = BUILD_DIR / "report"
PROVENANCE_MD = REPORT_BUILD_DIR / "provenance.md"

KERNEL_NAME = "rednote-analysis"
