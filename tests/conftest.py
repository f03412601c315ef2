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


# --- Tiny notebooks for the pipeline's fault tests ---------------------------------------

def tiny_notebook(root: Path, cells: list, name: str = "00_sources") -> Path:
    """``root/notebooks/<name>.ipynb``: the real notebook's ``parameters`` cell (so that
    ``params/<name>.yaml`` validates), then ``cells`` (source strings for code cells;
    ``("markdown", text)`` for markdown cells), then ``Results(name).save()``."""
    import nbformat

    real = nbformat.read(config.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    params_cell = next(c for c in real.cells
                       if "parameters" in c.get("metadata", {}).get("tags", []))
    nb = nbformat.v4.new_notebook(metadata=real.metadata)
    nb.cells = [nbformat.v4.new_markdown_cell("# A tiny notebook for a test"),
                nbformat.v4.new_code_cell(params_cell.source, metadata={"tags": ["parameters"]})]
    for cell in cells:
        if isinstance(cell, tuple):
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[1]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    nb.cells.append(nbformat.v4.new_code_cell(
        f"#| label: save\nfrom analysis.pipeline.results import Results\nResults({name!r}).save()"))
    path = root / "notebooks" / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def runner_cmd(notebook: Path, output: Path, *extra: str, name: str = "00_sources") -> list:
    return [PY, "-m", "analysis.pipeline.runner", str(notebook), "--params",
            str(config.PARAMS_DIR / f"{name}.yaml"), "--output", str(output), *extra]


def previous_outputs(build: Path, name: str = "00_sources") -> dict:
    """Write recognisable 'previous' outputs of a notebook; returns path -> bytes."""
    files = {build / "notebooks" / f"{name}.ipynb": b'{"previous": "executed notebook"}\n',
             build / "results" / f"{name}.json": b'{"previous": "results"}\n',
             build / "notebooks" / f"{name}.d": b"# previous dependency file\n"}
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def unchanged(files: dict) -> bool:
    return all(path.read_bytes() == data for path, data in files.items())


def leftovers(*dirs: Path) -> list:
    """Temporary files (dotfiles) a run left behind; the lock files do not count."""
    found = []
    for d in dirs:
        if d.exists():
            found += [p for p in d.rglob(".*") if ".locks" not in p.relative_to(d).parts]
    return sorted(found)


def env_with(build: Path, **extra) -> dict:
    return {**os.environ, "ANALYSIS_BUILD_DIR": str(build), **extra}
