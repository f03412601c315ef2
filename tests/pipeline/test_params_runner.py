"""Parameter schemas and the papermill runner: bad parameters stop the run before a
kernel starts; a failing cell stops it with the cell named and nothing lost."""

from __future__ import annotations

import json
import os
import shutil

import nbformat
import pytest
import yaml
from conftest import PY, run

from analysis import config
from analysis.pipeline import params
from analysis.pipeline.params import ParameterError, load_params

NB = config.NOTEBOOKS_DIR / "00_sources.ipynb"


def write_yaml(tmp_path, values, name="p.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(values))
    return path


def default_values():
    return yaml.safe_load((config.PARAMS_DIR / "00_sources.yaml").read_text())


def test_committed_params_validate():
    from analysis.pipeline.params import SCHEMAS

    for path in sorted(config.PARAMS_DIR.rglob("*.yaml")):
        # params/<notebook>.yaml, params/ci/<notebook>.yaml, params/examples/<notebook>_<case>.yaml
        (name,) = [n for n in SCHEMAS if path.stem == n or path.stem.startswith(n + "_")]
        model = load_params(path, name)
        assert model.model_dump()


def test_unknown_key_names_file_and_key(tmp_path):
    path = write_yaml(tmp_path, {**default_values(), "colour": "red"})
    with pytest.raises(ParameterError) as err:
        load_params(path, NB)
    assert str(path) in str(err.value)
    assert "key 'colour': unknown key" in str(err.value)
    assert "figure_dpi" in str(err.value)  # lists the allowed keys


def test_wrong_type_names_key_and_expected(tmp_path):
    path = write_yaml(tmp_path, {**default_values(), "figure_dpi": "high"})
    with pytest.raises(ParameterError, match=r"key 'figure_dpi'.*expected int.*'high'"):
        load_params(path, NB)


def test_numeric_string_is_not_silently_coerced(tmp_path):
    path = write_yaml(tmp_path, {**default_values(), "figure_dpi": "150"})
    with pytest.raises(ParameterError, match="figure_dpi"):
        load_params(path, NB)


def test_impossible_value(tmp_path):
    path = write_yaml(tmp_path, {**default_values(), "figure_dpi": 5000})
    with pytest.raises(ParameterError, match=r"key 'figure_dpi'.*less than or equal to 600"):
        load_params(path, NB)


def test_cross_field_rule(tmp_path):
    values = {**default_values(), "episode_end": "2024-12-01"}
    with pytest.raises(ParameterError, match="episode_end must be after episode_start"):
        load_params(write_yaml(tmp_path, values), NB)


def test_unknown_provider_is_refused(tmp_path):
    values = {**default_values(), "other_provider": "Gartner"}
    with pytest.raises(ParameterError, match="other_provider"):
        load_params(write_yaml(tmp_path, values), NB)


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("market: US\nfigure_dpi: [150\n")
    with pytest.raises(ParameterError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_params(path, NB)


def test_notebook_without_schema(tmp_path):
    with pytest.raises(ParameterError, match="no parameter schema is registered"):
        params.schema_for("99_unknown")


@pytest.mark.parametrize("nb", sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: p.stem)
def test_notebook_conventions(nb):
    """One parameters cell matching the schema, no outputs, no function definitions."""
    from analysis.pipeline.runner import parameters_cell_names

    names = set(parameters_cell_names(nb))
    assert names == set(params.schema_for(nb).model_fields)
    notebook = nbformat.read(nb, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{nb.name} is committed with outputs"
            assert cell.get("execution_count") is None
            assert "\ndef " not in "\n" + cell.source, "logic belongs in src/analysis"
            assert "\nclass " not in "\n" + cell.source
    assert notebook.metadata["kernelspec"]["name"] == config.KERNEL_NAME


def test_cli_bad_params_exit_code_and_message(tmp_path):
    path = write_yaml(tmp_path, {**default_values(), "figure_dpi": -1})
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(tmp_path / "build")}
    proc = run([PY, "-m", "analysis.pipeline.runner", str(NB), "--params", str(path)], env=env)
    assert proc.returncode == 2
    assert "figure_dpi" in proc.stderr and str(path) in proc.stderr
    assert not (tmp_path / "build" / "notebooks" / "00_sources.ipynb").exists()


@pytest.mark.slow
def test_failing_cell_keeps_previous_outputs(tmp_path):
    """A failing notebook: exit 1, the cell named, the executed copy kept, the previous
    executed notebook and results untouched."""
    src = tmp_path / "notebooks" / "00_sources.ipynb"
    src.parent.mkdir()
    shutil.copy(NB, src)
    notebook = nbformat.read(src, as_version=4)
    notebook.cells.insert(4, nbformat.v4.new_code_cell(
        "#| label: boom\nraise RuntimeError('deliberate failure for the test')"))
    nbformat.write(notebook, src)

    build = tmp_path / "build"
    previous_nb = build / "notebooks" / "00_sources.ipynb"
    previous_res = build / "results" / "00_sources.json"
    previous_nb.parent.mkdir(parents=True)
    previous_res.parent.mkdir(parents=True)
    previous_nb.write_text("previous executed notebook")
    previous_res.write_text(json.dumps({"previous": True}))

    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(build)}
    proc = run([PY, "-m", "analysis.pipeline.runner", str(src), "--params",
                str(config.PARAMS_DIR / "00_sources.yaml"), "--output", str(previous_nb)],
               env=env)
    assert proc.returncode == 1, proc.stderr
    # named by its label and its number among the notebook's own code cells
    source = nbformat.read(src, as_version=4)
    code = [c for c in source.cells if c.cell_type == "code"]
    number = next(i for i, c in enumerate(code, 1) if "label: boom" in c.source)
    assert f"failed in code cell {number} of {len(code)} ('boom')" in proc.stderr
    assert "deliberate failure for the test" in proc.stderr
    kept = build / "notebooks" / "failed" / "00_sources.ipynb"
    assert kept.is_file()
    executed = nbformat.read(kept, as_version=4)
    assert any(o.get("output_type") == "error" for c in executed.cells
               for o in c.get("outputs", []))
    assert previous_nb.read_text() == "previous executed notebook"
    assert json.loads(previous_res.read_text()) == {"previous": True}


@pytest.mark.slow
def test_scratch_run_with_relative_output(tmp_path):
    """A run written outside build/notebooks keeps its results beside it, even when the
    output path is relative to the caller's directory (the kernel runs elsewhere)."""
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(tmp_path / "build")}
    proc = run([PY, "-m", "analysis.pipeline.runner", str(NB), "--params",
                str(config.PARAMS_DIR / "00_sources.yaml"), "--output",
                "scratch/00_sources.ipynb"], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "scratch" / "00_sources.results.json").read_text())
    assert results["numbers"]["n_figures"]["value"] > 0
    assert not (tmp_path / "build" / "results").exists()  # the build's results untouched
