"""Notebooks 01 and 02 on a real, public log nobody here made (issue 14): the CDNOW
purchase log of Lifetimes 0.11.3 (data/raw/reference/SOURCE_README.md) -- its test slice
of 294 customers for notebook 01, the whole log (69,659 rows) for notebook 02. Parameter
file -> runner -> results; cohort sizes and daily active users checked against direct
pandas counts; no output may call the data simulated."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from analysis import config

REFERENCE = config.PROJ_ROOT / "data" / "raw" / "reference"
SLICE = REFERENCE / "cdnow_master_purchases_slice.csv"
FULL = REFERENCE / "cdnow_master_purchases.csv"


def _run(tmp_path, notebook: str, params: str):
    """Run ``notebook`` with the parameter text ``params`` into ``tmp_path/build``."""
    path = tmp_path / f"{notebook}.yaml"
    path.write_text(params)
    out = tmp_path / "build" / "notebooks" / f"{notebook}.ipynb"
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(tmp_path / "build")}
    run = subprocess.run([sys.executable, "-m", "analysis.pipeline.runner",
                          str(config.NOTEBOOKS_DIR / f"{notebook}.ipynb"), "--params",
                          str(path), "--output", str(out), "--quiet"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    return run, out


def _outputs_text(out) -> str:
    nb = nbformat.read(out, as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Notebook 01 on the slice and notebook 02 on the whole log, into one scratch
    build (as the README's "Run it on your own data" does)."""
    tmp_path = tmp_path_factory.mktemp("observed")
    run01, out01 = _run(tmp_path, "01_retention",
                    f"source: {SLICE}\nuser_column: customer_id\ntime_column: date\n"
                    "time_format: '%Y%m%d'\ncohort_start: 1997-01-01\ncohort_end: 1997-03-31\n"
                    "definition: unbounded\nholdout_days: 90\nhorizons: [90, 365, 730]\n")
    run02, out02 = _run(tmp_path, "02_dau_forecast",
                        f"source: {FULL}\nuser_column: customer_id\ntime_column: date\n"
                        "time_format: '%Y%m%d'\nforecast_start: 1998-01-01\nhorizon_days: 180\n")
    return tmp_path, (run01, out01), (run02, out02)


@pytest.mark.slow
def test_notebook_01_on_cdnow_slice(built):
    tmp_path, (run, out), _ = built
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "build" / "results" / "01_retention.json").read_text())
    cohorts = pd.DataFrame(results["tables"]["cohorts"]["rows"])
    log = pd.read_csv(SLICE)
    first = pd.to_datetime(log.groupby("customer_id")["date"].min().astype(str), format="%Y%m%d")
    want = first[(first >= "1997-01-01") & (first <= "1997-03-31")].value_counts().sort_index()
    assert cohorts["users"].tolist() == want.tolist()
    assert pd.to_datetime(cohorts["cohort_date"]).tolist() == want.index.tolist()
    assert any(k.endswith("cdnow_master_purchases_slice.csv") for k in
               results["provenance"]["files_read"])
    assert "projection" in results["tables"] and "recovery" not in results["tables"]
    text = _outputs_text(out)
    assert "observed" in text and "SIMULATED" not in text.replace("image/png", "")


@pytest.mark.slow
def test_notebook_02_on_cdnow(built):
    tmp_path, _, (run, out) = built
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "build" / "results" / "02_dau_forecast.json").read_text())
    dau = pd.DataFrame(results["tables"]["dau"]["rows"])
    log = pd.read_csv(FULL)
    want = log.groupby("date")["customer_id"].nunique()
    want.index = pd.to_datetime(want.index.astype(str), format="%Y%m%d")
    want = want.reindex(pd.date_range(want.index.min(), want.index.max()), fill_value=0)
    assert pd.to_datetime(dau["date"]).tolist() == want.index.tolist()
    assert dau["dau"].astype(int).tolist() == want.tolist()
    # scored on the 180 observed days of 1998 it did not see; no simulation's truth
    scores = pd.DataFrame(results["tables"]["out_of_sample"]["rows"])
    assert set(scores["days"]) == {180}
    assert "scenario_assumptions" not in results["tables"]
    assert any(k.endswith("cdnow_master_purchases.csv") for k in
               results["provenance"]["files_read"])
    text = _outputs_text(out)
    assert "observed" in text and "SIMULATED" not in text.replace("image/png", "")


@pytest.mark.slow
def test_notebook_02_refuses_an_origin_outside_the_log(tmp_path):
    """The default forecast_start (2025) is not in a 1997-98 log: the run fails naming
    the parameter and the log's days, and writes no results."""
    run, out = _run(tmp_path, "02_dau_forecast",
                    f"source: {FULL}\nuser_column: customer_id\ntime_column: date\n"
                    "time_format: '%Y%m%d'\n")
    assert run.returncode != 0
    assert "forecast_start 2025-03-01 must lie between 1997-01-29" in run.stderr
    assert not (tmp_path / "build" / "results" / "02_dau_forecast.json").exists()


