"""Machine-readable key results of a notebook.

A notebook records the numbers and tables its story rests on::

    res = Results("00_sources")
    res.number("n_figures", len(metrics), "published figures curated")
    res.table("by_provider", table)
    res.save()

and tests and reports read them back with :func:`load` instead of re-typing them.

Only the runner writes ``build/results/<name>.json``, the file the reports and their
provenance appendix read: under :mod:`analysis.pipeline.runner` (which sets
``ANALYSIS_RESULTS_PATH``), ``save`` writes to a temporary path that the runner promotes,
together with the executed notebook, only if every cell succeeded. A notebook executed
any other way (JupyterLab, nbconvert, plain papermill) writes its results to
``build/interactive/<name>.json`` instead and says so: an interactive run, whose
parameters the runner never checked, can never replace what a report is built from.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis._io import files_read, relative, write_json_atomic
from analysis.pipeline.provenance import display_path

#: Set by the runner: where ``Results.save`` writes.
RESULTS_PATH_ENV = "ANALYSIS_RESULTS_PATH"


def interactive_dir() -> Path:
    """Where results of notebooks executed outside the runner go."""
    return config.BUILD_DIR / "interactive"


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"refusing to record a non-finite number ({value}): "
                             "a report must never show NaN or infinity")
        return value
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class Results:
    """Collects a notebook's named numbers and tables and saves them as JSON."""

    def __init__(self, notebook: str):
        self.notebook = notebook
        self.numbers: dict[str, dict] = {}
        self.tables: dict[str, dict] = {}

    def number(self, name: str, value, description: str, unit: str | None = None):
        """Record one named number; returns the value so it can be used inline."""
        self.numbers[name] = {"value": _jsonable(value), "description": description,
                              "unit": unit}
        return value

    def table(self, name: str, frame: pd.DataFrame, description: str = "") -> pd.DataFrame:
        """Record a table (index kept as columns); returns the frame unchanged."""
        flat = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
        records = [{str(k): _jsonable(v) for k, v in row.items()}
                   for row in flat.to_dict(orient="records")]
        self.tables[name] = {"description": description,
                             "columns": [str(c) for c in flat.columns], "rows": records}
        return frame

    def path(self) -> Path:
        """The runner's temporary path, else ``build/interactive/<name>.json``."""
        target = os.environ.get(RESULTS_PATH_ENV)
        return Path(target) if target else interactive_dir() / f"{self.notebook}.json"

    def save(self) -> Path:
        """Write the results, with the data files read and the modules imported."""
        modules = sorted(
            relative(m.__file__) for name, m in list(sys.modules.items())
            if name.split(".")[0] == "analysis" and getattr(m, "__file__", None)
        )
        payload = {
            "notebook": self.notebook,
            "numbers": self.numbers,
            "tables": self.tables,
            "provenance": {
                "saved_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                # Named the same in every clone and build directory (build/..., data/...).
                "files_read": {display_path(locate_read(k)): v
                               for k, v in files_read().items()},
                "modules": modules,
            },
        }
        path = self.path()
        write_json_atomic(path, payload)
        if not os.environ.get(RESULTS_PATH_ENV):
            print(f"Results saved to {display_path(path)} (a run outside "
                  "analysis.pipeline.runner: build/results/, which the reports read, is "
                  "written only by the runner; use `make notebooks`)", file=sys.stderr)
        return path


def locate_read(name: str) -> Path:
    """The file behind a key of :func:`analysis._io.files_read` (relative to the root)."""
    path = Path(name)
    return path if path.is_absolute() else config.PROJ_ROOT / path


def load(notebook: str, results_dir: Path | None = None) -> dict:
    """The saved results of one notebook (raises FileNotFoundError with a hint)."""
    path = (results_dir or config.RESULTS_DIR) / f"{notebook}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no results for notebook {notebook!r}; run `make notebooks` first")
    return json.loads(path.read_text())
