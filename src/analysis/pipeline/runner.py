"""Execute a notebook with papermill from a validated parameter file.

    python -m analysis.pipeline.runner notebooks/00_sources.ipynb --params params/00_sources.yaml

What it guarantees:

- the parameters are checked against the notebook's schema (:mod:`analysis.pipeline.params`)
  before a kernel starts, and the notebook's ``parameters`` cell must declare exactly the
  schema's keys;
- the notebook runs top to bottom in a fresh kernel of the project's environment
  (kernel ``rednote-analysis``) and the executed copy goes to the build directory, never
  over the source;
- success is all-or-nothing: the executed notebook and its results file
  (``build/results/<name>.json``, or ``<output>.results.json`` for an executed copy
  written outside ``build/notebooks/``) replace the previous ones only when every cell
  succeeded. On failure the run exits non-zero, names the failing cell, keeps the
  executed copy under ``build/notebooks/failed/`` and leaves the previous notebook,
  results and rendered reports as they were;
- a make dependency file (``build/notebooks/<name>.d``) lists the ``analysis`` modules
  the notebook imported and the data files it read, so that ``make`` re-executes a
  notebook when, and only when, one of those changes.

Exit codes: 0 success, 1 a cell failed, 2 bad parameters or notebook, 3 environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from analysis import config
from analysis.pipeline.params import ParameterError, load_params
from analysis._io import relative, write_json_atomic
from analysis.pipeline.results import RESULTS_PATH_ENV


class NotebookFailed(RuntimeError):
    """A cell of the notebook raised; the message names the cell."""


def parameters_cell_names(notebook: Path) -> list[str]:
    """Names assigned in the notebook's single ``parameters`` cell (ParameterError otherwise)."""
    import papermill

    nb = nbformat.read(notebook, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells)
              if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ParameterError(f"{relative(notebook)}: expected exactly one cell tagged "
                             f"'parameters', found {len(tagged)}")
    return list(papermill.inspect_notebook(str(notebook)).keys())


def check_kernel(name: str = config.KERNEL_NAME) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        raise OSError(
            f"Jupyter kernel {name!r} is not registered for this environment; "
            "run `make install` (it runs `python -m ipykernel install --sys-prefix "
            f"--name {name}`)")


def _cell_label(source: str) -> str:
    for line in source.splitlines():
        if line.startswith("#| label:"):
            return line.split(":", 1)[1].strip()
    first = next((ln for ln in source.splitlines() if ln.strip()), "")
    return first[:60]


def run_notebook(
    notebook: str | Path,
    params_file: str | Path | None = None,
    output: str | Path | None = None,
    timeout: int = 1800,
    progress: bool | None = None,
) -> Path:
    """Execute one notebook; returns the path of the executed copy.

    Raises ParameterError (bad parameters or parameters cell), EnvironmentError (no
    kernel) or NotebookFailed (a cell raised; the executed copy is kept).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = Path(notebook).resolve()
    name = notebook.stem
    if not notebook.is_file():
        raise ParameterError(f"{notebook}: no such notebook")
    params_file = Path(params_file) if params_file else config.PARAMS_DIR / f"{name}.yaml"
    # Absolute: the kernel runs in the notebook's directory, not in the caller's.
    output = (Path(output) if output else config.EXECUTED_DIR / f"{name}.ipynb").resolve()
    # Results of the build's own notebooks go to build/results/ (which the reports and
    # the provenance appendix read); a run written elsewhere keeps its results beside it.
    if output.parent == config.EXECUTED_DIR.resolve():
        results_path = config.RESULTS_DIR / f"{output.stem}.json"
    else:
        results_path = output.with_suffix(".results.json")

    params = load_params(params_file, notebook)
    declared = set(parameters_cell_names(notebook))
    expected = set(type(params).model_fields)
    if declared != expected:
        missing, extra = sorted(expected - declared), sorted(declared - expected)
        raise ParameterError(
            f"{relative(notebook)}: the 'parameters' cell and the schema "
            f"{type(params).__name__} disagree (missing in the cell: {missing or 'none'}; "
            f"not in the schema: {extra or 'none'})")
    check_kernel()

    output.parent.mkdir(parents=True, exist_ok=True)
    running = output.with_name(f".{name}.running.ipynb")
    pending_results = results_path.with_name(f".{name}.pending.json")
    pending_results.unlink(missing_ok=True)
    values = params.model_dump(mode="json")
    print(f"[runner] {relative(notebook)} with {relative(params_file)} "
          f"-> {relative(output)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    old_env = os.environ.get(RESULTS_PATH_ENV)
    os.environ[RESULTS_PATH_ENV] = str(pending_results)
    try:
        papermill.execute_notebook(
            str(notebook), str(running), parameters=values, kernel_name=config.KERNEL_NAME,
            cwd=str(notebook.parent), execution_timeout=timeout,
            progress_bar=sys.stderr.isatty() if progress is None else progress,
        )
    except PapermillExecutionError as err:
        failed = _keep_failed(running, output, name)
        pending_results.unlink(missing_ok=True)
        raise NotebookFailed(
            f"notebook {relative(notebook)} failed in cell {err.cell_index} "
            f"(execution count {err.exec_count}, '{_cell_label(err.source)}'): "
            f"{err.ename}: {err.evalue}\n"
            f"The executed copy is kept for inspection at {relative(failed)}; the previous "
            f"executed notebook, results and reports are unchanged.") from None
    finally:
        if old_env is None:
            os.environ.pop(RESULTS_PATH_ENV, None)
        else:
            os.environ[RESULTS_PATH_ENV] = old_env

    if not pending_results.is_file():
        failed = _keep_failed(running, output, name)
        raise NotebookFailed(f"notebook {relative(notebook)} ran but never called "
                             "Results.save(): no results were recorded; the executed copy "
                             f"is kept at {relative(failed)}")
    results = json.loads(pending_results.read_text())
    results["parameters"] = values
    results["provenance"].update(
        params_file=relative(params_file), notebook=relative(notebook),
        executed_utc=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_json_atomic(results_path, results)
    pending_results.unlink()
    running.replace(output)
    _write_depfile(output, notebook, params_file, results)
    print(f"[runner] {name} done in {time.perf_counter() - started:.1f} s",
          file=sys.stderr, flush=True)
    return output


def _keep_failed(running: Path, output: Path, name: str) -> Path:
    """Move a failed run's executed copy to ``failed/<name>.ipynb`` beside ``output``."""
    failed = output.parent / "failed" / f"{name}.ipynb"
    failed.parent.mkdir(parents=True, exist_ok=True)
    running.replace(failed)
    return failed


def _write_depfile(output: Path, notebook: Path, params_file: Path, results: dict) -> None:
    """Make rules: the executed notebook depends on what it actually imported and read."""
    deps = [*results["provenance"]["modules"], *results["provenance"]["files_read"]]
    deps = [d for d in deps if not Path(d).is_absolute()]
    target = relative(output)
    lines = [f"{target}: " + " \\\n  ".join(deps), ""]
    # An empty rule per dependency, so that a deleted module does not break make.
    lines += [f"{d}:" for d in deps]
    tmp = output.with_name(f".{output.stem}.d.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(output.with_suffix(".d"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.pipeline.runner",
                                     description="Execute a notebook with papermill.")
    parser.add_argument("notebook", help="notebooks/NN_name.ipynb")
    parser.add_argument("--params", help="YAML parameter file (default params/<name>.yaml)")
    parser.add_argument("--output", help="executed copy (default build/notebooks/<name>.ipynb)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    try:
        run_notebook(args.notebook, args.params, args.output, timeout=args.timeout)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
