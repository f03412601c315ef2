"""Shared fixtures. End-to-end fixtures build into a temporary tree, never into the
user's build/ or reports/_output/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # plotting tests never need a screen

from analysis import config  # noqa: E402

PY = sys.executable


def run(cmd, env=None, cwd=None, check=False):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          cwd=cwd or config.PROJ_ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def small_params(notebook: Path) -> Path:
    """The small parameter set for a notebook: params/ci/<name>.yaml if any."""
    ci = config.PARAMS_DIR / "ci" / f"{notebook.stem}.yaml"
    return ci if ci.is_file() else config.PARAMS_DIR / f"{notebook.stem}.yaml"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every notebook executed with small parameters and the reports rendered, in a
    temporary tree laid out like the project (tmp/build, tmp/reports)."""
    root = tmp_path_factory.mktemp("project")
    build = root / "build"
    reports = root / "reports"
    shutil.copytree(config.REPORTS_DIR, reports,
                    ignore=shutil.ignore_patterns("_output", ".quarto"))
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(build)}
    notebooks = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    for nb in notebooks:
        run([PY, "-m", "analysis.pipeline.runner", str(nb), "--params", str(small_params(nb)),
             "--output", str(build / "notebooks" / nb.name)], env=env, check=True)
    proc = run([PY, "-m", "analysis.pipeline.render", "--engine", "pandoc", "--reports-dir",
                str(reports)], env=env, check=True)
    return {"root": root, "build": build, "reports": reports, "output": reports / "_output",
            "notebooks": notebooks, "render_log": proc.stderr}