@pytest.mark.slow
def test_observed_report_renders(built):
    """The template reports/observed/, copied next to the scratch build, renders both
    notebooks' observed sections with the log's checksum in the provenance appendix."""
    tmp_path, (run01, _), (run02, _) = built
    assert run01.returncode == 0 and run02.returncode == 0
    shutil.copytree(config.PROJ_ROOT / "reports" / "observed", tmp_path / "reports")
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(tmp_path / "build")}
    run = subprocess.run([sys.executable, "-m", "analysis.pipeline.render", "--reports-dir",
                          str(tmp_path / "reports"), "--format", "html"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    page = (tmp_path / "reports" / "_output" / "observed.html").read_text()
    text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]*"', "", page))
    assert "SIMULATED" not in text and "simulated panel" not in text
    assert "observed" in text
    assert hashlib.sha256(FULL.read_bytes()).hexdigest() in text
    for caption in ("Observed cohorts", "Out-of-sample check on observed data",
                    "Rolling-origin backtest of the statistical forecasters on the whole "
                    "observed series"):
        assert caption in text


def _spark_available() -> str | None:
    """Why the Spark run cannot happen here, or None."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None


@pytest.mark.slow
def test_notebook_02_counts_the_log_on_spark_from_a_parameter_file(tmp_path):
    """engine: spark in a parameter file: the same CDNOW log as Parquet, counted by Spark
    in the notebook's kernel, gives the same daily active users, forecasts and scores as
    engine: duckdb."""
    if reason := _spark_available():
        pytest.skip(reason)
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = pd.read_csv(FULL)
    log = tmp_path / "cdnow.parquet"
    pq.write_table(pa.table({"customer": raw["customer_id"].astype("int64"),
                             "day": pd.to_datetime(raw["date"].astype(str),
                                                   format="%Y%m%d").dt.date}), log)
    runs = {}
    for engine in ("duckdb", "spark"):
        (tmp_path / engine).mkdir()
        run, out = _run(tmp_path / engine, "02_dau_forecast",
                        f"source: {log}\nuser_column: customer\ntime_column: day\n"
                        f"engine: {engine}\nforecast_start: 1998-01-01\nhorizon_days: 90\n")
        assert run.returncode == 0, run.stderr[-3000:]
        runs[engine] = json.loads((tmp_path / engine / "build" / "results"
                                   / "02_dau_forecast.json").read_text())
    duck, spark = runs["duckdb"], runs["spark"]
    assert spark["tables"]["dau"] == duck["tables"]["dau"]
    assert spark["tables"]["source"]["rows"][0]["sha256"] == "not computed (Spark source)"
    assert {k: v["value"] for k, v in spark["numbers"].items()} == \
        {k: v["value"] for k, v in duck["numbers"].items()}
    counts = raw.drop_duplicates(["customer_id", "date"]).groupby("date").size()
    dau = pd.DataFrame(spark["tables"]["dau"]["rows"])
    assert int(dau["dau"].sum()) == int(counts.sum())


def test_engine_spark_is_refused_without_an_observed_log_or_with_duckdb_only_options():
    from pydantic import ValidationError

    from analysis.pipeline.params import ForecastParams

    with pytest.raises(ValidationError, match="engine 'spark' needs an observed log"):
        ForecastParams(engine="spark")
    with pytest.raises(ValidationError, match="time_format not supported with engine 'spark'"):
        ForecastParams(engine="spark", source="events", time_format="%Y%m%d")
    assert ForecastParams(engine="spark", source="events").engine == "spark"


@pytest.mark.slow
def test_notebook_01_monthly_cohorts_on_cdnow_slice(tmp_path):
    """``cohort_period: month`` on the CDNOW slice: one cohort per first-purchase month,
    ages in months; the cohort sizes and the share still purchasing in month N or later
    (unbounded retention: a customer's last purchase month minus the first >= N) are
    counted here with pandas from the raw CSV."""
    run, out = _run(tmp_path, "01_retention",
                    f"source: {SLICE}\nuser_column: customer_id\ntime_column: date\n"
                    "time_format: '%Y%m%d'\ncohort_period: month\ncohort_start: 1997-01-01\n"
                    "cohort_end: 1997-03-31\ndefinition: unbounded\nholdout_periods: 3\n"
                    "horizons: [3, 12, 24]\n")
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "build" / "results" / "01_retention.json").read_text())
    cohorts = pd.DataFrame(results["tables"]["cohorts"]["rows"])
    log = pd.read_csv(SLICE)
    month = pd.to_datetime(log["date"].astype(str), format="%Y%m%d").dt.to_period("M")
    span = month.groupby(log["customer_id"]).agg(["min", "max"])
    span = span[(span["min"] >= pd.Period("1997-01", "M"))
                & (span["min"] <= pd.Period("1997-03", "M"))]
    lived = span.apply(lambda r: (r["max"] - r["min"]).n, axis=1)
    want = span["min"].value_counts().sort_index()
    assert cohorts["users"].tolist() == want.tolist()
    assert pd.to_datetime(cohorts["cohort_date"]).tolist() == \
        [p.start_time for p in want.index]
    for n in (1, 3, 12):
        by_cohort = (lived >= n).groupby(span["min"]).mean().sort_index()
        assert cohorts[f"month_{n}"].tolist() == pytest.approx(by_cohort.tolist())
    assert "months_observed" in cohorts.columns
    assert "retention_month24" in results["tables"]["compare"]["columns"]
    assert "horizon_months" in results["tables"]["projection"]["columns"]
    assert results["numbers"]["holdout_cutoff_months"]["value"] == 3
    text = _outputs_text(out)
    assert "monthly cohorts" in text and "after 12 months" in text
    # the BG/BB is left out, and its cells say so (a report embedding them still renders)
    assert text.count("The BG/BB is left out here") == 3 and "bgbb_alive" not in results["tables"]
    assert "SIMULATED" not in text.replace("image/png", "")
