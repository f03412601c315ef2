"""The "What changed" appendix (analysis.pipeline.changes): comparison of two sets of
results, the baselines it can compare with, and the Markdown both renderers include."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import run

from analysis import config
from analysis.pipeline import changes


def results(value=0.25, holdout=14, cell=1.5, sha="a" * 64) -> dict[str, dict]:
    """A results set shaped like build/results/<name>.json."""
    return {"01_retention": {
        "numbers": {"retention_365": {"value": value, "unit": "share",
                                      "description": "day-365 retention"},
                    "users": {"value": 1200, "unit": "users", "description": "users"}},
        "tables": {"compare": {"columns": ["model", "aic", "holdout_mae"],
                               "rows": [{"model": "sBG", "aic": 311.5, "holdout_mae": cell},
                                        {"model": "BdW", "aic": 300.0, "holdout_mae": 0.2}]}},
        "parameters": {"holdout_days": holdout, "market": "US"},
        "provenance": {"files_read": {"data/raw/x.csv": sha},
                       "saved_utc": "2026-12-04T00:00:00Z"},
    }}


@pytest.fixture()
def report_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "REPORT_BUILD_DIR", tmp_path / "report")
    return tmp_path / "report"


def test_identical_results_say_nothing_changed():
    report = changes.compare(results(), results())
    assert changes.nothing_changed(report)
    text = changes.changes_markdown(changes.Baseline("the previous report", results()),
                                    results(), {"commit": "c" * 40, "dirty": False})
    assert "Nothing changed" in text
    assert "1e-06" in text  # the tolerance is stated


def test_wall_clock_fields_are_not_changes():
    new = results()
    new["01_retention"]["provenance"]["saved_utc"] = "2027-01-01T00:00:00Z"
    assert changes.nothing_changed(changes.compare(results(), new))


def test_one_parameter_changed_lists_parameter_numbers_and_cells():
    old, new = results(), results(value=0.27, holdout=21, cell=1.6)
    report = changes.compare(old, new)
    assert report["parameters"] == [{"notebook": "01_retention", "name": "holdout_days",
                                     "old": 14, "new": 21}]
    assert [n["name"] for n in report["numbers"]] == ["retention_365"]
    [table] = report["tables"]
    assert table["cells"] == [{"row": "sBG", "column": "holdout_mae", "old": 1.5, "new": 1.6}]
    text = changes.changes_markdown(changes.Baseline("the previous report", old), new, {})
    assert "| 01_retention | `holdout_days` | 14 | 21 |" in text
    assert "| 01_retention | `retention_365` | 0.25 | 0.27 | +0.02 | +8 % |" in text
    assert "1 key number changed" in text


def test_differences_within_the_tolerance_are_not_changes():
    assert changes.nothing_changed(changes.compare(results(0.25), results(0.25 * (1 + 1e-9))))
    assert not changes.nothing_changed(changes.compare(results(0.25), results(0.2501)))


def test_changed_input_checksum_is_listed():
    report = changes.compare(results(), results(sha="b" * 64))
    assert report["inputs"] == [{"notebook": "01_retention", "name": "data/raw/x.csv",
                                 "old": "a" * 64, "new": "b" * 64}]


def test_rows_are_matched_by_key_not_position():
    old, new = results(), results()
    rows = new["01_retention"]["tables"]["compare"]["rows"]
    rows.reverse()
    rows.append({"model": "Weibull", "aic": 290.0, "holdout_mae": 0.1})
    [table] = changes.compare(old, new)["tables"]
    assert table["cells"] == []
    assert table["rows_added"] == ["Weibull"]


def test_added_and_removed_numbers_and_notebooks():
    old, new = results(), copy.deepcopy(results())
    del new["01_retention"]["numbers"]["users"]
    new["02_dau_forecast"] = {"numbers": {}, "tables": {}}
    report = changes.compare(old, new)
    assert report["numbers_removed"] == [{"notebook": "01_retention", "name": "users",
                                          "old": 1200}]
    assert report["notebooks_added"] == ["02_dau_forecast"]


def test_first_report_says_there_is_nothing_to_compare_with(report_dir):
    path = changes.write_changes(results(), {})
    assert "first report" in path.read_text()
    saved = json.loads(path.with_suffix(".json").read_text())
    assert saved["baseline"] is None


def test_previous_render_is_the_default_baseline(report_dir):
    changes.remember(results(), {"commit": "c" * 40, "dirty": True})
    text = changes.write_changes(results(holdout=21), {"commit": "c" * 40}).read_text()
    assert "Compared with the previous report" in text
    assert "`holdout_days`" in text
    # a dirty tree keeps no history for its commit
    assert not (report_dir / "history").exists()


def test_compare_with_a_folder_of_saved_results(report_dir, tmp_path):
    saved = tmp_path / "saved" / "results"
    saved.mkdir(parents=True)
    for name, payload in results(value=0.3).items():
        (saved / f"{name}.json").write_text(json.dumps(payload))
    text = changes.write_changes(results(), {}, str(tmp_path / "saved")).read_text()
    assert "retention_365" in text and "0.3" in text


def test_compare_with_an_empty_folder_or_unknown_ref_is_refused(report_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(changes.CompareError, match="holds no results"):
        changes.resolve_baseline(str(tmp_path / "empty"))
    with pytest.raises(changes.CompareError, match="neither a directory of results nor a git"):
        changes.resolve_baseline("no-such-ref-or-folder")


def test_compare_with_a_git_ref_uses_the_results_kept_for_that_commit(report_dir):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=config.PROJ_ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()
    with pytest.raises(changes.CompareError, match="no results of commit"):
        changes.resolve_baseline("HEAD")
    changes.remember(results(value=0.2), {"commit": head, "dirty": False})
    assert (report_dir / "history" / head / "01_retention.json").is_file()
    baseline = changes.resolve_baseline("HEAD")
    assert baseline.meta["commit"] == head
    assert baseline.results["01_retention"]["numbers"]["retention_365"]["value"] == 0.2
    assert "saved_utc" not in baseline.results["01_retention"]["provenance"]


# --- Across two real builds ---------------------------------------------------------------

@pytest.mark.slow
def test_two_builds_with_one_parameter_changed(built, tmp_path):
    """Render, change one parameter of notebook 00, re-run it and render again: the
    appendix of the HTML names the parameter and the numbers it moved; a third render
    with nothing changed says so; a --compare that cannot be resolved exits 2 and leaves
    the reports as they were."""
    root = tmp_path / "project"
    shutil.copytree(built["root"], root, symlinks=True)
    build, reports = root / "build", root / "reports"
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(build)}
    render = [sys.executable, "-m", "analysis.pipeline.render", "--engine", "pandoc",
              "--format", "html", "--no-notebooks", "--reports-dir", str(reports)]
    run(render, env=env, check=True)  # the copied build's render is the baseline
    params = tmp_path / "00_sources.yaml"
    params.write_text((config.PARAMS_DIR / "00_sources.yaml").read_text()
                      .replace("episode_end: 2025-03-31", "episode_end: 2025-02-28"))
    notebook = config.NOTEBOOKS_DIR / "00_sources.ipynb"
    run([sys.executable, "-m", "analysis.pipeline.runner", str(notebook), "--params",
         str(params), "--output", str(build / "notebooks" / notebook.name)], env=env,
        check=True)
    run(render, env=env, check=True)
    text = (build / "report" / "changes.md").read_text()
    assert "| 00_sources | `episode_end` | 2025-03-31 | 2025-02-28 |" in text
    assert "key number" in text and "Nothing changed" not in text
    html = (reports / "_output" / "findings.html").read_text()
    assert "episode_end" in html and "What changed" in html

    run(render, env=env, check=True)
    assert "Nothing changed" in (build / "report" / "changes.md").read_text()
    before = (reports / "_output" / "findings.html").read_bytes()
    proc = run([*render, "--compare", "no-such-ref"], env=env)
    assert proc.returncode == 2 and "no-such-ref" in proc.stderr
    assert (reports / "_output" / "findings.html").read_bytes() == before
