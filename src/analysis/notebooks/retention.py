r"""Helpers of the retention notebook (``01_retention``): cohorts, fits, checks, plots.

The notebook asks: of the users who arrived in a window of January 2025, what share is
still active after 30, 90, 180 and 365 days, and how sure are we? It runs on the
SIMULATED panel of :mod:`analysis.simulation.panel` (no RedNote logs exist outside the company), so
this module also compares every estimate with the simulation's true parameters.

What the fitted curves estimate
-------------------------------
In the simulation (:mod:`analysis.simulation.users`) user :math:`i` churns after a geometric
lifetime with probability :math:`\theta_i \sim \mathrm{Beta}(a, b)` per day, so the share
not churned at age :math:`N` is the sBG survivor function :math:`S(N)`; while alive the
user is active on a given day with probability :math:`\pi_i w(t)` (:math:`\pi_i` the
activity propensity, mean :math:`\mu`). Hence

* *classic* retention ("active on day N") has expectation :math:`\mu\, w\, S(N)`: an
  activity curve, not a survival curve;
* *unbounded* retention ("active on day N or later") is the share whose *last active
  day* :math:`L` is at least :math:`N`. :math:`L \le M` (the last day alive), so
  :math:`P(L \ge N) \le S(N)`: a user who is still alive on day :math:`N` but churns
  before being active again is counted as lost early. The gap is largest in the first
  days (most churners leave within days) and vanishes at long ages, where the survivors
  are long-lived users who are almost surely seen again. Near the end of the
  observation window the count is also biased low (a user who will come back after the
  window is not seen yet), so :func:`fitting_rows` drops the last
  :data:`END_GUARD_DAYS` days of every cohort.

An sBG fitted to unbounded retention is therefore consistent for the *pseudo-true*
parameters -- those of the sBG closest to :math:`P(L \ge N)` -- not for the churn
:math:`\mathrm{Beta}(a, b)` itself. :func:`pseudo_true_fit` computes them exactly (a fit
to the expected curves of :func:`analysis.simulation.users.expected_cohort_curves`, no
sampling), and :func:`recovery_table` sets the estimate against both the truth and this
target, so that sampling error (estimate vs target) and the activity-lag bias (target vs
truth) are told apart.

Functions
---------
The notebook reads parameters -> load -> fit -> show -> say; so does this module:

:func:`arrival_cohorts`    load: the cohorts of a :class:`~analysis.simulation.panel.Panel`
                           (:class:`Arrivals`: events, cohort table, fitted rows, sizes)
:func:`fitting_rows`       the rows a retention model is fitted to (guarded)
:func:`compare_families`   holdout error and AIC/BIC, fitted before a cutoff
:func:`best_family`, :func:`shown_families`, :func:`retention_at`
:func:`projection_table`   retention at horizons, intervals, implied users (scaled up)
:func:`expected_rows`, :func:`pseudo_true_fit`, :func:`true_retention`,
:func:`expected_retention`, :func:`truth_curves`, :func:`projection_truths`
:func:`recovery_table`, :func:`parameter_recovery`   estimates vs the simulation's truth
                           and the estimator's target
:func:`display_cohorts`, :func:`display_compare`, ... report tables
:func:`projection_numbers`, :func:`recovery_numbers`  the named numbers of a table
:func:`compare_findings`, :func:`projection_findings`, :func:`recovery_findings`,
:func:`dau_check_findings`  the numbers the notebook's sentences state
:func:`plot_cohort_curves`, :func:`plot_projection`

The panel itself (:class:`~analysis.simulation.panel.Panel`, the anchor check) lives in
:mod:`analysis.simulation.panel`; what notebook 02 shares with this one (cohort tables,
fitting every family, the anchor figure and its description) in
:mod:`analysis.notebooks.common`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import betaln

from analysis.data import cohorts, sources
from analysis.data.events import EventLog
from analysis.models import retention
from analysis.notebooks import common
from analysis.notebooks.common import (
    BGBBFit,
    approximate_day,
    axes_or_new,
    date_span,
    fit_bgbb,
    fmt_int,
    fmt_millions,
    fmt_pct,
    interval_text,
)
from analysis.simulation import users as simulate
from analysis.simulation.panel import Panel

__all__ = [
    "PERIOD_ADJECTIVE",
    "bgbb_left_out",
    "age_of",
    "definition_text",
    "guard_periods",
    "period_of",
    "periods_before",
    "READINGS",
    "calibration_readings",
    "display_readings",
    "readings_sentence",
    "CalibrationFit",
    "calibration_fit",
    "arrival_cohorts",
    "Arrivals",
    "best_family",
    "cohort_summary",
    "compare_families",
    "compare_findings",
    "compare_sentence",
    "compare_with_projection",
    "CompareFindings",
    "coverage_phrase",
    "dau_check_findings",
    "DauCheckFindings",
    "DEFINITION_TEXT",
    "display_cohorts",
    "display_compare",
    "display_dau_check",
    "display_params",
    "display_projection",
    "display_recovery",
    "END_GUARD_DAYS",
    "expected_retention",
    "expected_rows",
    "fitting_rows",
    "format_interval",
    "parameter_recovery",
    "plot_cohort_curves",
    "plot_projection",
    "pooled_share",
    "projection_findings",
    "projection_sentence",
    "projection_numbers",
    "projection_table",
    "projection_truths",
    "ProjectionFindings",
    "pseudo_true_fit",
    "recovery_findings",
    "recovery_numbers",
    "recovery_table",
    "RecoveryFindings",
    "retention_at",
    "shown_families",
    "survival_band",
    "true_at_horizons",
    "true_retention",
    "truth_curves",
    "USERS_LABEL",
    "with_truth",
]

Definition = Literal["classic", "unbounded"]

#: Days at the end of each cohort's observation dropped from unbounded-retention fits:
#: "active on day N or later" is biased low near the window's end (a user who comes
#: back after the window is not seen). 14 days: with the simulation's activity
#: propensities (Beta(3.5, 1.5), weekday factor >= 0.94) a user alive 14 days before the
#: end goes unseen for all 14 days with probability about 0.2 %; fits with a 7-day and a
#: 14-day guard agree to the third digit on the default panel.
END_GUARD_DAYS = 14
#: Days in a cohort period, for converting :data:`END_GUARD_DAYS` (rounded up).
DAYS_PER_PERIOD = {"day": 1, "week": 7, "month": 30}


def age_of(frame: pd.DataFrame) -> str:
    """The age column of a cohort or retention table: ``age_days``, ``age_weeks`` or
    ``age_months`` (:func:`analysis.data.cohorts.age_column`)."""
    for period in DAYS_PER_PERIOD:
        col = cohorts.age_column(period)
        if col in frame.columns:
            return col
    raise ValueError(f"no age column (age_days, age_weeks, age_months) in {list(frame.columns)}")


def period_of(frame: pd.DataFrame) -> str:
    """``day``, ``week`` or ``month``: the unit of a table's ages (:func:`age_of`)."""
    return age_of(frame).removeprefix("age_").removesuffix("s")


def guard_periods(definition: str, period: str = "day") -> int:
    """Ages dropped at the end of each cohort for ``definition``: :data:`END_GUARD_DAYS`
    in ``period`` units, rounded up (14 days, 2 weeks, 1 month); 0 for classic."""
    if definition != "unbounded":
        return 0
    return -(-END_GUARD_DAYS // DAYS_PER_PERIOD[period])


def periods_before(day, n: int, period: str = "day") -> pd.Timestamp:
    """The day ``n`` periods before ``day`` (calendar months for ``month``)."""
    day = pd.Timestamp(day)
    if period == "month":
        return day - pd.DateOffset(months=n)
    return day - pd.Timedelta(days=n * DAYS_PER_PERIOD[period])

#: Colours of the model families in every figure.
FAMILY_COLOURS = {
    "sBG": "#1f77b4",
    "BdW": "#ff7f0e",
    "geometric": "#8c564b",
    "power law": "#2ca02c",
    "Weibull": "#9467bd",
}
TRUTH_COLOUR = "#222222"

#: What the implied users of a projection are, by retention definition (table header).
USERS_LABEL = {
    "unbounded": "arrivals still active (scaled up)",
    "classic": "arrivals active that day (scaled up)",
}
#: The same for an observed log (no scaling).
OBSERVED_USERS_LABEL = {
    "unbounded": "users of the cohorts still active",
    "classic": "users of the cohorts active that day",
}


# ------------------------------------------------------------------------- the arrivals


@dataclass(frozen=True, eq=False)
class Arrivals:
    """The arrival cohorts of a panel (:func:`arrival_cohorts`).

    ``start``, ``end``: the install window; ``as_of``: the panel's last day (the cohorts
    are observed until then); ``events``: the cohorts' events; ``table``: the
    install-cohort table as of ``as_of``; ``all_rows``: every observed (cohort, age) row
    of ``definition``; ``rows``: the rows fitted (:func:`fitting_rows`); ``guarded``:
    the rows left out at the end of the window (None if there is none);
    ``cohort_dates``: the install days; ``n_users``: users in the panel; ``n_arrivals``:
    the same at full scale; ``summary``: one row per cohort (:func:`cohort_summary`).
    """

    panel: Panel | None  # None for an observed log (then ``log`` is set)
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    definition: Definition
    events: pd.DataFrame
    table: pd.DataFrame
    all_rows: pd.DataFrame
    rows: pd.DataFrame
    guarded: pd.DataFrame | None
    cohort_dates: list
    n_users: int
    n_arrivals: float
    summary: pd.DataFrame
    log: EventLog | None = None
    period: str = "day"  # the cohorts' period: ages, holdouts and horizons in this unit

    @property
    def observed(self) -> bool:
        """True for an analyst's own (observed) log, False for the simulated panel."""
        return self.panel is None

    @property
    def n_cohorts(self) -> int:
        return len(self.cohort_dates)

    @property
    def min_days_observed(self) -> int:
        """Fewest periods (days by default) a cohort is observed after installing (the
        last cohort)."""
        return self.summary[f"{self.period}s_observed"].min()

    @property
    def max_days_observed(self) -> int:
        """Most periods (days by default) a cohort is observed after installing (the first
        cohort)."""
        return self.summary[f"{self.period}s_observed"].max()


#: Ages of the cohort summary table, by period.
SUMMARY_AGES = {"day": (1, 7, 30), "week": (1, 4, 12), "month": (1, 3, 12)}


def _cohorts_of(events: pd.DataFrame, c0, c1, as_of, definition: Definition, scale: float,
                period: str = "day", **fields) -> Arrivals:
    table = common.build_cohort_table(events, as_of, period)
    all_rows = cohorts.retention_table(table, definition)
    rows = fitting_rows(table, definition, as_of)
    age = age_of(rows)
    last_fitted = rows.groupby("cohort_date")[age].max()
    guarded = all_rows[all_rows[age] > all_rows["cohort_date"].map(last_fitted)]
    n_users = int(table.groupby("cohort_date")["cohort_size"].first().sum())
    return Arrivals(start=c0, end=c1, as_of=pd.Timestamp(as_of), definition=definition,
                    events=events, table=table, all_rows=all_rows, rows=rows,
                    guarded=guarded if len(guarded) else None,
                    cohort_dates=sorted(table["cohort_date"].unique()), n_users=n_users,
                    n_arrivals=n_users / scale, period=period,
                    summary=cohort_summary(table, definition, scale, SUMMARY_AGES[period]),
                    **fields)


def observed_arrivals(log: EventLog, cohort_start, cohort_end, definition: Definition, *,
                      market: str | None = None, as_of=None,
                      cohort_period: str = "day") -> Arrivals:
    """The users of an observed log (:func:`analysis.data.events.read_event_log`) whose
    cohort day -- the install day when the log has ``install_column``, else the first
    active day -- lies from ``cohort_start`` to ``cohort_end``, observed until ``as_of``
    (default: the log's last day). With ``market`` and a log with ``market_column`` only
    that market's events count. No scaling: the users are the users.

    ``cohort_period`` (``day``, ``week`` from Monday, or ``month``) groups the users into
    cohorts by the period of their cohort day, and counts ages in that unit; then
    ``cohort_start`` must be a period's first day and ``cohort_end`` a period's last day.
    """
    c0, c1 = pd.Timestamp(cohort_start), pd.Timestamp(cohort_end)
    if c1 < c0:
        raise ValueError(f"cohort_end {c1.date()} is before cohort_start {c0.date()}")
    _check_period_bounds(c0, c1, cohort_period)
    end = pd.Timestamp(as_of if as_of is not None else log.last_day)
    if c0.date() < log.first_day:
        raise ValueError(
            f"cohort_start {c0.date()} is before the log's first day {log.first_day}{log.where}: "
            "users active before the log began would be taken for new arrivals; start on or "
            f"after {log.first_day}")
    if c1 > end:
        raise ValueError(f"cohort_end {c1.date()} is after the end of the log ({end.date()})")
    events = events_of_cohorts(log, c0, c1, end, market)
    return _cohorts_of(events, c0, c1, end, definition, 1.0, cohort_period, panel=None,
                       log=log)


def _check_period_bounds(c0: pd.Timestamp, c1: pd.Timestamp, period: str) -> None:
    if period not in DAYS_PER_PERIOD:
        raise ValueError(f"cohort_period must be one of {list(DAYS_PER_PERIOD)}, "
                         f"not {period!r}")
    if period == "day":
        return
    freq = "W-SUN" if period == "week" else "M"  # weeks Monday..Sunday, calendar months
    first = c0.to_period(freq).start_time
    last = c1.to_period(freq).end_time.normalize()
    if c0 != first or c1 != last:
        raise ValueError(
            f"with cohort_period {period!r} the cohorts are whole {period}s: cohort_start "
            f"must be a {period}'s first day and cohort_end a {period}'s last day (got "
            f"{c0.date()} .. {c1.date()}; e.g. {first.date()} .. {last.date()})")


def events_of_cohorts(log: EventLog, c0, c1, end, market: str | None = None) -> pd.DataFrame:
    """``user_id, event_date, install_date`` of the users whose cohort day (install, else
    first activity) lies in ``c0 .. c1``, events up to ``end`` (DuckDB: only those users'
    rows reach pandas)."""
    con = cohorts._connect()
    try:
        src = log.select_sql(con)
        where = f"WHERE event_date <= DATE '{pd.Timestamp(end).date()}'"
        if market is not None and log.market_column:
            n = con.execute(f"SELECT count(*) FROM {src} WHERE market = ?", [market]).fetchone()[0]
            if n == 0:
                found = [r[0] for r in con.execute(
                    f"SELECT DISTINCT market FROM {src} ORDER BY 1 LIMIT 20").fetchall()]
                raise ValueError(f"market {market!r} has no event{log.where} (column "
                                 f"{log.market_column!r} holds {found})")
            where += f" AND market = {cohorts._sql_str(market)}"
        day = "min(install_date)" if log.install_column else "min(event_date)"
        events = con.execute(
            f"WITH ev AS (SELECT * FROM {src} {where}), "
            f"u AS (SELECT user_id, {day} AS install_date FROM ev GROUP BY user_id) "
            f"SELECT ev.user_id, CAST(ev.event_date AS TIMESTAMP) AS event_date, "
            f"CAST(u.install_date AS TIMESTAMP) AS install_date FROM ev JOIN u USING (user_id) "
            f"WHERE u.install_date BETWEEN DATE '{c0.date()}' AND DATE '{c1.date()}'"
        ).df()
    finally:
        con.close()
    if events.empty:
        raise ValueError(f"no user's cohort day falls from {c0.date()} to {c1.date()}{log.where}")
    for col in ("event_date", "install_date"):
        events[col] = events[col].astype("datetime64[ns]")
    return events


def describe_log(log: EventLog, arrivals: Arrivals) -> str:
    """A sentence naming the observed log (:func:`analysis.notebooks.common.describe_source`)
    and what a user's cohort is."""
    cohort_day = (f"install day (column `{log.install_column}`)" if log.install_column
                  else "first active day")
    return common.describe_source(log) + f" A user's cohort is the {cohort_day}."


def display_observed_cohorts(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`cohort_summary` of an observed log formatted for a report table."""
    out = display_cohorts(summary).drop(columns=["users in panel", "users, scaled up"])
    out.insert(1, "users", summary["users"].map(lambda v: f"{v:,.0f}"))
    return out.rename(columns={"cohort (install day)": "cohort (first day)"
                               if "days observed" in out.columns else "cohort"})


def arrival_cohorts(panel: Panel, cohort_start, cohort_end,
                    definition: Definition) -> Arrivals:
    """The users of ``panel`` who installed from ``cohort_start`` to ``cohort_end``
    (inclusive), as cohorts observed until the panel's last day, measured by
    ``definition`` retention."""
    c0, c1 = pd.Timestamp(cohort_start), pd.Timestamp(cohort_end)
    events = panel.cohort_events(c0, c1)
    return _cohorts_of(events, c0, c1, panel.end, definition, panel.scale, panel=panel)


# ------------------------------------------------------------------------------ cohorts


def fitting_rows(table: pd.DataFrame, definition: Definition, as_of,
                 guard_days: int | None = None) -> pd.DataFrame:
    """The rows a retention model is fitted to: ``cohort_date, age_days, cohort_size,
    retained_users, retention`` (:func:`analysis.data.cohorts.retention_table`).

    For ``"unbounded"`` the last ``guard_days`` (default :data:`END_GUARD_DAYS`) ages of
    each cohort -- the days just before ``as_of`` -- are dropped (biased low, see the
    module docstring); classic retention needs no guard (default 0).
    """
    if guard_days is None:
        guard_days = guard_periods(definition, period_of(table))
    if guard_days < 0:
        raise ValueError(f"guard_days must be >= 0, got {guard_days}")
    # the dense table runs to as_of, so the library's guard (the last ages of each
    # cohort) drops the days just before as_of
    out = cohorts.retention_table(table, definition, end_guard=guard_days)
    if out.empty or out[age_of(out)].max() < 2:
        raise ValueError(
            f"after dropping the last {guard_days} {period_of(table)}s of each cohort fewer "
            f"than three "
            f"ages are left to fit; observe the cohorts longer (as_of {pd.Timestamp(as_of).date()})")
    return out


def pooled_share(rows: pd.DataFrame) -> pd.DataFrame:
    """``age_days, retention`` (or the rows' age column) pooled over cohorts (sum
    retained / sum of sizes)."""
    age = age_of(rows)
    g = rows.groupby(age)[["retained_users", "cohort_size"]].sum()
    return pd.DataFrame({age: g.index.to_numpy(),
                         "retention": (g["retained_users"] / g["cohort_size"]).to_numpy()})


# ------------------------------------------------------------------------------ fitting


def _family_name(spec) -> str:
    return spec.family if isinstance(spec, type) else type(spec).family


def compare_families(events: pd.DataFrame, as_of, definition: Definition, holdout_days: int,
                     families: Sequence | None = None,
                     guard_days: int | None = None, period: str = "day") -> pd.DataFrame:
    """Fit every family on the data up to ``as_of - holdout_days``, score the projection
    on the held-out days (``holdout_days`` counts periods of ``period``: days by default).

    The calibration table is rebuilt as if the log ended at the cutoff (so unbounded
    retention sees nothing of the holdout) and guarded like :func:`fitting_rows`. The
    holdout rows are the rows of the full table (to ``as_of``, same guard) beyond each
    cohort's last calibration age. Errors are over (cohort, age) rows: ``holdout_mae``
    (mean absolute error, percentage points of the cohort) and ``holdout_mape`` (mean
    absolute percentage error, rows with non-zero observed retention).

    Returns
    -------
    DataFrame
        Index ``model``; ``n_params, log_likelihood, aic, bic, delta_aic, delta_bic``
        (calibration fits, same data for every family), ``holdout_mae, holdout_mape,
        holdout_rows``, ``note``.
    """
    calib, hold, cutoff = holdout_split(events, as_of, definition, holdout_days, guard_days,
                                        period)
    age = age_of(calib)
    models, notes = common.fit_families(calib, definition, families)
    rows = []
    for spec in families or retention.DEFAULT_MODELS:
        name = _family_name(spec)
        row = {"model": name, "n_params": len(spec.param_names), "note": notes.get(name, "")}
        m = models.get(name)
        if m is None:
            row |= dict(log_likelihood=np.nan, aic=np.nan, bic=np.nan,
                        holdout_mae=np.nan, holdout_mape=np.nan)
        else:
            pred = np.asarray(m.survival(hold[age].to_numpy(dtype=float)))
            obs = hold["retention"].to_numpy()
            nz = obs > 0
            row |= dict(
                log_likelihood=m.log_likelihood_, aic=m.aic_, bic=m.bic_,
                holdout_mae=float(np.mean(np.abs(pred - obs)) * 100),
                holdout_mape=float(np.mean(np.abs(pred[nz] - obs[nz]) / obs[nz]) * 100)
                if nz.any() else np.nan,
            )
        row["holdout_rows"] = int(len(hold))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("model")
    out["delta_aic"] = out["aic"] - out["aic"].min()
    out["delta_bic"] = out["bic"] - out["bic"].min()
    cols = ["n_params", "log_likelihood", "aic", "delta_aic", "bic", "delta_bic",
            "holdout_mae", "holdout_mape", "holdout_rows", "note"]
    out = out[cols]
    out.attrs.update(cutoff=cutoff, calibration_rows=len(calib),
                     calibration_max_age=int(calib[age].max()))
    return out


def holdout_split(events: pd.DataFrame, as_of, definition: Definition, holdout_days: int,
                  guard_days: int | None = None, period: str = "day"):
    """``(calibration rows, holdout rows, cutoff)`` of :func:`compare_families`: the rows
    as the log stood ``holdout_days`` before ``as_of`` and the rows of the full log beyond
    each cohort's last calibration age (both guarded like :func:`fitting_rows`)."""
    if holdout_days < 1:
        raise ValueError(f"holdout_days must be >= 1, got {holdout_days}")
    end = pd.Timestamp(as_of)
    cutoff = periods_before(end, holdout_days, period)
    calib = fitting_rows(common.build_cohort_table(events, cutoff, period), definition,
                         cutoff, guard_days)
    full = fitting_rows(common.build_cohort_table(events, end, period), definition, end,
                        guard_days)
    age = age_of(full)
    last_calib = calib.groupby("cohort_date")[age].max()
    beyond = full[age] > full["cohort_date"].map(last_calib).fillna(-1)
    hold = full[beyond]
    if hold.empty:
        raise ValueError("the holdout period holds no observation")
    return calib, hold, cutoff


def best_family(compare: pd.DataFrame) -> str:
    """The family with the smallest holdout error in :func:`compare_families`."""
    return compare["holdout_mae"].idxmin()


def shown_families(models: Mapping[str, object], best: str) -> dict:
    """The models a figure shows: the sBG and ``best`` (once if they are the same)."""
    return {name: models[name] for name in dict.fromkeys(["sBG", best]) if name in models}


def retention_at(models: Mapping[str, object], horizon: int) -> dict[str, float]:
    """Each model's projected retention on day ``horizon``."""
    return {name: float(m.survival(horizon)) for name, m in models.items()}


def compare_with_projection(compare: pd.DataFrame, at: Mapping[str, float],
                            horizon: int, unit: str = "day") -> pd.DataFrame:
    """:func:`compare_families` with a column ``retention_day<horizon>`` (``at``: model ->
    projected retention, :func:`retention_at`; ``retention_month<horizon>`` and so on
    for a coarser ``unit``)."""
    return compare.assign(**{f"retention_{unit}{horizon}": pd.Series(at)})


def survival_band(model, t, level: float = 0.95) -> pd.DataFrame:
    """:meth:`survival_interval` (delta method), or NaN bounds when the fit has no
    covariance (a boundary fit) -- never an exception."""
    try:
        return model.survival_interval(t, level)
    except retention.RetentionFitError:
        est = np.atleast_1d(np.asarray(model.survival(t), dtype=float))
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        return pd.DataFrame({"estimate": est, "se": np.nan, "lower": np.nan, "upper": np.nan},
                            index=pd.Index(tt, name="t"))


def projection_table(models: Mapping[str, object], horizons: Iterable[int],
                     n_arrivals: float, level: float = 0.95,
                     period: str = "day") -> pd.DataFrame:
    """Projected retention at ``horizons`` with ``level`` intervals, and the implied users.

    ``n_arrivals`` is the number of users of the cohorts at full scale
    (:attr:`Arrivals.n_arrivals`: the panel's users over its scale); the implied users
    are ``n_arrivals * retention``.

    Returns one row per (model, horizon): ``model, horizon_days, retention, lower, upper,
    users, users_lower, users_upper`` (``horizon_weeks`` / ``horizon_months`` for a
    coarser ``period``).
    """
    if not n_arrivals >= 0:
        raise ValueError(f"n_arrivals must be a count >= 0, got {n_arrivals}")
    hz = [int(h) for h in horizons]
    rows = []
    for name, model in models.items():
        band = survival_band(model, hz, level)
        for h, r in zip(hz, band.itertuples(index=False), strict=True):
            rows.append({"model": name, f"horizon_{period}s": h, "retention": r.estimate,
                         "lower": r.lower, "upper": r.upper})
    out = pd.DataFrame(rows)
    factor = n_arrivals
    for src, dst in (("retention", "users"), ("lower", "users_lower"), ("upper", "users_upper")):
        out[dst] = out[src] * factor
    return out


# ------------------------------------------------------------------------ the simulation


def expected_rows(params: simulate.PanelParams, rows: pd.DataFrame, definition: Definition,
                  as_of) -> pd.DataFrame:
    """The rows of :func:`fitting_rows` with their *expected* values under the
    simulation (no sampling noise): ``retention`` from
    :func:`analysis.simulation.users.expected_cohort_curves` (observation window ending at
    ``as_of``), ``retained_users = retention * cohort_size``."""
    parts = []
    for cohort, g in rows.groupby("cohort_date", sort=True):
        curve = simulate.expected_cohort_curves(params, cohort, as_of).set_index("age_days")
        share = curve[definition].reindex(g["age_days"]).to_numpy()
        part = g[["cohort_date", "age_days", "cohort_size"]].copy()
        part["retention"] = share
        part["retained_users"] = share * part["cohort_size"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[
        ["cohort_date", "age_days", "cohort_size", "retained_users", "retention"]]


def pseudo_true_fit(model, params: simulate.PanelParams, rows: pd.DataFrame,
                    definition: Definition, as_of):
    """The estimator's target: ``model`` (an instance or class) fitted to the expected
    rows (:func:`expected_rows`) -- the limit of the fit with infinitely many users of the
    same cohorts observed at the same ages."""
    model = model() if isinstance(model, type) else model._clone()
    exp = expected_rows(params, rows, definition, as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", retention.RetentionFitWarning)
        return model.fit_cohorts(exp, retention=definition, active_col="retained_users",
                                 cov_type="hessian")


def true_retention(params: simulate.PanelParams, ages, definition: Definition,
                   cohort_dates: Iterable | None = None) -> np.ndarray:
    """The simulation's true value of what a fitted curve projects, at ``ages``.

    ``"unbounded"``: the true survival :math:`S(N) = B(a, b+N)/B(a, b)` -- the share not
    churned, which "active on day N or later" approaches from below at long ages (see the
    module docstring). ``"classic"``: the expected share active on day N,
    :math:`\\mu\\, w\\, S(N)`, with the weekday factor averaged over ``cohort_dates``
    (its weekly mean if none).
    """
    t = np.asarray(ages, dtype=float)
    surv = retention.sbg_survival(params.churn_a, params.churn_b, t)
    if definition == "unbounded":
        return np.asarray(surv, dtype=float)
    weekly = np.asarray(params.weekly, dtype=float)
    if cohort_dates is None:
        w = np.full(t.shape, weekly.mean())
    else:
        dows = np.array([pd.Timestamp(c).day_of_week for c in cohort_dates])
        w = np.array([weekly[(dows + int(a)) % 7].mean() for a in np.ravel(t)]).reshape(t.shape)
    out = params.activity_mean * w * surv
    return np.where(t == 0, 1.0, out)


def expected_retention(arrivals: Arrivals) -> pd.DataFrame:
    """The expected measured retention of the arrivals under the simulation, pooled over
    the cohorts (``age_days, retention``; :func:`expected_rows` of every observed row)."""
    return pooled_share(expected_rows(arrivals.panel.truth, arrivals.all_rows,
                                      arrivals.definition, arrivals.as_of))


def truth_curves(arrivals: Arrivals, expected: pd.DataFrame) -> dict[str, tuple]:
    """The simulation's curves drawn with the observed cohorts: the true survival and
    ``expected`` (:func:`expected_retention`), ``label -> (ages, values)``."""
    ages = np.arange(0, int(arrivals.all_rows["age_days"].max()) + 1)
    return {
        "true survival S(t), not churned (simulation)":
            (ages, true_retention(arrivals.panel.truth, ages, "unbounded")),
        f"expected {arrivals.definition} retention (simulation)":
            (expected["age_days"], expected["retention"]),
    }


def projection_truths(arrivals: Arrivals, horizon: int) -> dict[str, tuple]:
    """The simulation's curves drawn with the projections, to day ``horizon``: the true
    survival and, for classic retention, the true share active on a day."""
    truth = arrivals.panel.truth
    grid = np.arange(0, horizon + 1)
    out = {"true survival S(t) (simulation)": (grid, true_retention(truth, grid, "unbounded"))}
    if arrivals.definition == "classic":
        out["true share active on day t (simulation)"] = (
            grid, true_retention(truth, grid, "classic", arrivals.cohort_dates))
    return out


def true_at_horizons(arrivals: Arrivals, horizons: Sequence[int]) -> dict:
    """Horizon -> the simulation's true value of what the fitted curves project
    (:func:`true_retention` for the arrivals' definition and install days)."""
    return dict(zip(horizons, true_retention(arrivals.panel.truth, horizons,
                                             arrivals.definition, arrivals.cohort_dates),
                    strict=True))


def with_truth(projection: pd.DataFrame, truth: Mapping[int, float]) -> pd.DataFrame:
    """:func:`projection_table` with a column ``truth`` (horizon -> true value)."""
    return projection.assign(truth=projection["horizon_days"].map(truth))


def parameter_recovery(fitted, arrivals: Arrivals, horizons: Iterable[int],
                       level: float = 0.95) -> pd.DataFrame:
    """:func:`recovery_table` of the sBG ``fitted`` to the arrivals, against the
    simulation's truth and the target of the fit (:func:`pseudo_true_fit`)."""
    truth = arrivals.panel.truth
    target = pseudo_true_fit(retention.ShiftedBetaGeometric, truth, arrivals.rows,
                             arrivals.definition, arrivals.as_of)
    return recovery_table(fitted, target, truth, horizons, arrivals.definition,
                          arrivals.cohort_dates, level)


def recovery_table(fitted, target, params: simulate.PanelParams, horizons: Iterable[int],
                   definition: Definition, cohort_dates: Iterable | None = None,
                   level: float = 0.95) -> pd.DataFrame:
    """The fitted sBG against the simulation's truth and the estimator's target.

    Rows: ``alpha`` and ``beta`` (truth: the churn ``Beta(a, b)`` of the simulation),
    ``alpha/(alpha+beta)`` (the sBG's mean day-1 churn, ``1 - S(1)``; truth ``a/(a+b)``)
    and retention at each horizon (truth:
    :func:`true_retention`). Columns: ``quantity, truth, target`` (the pseudo-true value,
    :func:`pseudo_true_fit`), ``estimate, lower, upper`` (``level`` interval),
    ``truth_in_interval, target_in_interval``, ``bias_percent`` (target vs truth: the part
    of the error that no amount of data removes).
    """
    summ = fitted.summary_frame(level)
    rows = []
    for name, true in (("alpha", params.churn_a), ("beta", params.churn_b)):
        s = summ.loc[name]
        rows.append({"quantity": name, "truth": true, "target": float(target.params_[name]),
                     "estimate": s["estimate"], "lower": s["lower"], "upper": s["upper"]})
    # mean day-1 churn alpha/(alpha+beta) = 1 - S(1): its interval from survival_interval
    one = survival_band(fitted, [1], level).iloc[0]
    rows.append({"quantity": "alpha/(alpha+beta)",
                 "truth": params.churn_a / (params.churn_a + params.churn_b),
                 "target": 1 - float(target.survival(1)),
                 "estimate": 1 - one["estimate"], "lower": 1 - one["upper"],
                 "upper": 1 - one["lower"]})
    hz = [int(h) for h in horizons]
    truth = true_retention(params, hz, definition, cohort_dates)
    band = survival_band(fitted, hz, level)
    tgt = np.atleast_1d(np.asarray(target.survival(hz), dtype=float))
    what = "survival" if definition == "unbounded" else "share active"
    for h, tr, tg, b in zip(hz, truth, tgt, band.itertuples(index=False), strict=True):
        rows.append({"quantity": f"{what} at day {h}", "truth": float(tr), "target": float(tg),
                     "estimate": b.estimate, "lower": b.lower, "upper": b.upper})
    out = pd.DataFrame(rows)
    out["truth_in_interval"] = (out["lower"] <= out["truth"]) & (out["truth"] <= out["upper"])
    out["target_in_interval"] = (out["lower"] <= out["target"]) & (out["target"] <= out["upper"])
    out["bias_percent"] = 100 * (out["target"] / out["truth"] - 1)
    return out


# ------------------------------------------------------------------------- formatting


def format_interval(estimate, lower, upper, percent: bool = True, digits: int = 1) -> str:
    """``8.9 % [8.7, 9.1]`` (``percent``) or ``0.465 [0.455, 0.475]``; "n/a" bounds when
    the interval is unavailable."""
    k = 100.0 if percent else 1.0
    unit = " %" if percent else ""
    bounds = ("n/a" if not np.isfinite(lower) or not np.isfinite(upper)
              else f"{k * lower:.{digits}f}, {k * upper:.{digits}f}")
    return f"{k * estimate:.{digits}f}{unit} [{bounds}]"


def _num(x, fmt: str) -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def coverage_phrase(alpha_covered: bool, beta_covered: bool) -> str:
    """Where a pair of values lies relative to the alpha and beta intervals, in words."""
    if alpha_covered and beta_covered:
        return "inside both intervals"
    if not (alpha_covered or beta_covered):
        return "outside both intervals"
    inside, outside = ("alpha", "beta") if alpha_covered else ("beta", "alpha")
    return f"inside the interval of {inside} but outside that of {outside}"


def _yes(flag) -> str:
    return "yes" if bool(flag) else "no"


def cohort_summary(table: pd.DataFrame, definition: Definition, scale: float,
                   ages: Sequence[int] = (1, 7, 30)) -> pd.DataFrame:
    """One row per cohort: ``cohort_date, users, users_scaled, days_observed`` and the
    retention (``definition``) at each of ``ages`` (NaN if not observed yet), as
    ``day_<N>`` (``weeks_observed`` and ``week_<N>`` for weekly cohorts, and so on)."""
    rt = cohorts.retention_table(table, definition)
    age, unit = age_of(rt), period_of(rt)
    g = rt.groupby("cohort_date")
    out = pd.DataFrame({"users": g["cohort_size"].first(),
                        f"{unit}s_observed": g[age].max()})
    out["users_scaled"] = out["users"] / scale
    wide = rt.pivot(index="cohort_date", columns=age, values="retention")
    for a in ages:
        out[f"{unit}_{a}"] = wide[a] if a in wide.columns else np.nan
    return out.reset_index()[["cohort_date", "users", "users_scaled", f"{unit}s_observed",
                              *[f"{unit}_{a}" for a in ages]]]


def display_cohorts(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`cohort_summary` formatted for a report table."""
    unit = next(c for c in summary.columns if c.endswith("s_observed")).removesuffix(
        "s_observed")
    out = pd.DataFrame({
        "cohort (install day)": pd.to_datetime(summary["cohort_date"]).dt.strftime(
            {"day": "%a %d %b %Y", "week": "week of %d %b %Y", "month": "%B %Y"}[unit]),
        "users in panel": summary["users"].map(lambda v: f"{v:,.0f}"),
        "users, scaled up": summary["users_scaled"].map(lambda v: f"{v:,.0f}"),
        f"{unit}s observed": summary[f"{unit}s_observed"].map(lambda v: f"{v:.0f}"),
    })
    for col in summary.columns:
        if col.startswith(f"{unit}_"):
            out[f"{unit} {col.removeprefix(unit + '_')}"] = summary[col].map(fmt_pct)
    return out


def display_compare(compare: pd.DataFrame, projections: Mapping[str, float] | None = None,
                    horizon: int | None = None, unit: str = "day") -> pd.DataFrame:
    """:func:`compare_families` formatted for a report table; ``projections`` (model ->
    retention at ``horizon`` from the full-data fits) adds a column."""
    out = pd.DataFrame({
        "model": compare.index,
        "parameters": compare["n_params"].to_numpy(),
        "AIC": [_num(v, ",.0f") for v in compare["aic"]],
        "ΔAIC": [_num(v, ",.1f") for v in compare["delta_aic"]],
        "BIC": [_num(v, ",.0f") for v in compare["bic"]],
        "ΔBIC": [_num(v, ",.1f") for v in compare["delta_bic"]],
        "holdout MAE (points)": [_num(v, ".2f") for v in compare["holdout_mae"]],
        "holdout MAPE": [_num(v, ".1f") + " %" if np.isfinite(v) else "n/a"
                         for v in compare["holdout_mape"]],
    })
    if projections is not None:
        out[f"{unit} {horizon}"] = [fmt_pct(projections.get(m, np.nan), 2)
                                    for m in compare.index]
    # for md_table(..., floatfmt=...): tabulate re-parses numeric-looking strings
    out.attrs["floatfmt"] = ("", "", ",.0f", ",.1f", ",.0f", ",.1f", ".2f", "", "")[
        : out.shape[1]]
    return out


def display_params(models: Mapping[str, object], level: float = 0.95) -> pd.DataFrame:
    """Estimates and ``level`` intervals of every fitted family, one row per parameter."""
    rows = []
    for name, m in models.items():
        for par, r in m.summary_frame(level).iterrows():
            rows.append({"model": name, "parameter": par,
                         "estimate [interval]": format_interval(r["estimate"], r["lower"],
                                                                r["upper"], percent=False,
                                                                digits=4)})
    return pd.DataFrame(rows)


def display_projection(projection: pd.DataFrame, truth: Mapping[int, float] | None = None,
                       users_label: str = "users still active (scaled up)") -> pd.DataFrame:
    """:func:`projection_table` formatted for a report table; ``truth`` (horizon -> the
    simulation's true value) adds the truth and whether the interval covers it."""
    hcol = _horizon_col(projection)
    out = pd.DataFrame({
        "model": projection["model"],
        hcol.removeprefix("horizon_").removesuffix("s"): projection[hcol],
        "retention [interval]": [format_interval(r.retention, r.lower, r.upper, digits=2)
                                 for r in projection.itertuples()],
        f"{users_label} [interval]": [
            f"{r.users:,.0f} [" + ("n/a" if not np.isfinite(r.users_lower)
                                   else f"{r.users_lower:,.0f}, {r.users_upper:,.0f}") + "]"
            for r in projection.itertuples()],
    })
    if truth is not None:
        tv = projection[hcol].map(truth)
        out["simulation truth"] = tv.map(lambda v: fmt_pct(v, 2))
        out["truth covered"] = [_yes(lo <= t <= hi) for lo, t, hi in
                                zip(projection["lower"], tv, projection["upper"], strict=True)]
    return out


def display_recovery(recovery: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """:func:`recovery_table` formatted for a report table (shares in %, parameters
    with three decimals; ``covers``: which of truth and target the interval covers)."""
    rows = []
    for r in recovery.itertuples(index=False):
        share = r.quantity not in ("alpha", "beta")
        digits = 2 if share else 3
        fmt = (lambda v, d=digits: fmt_pct(v, d)) if share else (lambda v: _num(v, ".3f"))
        covered = [name for name, flag in (("truth", r.truth_in_interval),
                                           ("target", r.target_in_interval)) if flag]
        rows.append({
            "quantity": r.quantity.replace(" at day ", ", day "),
            "truth": fmt(r.truth),
            "target": fmt(r.target),
            f"estimate [{100 * level:.0f} % interval]": format_interval(
                r.estimate, r.lower, r.upper, percent=share, digits=digits),
            "interval covers": " and ".join(covered) if covered else "neither",
            "target vs truth": f"{r.bias_percent:+.1f} %",
        })
    return pd.DataFrame(rows)


def _anchor_text(r) -> tuple[str, str, str]:
    """(what, published as printed, its interval) of a row of an anchor check."""
    if r.kind == "peak_day":
        return "peak day of US DAU", f"{r.date:%-d %b %Y}", "exact day"
    if r.kind in ("level", "upper_bound"):
        day = (f"on {r.date:%-d %b %Y}" if pd.Timestamp(r.end) <= pd.Timestamp(r.date) else
               f"on a day about {approximate_day(r):%-d %b %Y} (each of "
               f"{date_span(r.date, r.end)})")
        what = f"US DAU {day}" + (" (upper bound)" if r.kind == "upper_bound" else "")
        pub = (f"under {fmt_int(r.published)}" if r.kind == "upper_bound"
               else f"about {fmt_int(r.published)}")
        return what, pub, interval_text(r.low, r.high, fmt_int)
    if r.kind == "share_of_peak":
        return (f"DAU on {r.date:%-d %b %Y} as a share of the peak",
                f"about {100 * r.published:.0f} %",
                interval_text(100 * r.low, 100 * r.high, lambda v: f"{v:g}", " %"))
    if r.kind == "ratio_of_means":
        return (f"mean DAU {date_span(r.date, r.end)} vs {date_span(r.ref_start, r.ref_end)}"
                " (change)", f"about {100 * (r.published - 1):+.0f} %",
                f"{100 * (r.low - 1):+g} to {100 * (r.high - 1):+g} %")
    if r.kind == "new_users":
        return (f"new users {date_span(r.date, r.end)} (all markets; bounds the US)",
                f"about {fmt_int(r.published)}", interval_text(r.low, r.high, fmt_int))
    if r.kind == "installs_ratio":
        return (f"downloads {date_span(r.date, r.end)} vs "
                f"{date_span(r.ref_start, r.ref_end)} (multiple)",
                f"over {r.published:g}x", interval_text(r.low, r.high, lambda v: f"{v:g}", "x"))
    raise ValueError(f"unknown anchor kind {r.kind!r}")


def panel_outside_text(check: pd.DataFrame) -> str:
    """A sentence naming the figures the sampled panel lies outside of (even allowing its
    sampling error), with the distance in sampling standard deviations; '' if none."""
    out = []
    for r in check[~check["inside"] & (check["kind"] != "peak_day")].itertuples(index=False):
        bound = r.low if np.isfinite(r.low) and r.panel < r.low else r.high
        z = abs(np.log(r.panel / bound)) / r.sampling_error if r.sampling_error > 0 else np.inf
        out.append(f"{r.id} ({_anchor_value(r.kind, r.panel)} against "
                   f"{_anchor_text(r)[2]}; {z:.1f} sampling s.d. beyond its end)")
    if not out:
        return ""
    return (" The sampled panel misses " + "; ".join(out) + " (the calibrated model's "
            "value is in the table).")


def _anchor_value(kind: str, v) -> str:
    if kind == "share_of_peak":
        return fmt_pct(v, 1)
    if kind == "ratio_of_means":
        return f"{100 * (v - 1):+.1f} %"
    if kind == "installs_ratio":
        return f"{v:.1f}x"
    return fmt_int(v)


def display_dau_check(check: pd.DataFrame, calibration: Mapping | None = None) -> pd.DataFrame:
    """:func:`dau_anchor_check` formatted for a report table: each published figure as
    printed, the interval it stands for (``data/raw/README.md``, "Hedges as intervals"),
    the calibrated model's value (``calibration``: the panel's ``params.json``
    calibration report, optional), the sampled panel's, and whether it lies inside
    (allowing the panel's sampling error)."""
    model = {a["id"]: a for a in (calibration or {}).get("anchors", [])}
    rows = []
    for r in check.itertuples(index=False):
        what, pub, interval = _anchor_text(r)
        if r.kind == "peak_day":
            panel = f"{r.panel_date:%-d %b %Y}"
            fitted = model.get(r.id, {}).get("model")
            fitted = f"{pd.Timestamp(fitted):%-d %b %Y}" if fitted else "n/a"
        else:
            panel = _anchor_value(r.kind, r.panel)
            fitted = _anchor_value(r.kind, model[r.id]["model"]) if r.id in model else "n/a"
        row = {"published figure": what, "provider": r.provider, "id": r.id,
               "published": pub, "interval": interval}
        if calibration is not None:
            row["calibrated model"] = fitted
        rows.append(row | {"simulated panel": panel, "inside": _yes(r.inside)})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CalibrationFit:
    """How the calibrated model meets the published figures (its ``params.json``
    report, :func:`analysis.simulation.users.calibrate`)."""

    n_figures: int  # figures fitted
    n_inside: int  # of which the calibrated model lies inside the interval
    conflicts: tuple[str, ...]  # ids outside their interval
    binding: tuple[str, ...]  # ids at an end of their interval
    binding_text: tuple[str, ...]  # those figures in words
    surge_growth_percent: float  # daily growth of installs over the surge week
    flat_conflicts: tuple[str, ...]  # ids a fit with flat installs over that week misses
    first_two_days: float  # the model's new users on the new-user count's days
    published_low: float  # the count's interval (all markets)
    published_high: float


def calibration_fit(panel: Panel, check: pd.DataFrame) -> CalibrationFit:
    """:class:`CalibrationFit` of the panel's calibration report (``check``: the panel's
    :meth:`~analysis.simulation.panel.Panel.anchor_check`, for the figures' words)."""
    rep = panel.metadata.get("calibration")
    if not rep:
        raise ValueError(f"{panel.path.parent / 'params.json'} has no calibration report: "
                         "the panel was simulated from fixed parameters, not calibrated")
    fitted = rep["anchors"]
    words = {r.id: _anchor_text(r) for r in check.itertuples(index=False)}
    nu = next((a for a in fitted if a["kind"] == "new_users"), None)
    row = check[check["kind"] == "new_users"]
    low = float(panel.metrics.set_index("id").loc[row["id"].iloc[0], "value_low"]) \
        if len(row) else float("nan")
    return CalibrationFit(
        n_figures=len(fitted), n_inside=sum(bool(a["inside"]) for a in fitted),
        conflicts=tuple(rep["conflicts"]), binding=tuple(rep["binding"]),
        binding_text=tuple(f"{words[i][0]} ({words[i][1]}, {i})" for i in rep["binding"]
                           if i in words),
        surge_growth_percent=100 * (np.exp(rep["free_parameters"]["surge_growth"]) - 1),
        flat_conflicts=tuple(rep.get("flat_surge", {}).get("conflicts", ())),
        first_two_days=float(nu["model"]) if nu else float("nan"),
        published_low=low, published_high=float(nu["high"]) if nu else float("nan"))


# ------------------------------------------------------------- named numbers of a table


def _horizon_col(projection: pd.DataFrame) -> str:
    return next(c for c in projection.columns if c.startswith("horizon_"))


def projection_numbers(projection: pd.DataFrame, level: float = 0.95,
                       observed: bool = False) -> list[dict]:
    """The results numbers of :func:`projection_table` (``Results.number`` keywords):
    ``retention_<model>_day<h>`` with ``_lower``/``_upper``, and ``users_<model>_day<h>``
    (``observed``: the descriptions say observed cohorts). Bounds a fit could not give
    (NaN: no standard errors, e.g. a likelihood maximised on a boundary) are left out."""
    data = "observed" if observed else "simulated"
    users = ("users of the observed cohorts still active" if observed
             else "simulated arrivals still active at full scale")
    out = []
    hcol = _horizon_col(projection)
    unit = hcol.removeprefix("horizon_").removesuffix("s")
    for r in projection.itertuples():
        h = getattr(r, hcol)
        key = f"{r.model.replace(' ', '_')}_{unit}{h}"
        out.append(dict(name=f"retention_{key}", value=r.retention,
                        description=f"{r.model} projected retention, {unit} {h} "
                                    f"({data})", unit="share"))
        for side, value in (("lower", r.lower), ("upper", r.upper)):
            if np.isfinite(value):
                out.append(dict(name=f"retention_{key}_{side}", value=value,
                                description=f"{side} {100 * level:.0f} % bound", unit="share"))
        out.append(dict(name=f"users_{key}", value=r.users,
                        description=f"{r.model}: {users}, {unit} {h}", unit="users"))
    return out


def recovery_numbers(recovery: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """The results numbers of :func:`recovery_table` (``Results.number`` keywords): the
    sBG's alpha and beta with their bounds, the truth and the target."""
    out = []
    for r in recovery.itertuples():
        if r.quantity in ("alpha", "beta"):
            out += [
                dict(name=f"sbg_{r.quantity}", value=r.estimate,
                     description=f"sBG {r.quantity} (simulated panel)"),
                dict(name=f"sbg_{r.quantity}_lower", value=r.lower,
                     description=f"lower {100 * level:.0f} % bound"),
                dict(name=f"sbg_{r.quantity}_upper", value=r.upper,
                     description=f"upper {100 * level:.0f} % bound"),
                dict(name=f"true_{r.quantity}", value=r.truth,
                     description=f"true churn Beta parameter ({r.quantity})"),
                dict(name=f"target_{r.quantity}", value=r.target,
                     description=f"target of the sBG fit ({r.quantity})"),
            ]
    return out


# -------------------------------------------------------------- what the sentences say


@dataclass(frozen=True)
class CompareFindings:
    """What the model comparison says (:func:`compare_findings`); shares as fractions."""

    cutoff: pd.Timestamp  # last day of the calibration data
    best: str  # smallest holdout error
    best_mae: float
    best_mape: float
    sbg_mae: float
    sbg_mape: float
    aic_best: str
    bic_best: str
    geometric_worst: bool  # geometric last on AIC, BIC and holdout error alike
    n_top: int  # families compared at the horizon (the three best on holdout error)
    low: str  # of those, the family projecting least at the horizon
    low_value: float
    high: str  # ... and most
    high_value: float
    spread: float  # high_value - low_value
    sbg_width: float  # width of the sBG's interval at the horizon
    model_matters_more: bool  # spread > sbg_width


def compare_findings(compare: pd.DataFrame, models: Mapping[str, object],
                     at: Mapping[str, float], horizon: int,
                     level: float = 0.95) -> CompareFindings:
    """The holdout winner, the information criteria's choices and, on day ``horizon``
    (``at``: model -> projected retention then, :func:`retention_at`), the spread of the
    three best families' projections against the width of the sBG's ``level`` interval."""
    best = best_family(compare)
    top = compare.nsmallest(3, "holdout_mae")
    top_at = {name: at[name] for name in top.index if name in at}
    low, high = min(top_at, key=top_at.get), max(top_at, key=top_at.get)
    band = survival_band(models["sBG"], [horizon], level).iloc[0]
    spread = top_at[high] - top_at[low]
    width = band["upper"] - band["lower"]
    return CompareFindings(
        cutoff=compare.attrs["cutoff"], best=best,
        best_mae=compare.loc[best, "holdout_mae"], best_mape=compare.loc[best, "holdout_mape"],
        sbg_mae=compare.loc["sBG", "holdout_mae"], sbg_mape=compare.loc["sBG", "holdout_mape"],
        aic_best=compare["aic"].idxmin(), bic_best=compare["bic"].idxmin(),
        geometric_worst=bool(compare["aic"].idxmax() == compare["bic"].idxmax()
                             == compare["holdout_mae"].idxmax() == "geometric"),
        n_top=len(top), low=low, low_value=top_at[low], high=high, high_value=top_at[high],
        spread=spread, sbg_width=width, model_matters_more=bool(spread > width))


@dataclass(frozen=True)
class ProjectionFindings:
    """What the projections say (:func:`projection_findings`); users at full scale."""

    sbg_retention: dict  # horizon -> the sBG's projected retention
    horizon: int  # the last horizon
    sbg_users: float  # the sBG's implied users on the last horizon, with its interval
    sbg_users_lower: float
    sbg_users_upper: float
    best: str  # the family with the smallest holdout error
    best_users: float | None  # its implied users (None if it is the sBG)
    best_users_lower: float | None
    best_users_upper: float | None
    truth_users: float  # the simulation's true value times the arrivals
    beyond_days: int  # days from the oldest fitted age to the last horizon


def compare_sentence(c, holdout_days: int, h_max: int, level: float,
                     observed: bool = False, period: str = "day") -> str:
    """The sentence of the model comparison (``c``: :func:`compare_findings`) for the
    simulated cohorts or, with ``observed``, for an observed log's cohorts."""
    data = "observed" if observed else "simulated"
    cutoff = f"{c.cutoff:%-d %B %Y}" if observed else f"{c.cutoff:%-d %B}"
    who = "these users" if observed else "the simulated users"
    of = "the cohorts" if observed else "the arrivals"
    return (
        f"Fitted to the {data} data up to {cutoff} and scored on the last "
        f"{holdout_days} {period}s, **{c.best}** projects best (mean absolute error "
        f"{c.best_mae:.2f} points, {c.best_mape:.1f} % of the observed share)"
        + ("" if c.best == "sBG" else
           f", ahead of the sBG ({c.sbg_mae:.2f} points, {c.sbg_mape:.1f} %)")
        + f"; AIC prefers **{c.aic_best}** and BIC **{c.bic_best}**. "
        + ("The constant-churn geometric model is worst on AIC, BIC and holdout error alike: "
           f"{who} differ in how fast they churn. " if c.geometric_worst else "")
        + f"At {period} {h_max} the {c.n_top} families with the smallest holdout error project "
        f"between {100 * c.low_value:.2f} % ({c.low}) and {100 * c.high_value:.2f} % "
        f"({c.high}) of {of}, a spread of {100 * c.spread:.2f} points, while the sBG's "
        f"own {100 * level:.0f} % interval spans {100 * c.sbg_width:.2f} points"
        + (": the choice of model matters more than sampling error." if c.model_matters_more
           else ": here sampling error matters at least as much as the choice of model.")
    )


def projection_findings(projection: pd.DataFrame, arrivals: Arrivals, best: str,
                        truth: Mapping[int, float] | None = None) -> ProjectionFindings:
    """The sBG's projections (:func:`projection_table`) at every horizon and, on the last,
    its implied users, those of ``best``, the truth (``truth``: horizon -> true value,
    :func:`true_at_horizons`) and how far the projection extrapolates."""
    hcol = _horizon_col(projection)
    sbg = projection[projection["model"] == "sBG"].set_index(hcol)
    last = int(projection[hcol].max())
    alt = projection[projection["model"] == best].set_index(hcol)
    other = best != "sBG"
    return ProjectionFindings(
        sbg_retention={h: sbg.loc[h, "retention"] for h in sbg.index}, horizon=last,
        sbg_users=sbg.loc[last, "users"], sbg_users_lower=sbg.loc[last, "users_lower"],
        sbg_users_upper=sbg.loc[last, "users_upper"], best=best,
        best_users=alt.loc[last, "users"] if other else None,
        best_users_lower=alt.loc[last, "users_lower"] if other else None,
        best_users_upper=alt.loc[last, "users_upper"] if other else None,
        truth_users=None if truth is None else truth[last] * arrivals.n_arrivals,
        beyond_days=last - int(arrivals.rows[age_of(arrivals.rows)].max()))

def projection_sentence(p, arrivals: Arrivals, definition: Definition, level: float,
                        observed: bool = False) -> str:
    """The projection's sentence (``p``: :func:`projection_findings`) for the simulated
    arrivals (with the simulation's truth) or, with ``observed``, an observed log's
    cohorts."""
    unit = arrivals.period
    head = "By the sBG fit, " + ", ".join(
        f"{100 * v:.1f} % after {h} {unit}s" for h, v in p.sbg_retention.items())
    still = (f"still active (seen in that {unit} or later)" if definition == "unbounded"
             else f"active in that {unit}")
    interval = (f"{100 * level:.0f} % interval {fmt_int(p.sbg_users_lower)} to "
                f"{fmt_int(p.sbg_users_upper)}")
    best = (f"{p.best}, the family with the smallest holdout error, says "
            f"**{fmt_int(p.best_users)}** ({fmt_int(p.best_users_lower)} to "
            f"{fmt_int(p.best_users_upper)})" if p.best != "sBG" else "")
    caveat = (f"These intervals reflect sampling error only: the projection extends "
              f"{p.beyond_days} {unit}s beyond the oldest fitted age, and nothing in the data "
              f"can say whether churn will keep slowing as these models assume.")
    if observed:
        return (
            head + f" of the **observed** cohorts of {arrivals.start:%-d %B}–"
            f"{arrivals.end:%-d %B %Y} are {still}. After {p.horizon} {unit}s that is about "
            f"**{fmt_int(p.sbg_users)}** of the {fmt_int(arrivals.n_users)} users ({interval})"
            + (f"; {best}" if best else "")
            + (f". {caveat}" if p.beyond_days > 0 else ". Every horizon lies inside the fitted ages.")
        )
    truth = "survival" if definition == "unbounded" else "share active"
    return (
        head + f" of the **simulated** arrivals of {arrivals.start:%-d}–{arrivals.end:%-d %B} "
        f"are {still}. After {p.horizon} days that is about **{fmt_int(p.sbg_users)}** of the "
        f"{fmt_millions(arrivals.n_arrivals)} arrivals at full scale ({interval}); "
        + (f"{best}. " if best else "")
        + f"The simulation's truth (its true {truth} at day {p.horizon} times the arrivals) "
        f"is {fmt_int(p.truth_users)}. " + caveat
    )



@dataclass(frozen=True)
class RecoveryFindings:
    """What the parameter recovery says (:func:`recovery_findings`)."""

    alpha: pd.Series  # the alpha row of recovery_table: estimate, lower, upper, truth, target
    beta: pd.Series
    params_covered: bool  # the true (a, b) inside both intervals
    target_covered: bool  # the target inside both intervals
    where_truth: str  # coverage_phrase of the truth
    where_target: str  # ... and of the target
    bias_not_noise: bool  # the target covered, the truth not: a bias of the measurement
    target_vs_truth: str  # "alpha and beta both below", "alpha below and beta above", ...
    horizon: pd.Series  # the row of the last horizon: estimate, truth, bias_percent, ...
    projects_too: str  # "much" (target above the truth at the last horizon) or "little"
    day1_measured: float  # expected measured retention on day 1
    day1_survival: float  # true share not churned on day 1


def recovery_findings(recovery: pd.DataFrame, arrivals: Arrivals, expected: pd.DataFrame,
                      horizon: int) -> RecoveryFindings:
    """Which intervals of :func:`recovery_table` cover the truth and the target, how the
    target differs from the truth, and the day-1 gap between the expected measured
    retention (``expected``, :func:`expected_retention`) and survival."""
    rec = recovery.set_index("quantity")
    a_, b_ = rec.loc["alpha"], rec.loc["beta"]
    params_covered = bool(a_["truth_in_interval"] and b_["truth_in_interval"])
    target_covered = bool(a_["target_in_interval"] and b_["target_in_interval"])
    a_below, b_below = a_["target"] < a_["truth"], b_["target"] < b_["truth"]
    if a_below == b_below:
        direction = f"alpha and beta both {'below' if a_below else 'above'}"
    else:
        direction = (f"alpha {'below' if a_below else 'above'} and beta "
                     f"{'below' if b_below else 'above'}")
    what = "survival" if arrivals.definition == "unbounded" else "share active"
    hz = rec.loc[f"{what} at day {horizon}"]
    return RecoveryFindings(
        alpha=a_, beta=b_, params_covered=params_covered, target_covered=target_covered,
        where_truth=coverage_phrase(a_["truth_in_interval"], b_["truth_in_interval"]),
        where_target=coverage_phrase(a_["target_in_interval"], b_["target_in_interval"]),
        bias_not_noise=target_covered and not params_covered, target_vs_truth=direction,
        horizon=hz, projects_too="much" if hz["bias_percent"] > 0 else "little",
        day1_measured=float(expected.set_index("age_days").loc[1, "retention"]),
        day1_survival=float(true_retention(arrivals.panel.truth, [1], "unbounded")[0]))


@dataclass(frozen=True)
class DauCheckFindings:
    """The panel's DAU against Sensor Tower's post-peak figures (:func:`dau_check_findings`);
    DAU at full scale."""

    level_day: pd.Timestamp  # the day of Sensor Tower's post-peak level
    panel_level: float  # the panel's DAU that day
    panel_peak_day: pd.Timestamp  # the panel's peak day up to level_day
    panel_peak: float
    panel_share: float  # panel_level / panel_peak
    published_level: float
    published_share_percent: float
    published_implied_peak: float  # level / share
    published_implied_peak_range: tuple  # (low, high) the hedged inputs allow
    published_level_range: tuple  # (low, high) of the level
    published_share_range: tuple  # and of the share (percent) their hedges stand for
    published_peak_day: pd.Timestamp
    n_within: int  # anchors the sampled panel lies inside (allowing its sampling error)
    n_checked: int


def dau_check_findings(panel: Panel, check: pd.DataFrame) -> DauCheckFindings:
    """The panel's DAU on the day of Sensor Tower's post-peak level, its share of the
    panel's peak, the published figures, and how many anchors of ``check``
    (:meth:`analysis.simulation.panel.Panel.anchor_check`) are matched."""
    st = sources.implied_peak_dau(panel.metrics, "RedNote", panel.market, "Sensor Tower")
    level_day = pd.Timestamp(st["date"])
    scaled = panel.scaled_dau
    panel_level = float(scaled.loc[level_day])
    panel_peak_day = scaled.loc[:level_day].idxmax()
    return DauCheckFindings(
        level_day=level_day, panel_level=panel_level, panel_peak_day=panel_peak_day,
        panel_peak=float(scaled.loc[panel_peak_day]),
        panel_share=panel_level / float(scaled.loc[panel_peak_day]),
        published_level=st["level"], published_share_percent=st["share_percent"],
        published_implied_peak=st["implied_peak"],
        published_implied_peak_range=(st["implied_peak_low"], st["implied_peak_high"]),
        published_level_range=(st["level_low"], st["level_high"]),
        published_share_range=(st["share_low"], st["share_high"]),
        published_peak_day=sources.peak_day(panel.metrics, "RedNote", panel.market,
                                            "Sensor Tower"),
        n_within=int(check["inside"].sum()), n_checked=len(check))


@dataclass(frozen=True)
class NewUserCheck:
    """The simulated arrivals against the only published new-user count (Reuters, PM129:
    about 700,000 new RedNote users on 13-14 January 2025, all markets)."""

    id: str
    first: pd.Timestamp
    last: pd.Timestamp
    market: str  # the figure's market ("Global": all markets)
    published: float
    published_low: float
    published_high: float
    simulated: float  # the panel's arrivals in its market on those days, scaled up
    calibrated: float  # the calibrated model's expected arrivals on those days
    inside: bool  # simulated <= published_high, allowing the panel's sampling error
    share_of_low: float  # calibrated / published_low: the market's implied share at most


def new_user_check(panel: Panel, check: pd.DataFrame) -> NewUserCheck:
    """:class:`NewUserCheck` of the panel: its market's new users on the figure's days
    (``check``: :meth:`~analysis.simulation.panel.Panel.anchor_check`, which holds the
    count as a calibration anchor) and the calibrated model's."""
    rows = check[check["kind"] == "new_users"]
    if len(rows) != 1:
        raise ValueError(f"expected one published RedNote new-user count among the "
                         f"calibration anchors, found {len(rows)}")
    r = rows.iloc[0]
    fig = panel.metrics.set_index("id").loc[r["id"]]
    fitted = (panel.metadata.get("calibration") or {}).get("anchors", [])
    model = next((a for a in fitted if a["id"] == r["id"]), {"model": float("nan")})
    return NewUserCheck(
        id=r["id"], first=r["date"], last=r["end"], market=fig["market"],
        published=float(fig["value"]), published_low=float(fig["value_low"]),
        published_high=float(fig["value_high"]), simulated=float(r["panel"]),
        calibrated=float(model["model"]), inside=bool(r["inside"]),
        share_of_low=float(model["model"]) / float(fig["value_low"]))


def new_user_sentence(c: NewUserCheck, fit: CalibrationFit, market: str) -> str:
    """The paragraph on the published new-user count (notebook 01, simulated panel)."""
    where = "all markets" if c.market == "Global" else c.market
    text = (f"The only published count of new users is Reuters': about "
            f"{fmt_int(c.published)} new RedNote users from {c.first:%-d} to "
            f"{c.last:%-d %B %Y}, {where} ({c.id}; {fmt_int(c.published_low)} to "
            f"{fmt_int(c.published_high)} under the rounding \"about\" allows). ")
    if c.market == "Global":
        text += (f"The {market} arrivals are part of it, so the calibration uses its upper "
                 f"end as a bound on them; no source gives the {market} share of those two "
                 f"days' arrivals, so its lower end bounds nothing. ")
    text += (f"The calibrated model has **{fmt_millions(c.calibrated, 2)}** {market} arrivals "
             f"on those days and the **simulated** panel {fmt_millions(c.simulated, 2)} at "
             f"full scale ({'inside' if c.inside else 'outside'} the bound, allowing its "
             f"sampling error).")
    if c.id in fit.binding:
        others = max(c.published_high - c.calibrated, 0.0)
        left = (f"at most {fmt_int(others)} for every other market" if others >= 1
                else "nothing for any other market")
        text += (f" The bound binds: with the other figures it holds only at its end, so "
                 f"the {market} alone takes the whole all-market count at its upper end "
                 f"({left}; {100 * c.share_of_low:.0f} % of the count's lower end). The "
                 f"figures hold together only barely; this tension is stated, not hidden.")
    return text


#: Cohort periods as adjectives ("7 daily cohorts").
PERIOD_ADJECTIVE = {"day": "daily", "week": "weekly", "month": "monthly"}


def definition_text(definition: str, unit: str = "day") -> str:
    """:data:`DEFINITION_TEXT` with ages in ``unit`` ("active in month N or later")."""
    text = DEFINITION_TEXT[definition]
    if unit == "day":
        return text
    return (text.replace("on day N", f"in {unit} N").replace("day", unit)
            .replace("*on*", "*in*"))


#: How each retention definition is measured, in words.
DEFINITION_TEXT = {
    "unbounded": "the share of a cohort active on day N *or later* (a user counts as "
                 "retained until their last active day)",
    "classic": "the share of a cohort active *on* day N",
}


# ----------------------------------------------------------------------------- plotting


def _curve(ax, model, grid, colour, label, level):
    band = survival_band(model, grid, level)
    ax.plot(grid, band["estimate"], color=colour, lw=2, label=label, zorder=3)
    if level is not None and np.isfinite(band["lower"]).all():
        ax.fill_between(grid, band["lower"], band["upper"], color=colour, alpha=0.25,
                        lw=0, zorder=2)


def _truths(ax, truths):
    styles = [("--", 1.4), ("-.", 1.2), (":", 1.4)]
    for k, (label, (ages, values)) in enumerate((truths or {}).items()):
        ls, lw = styles[k % len(styles)]
        ax.plot(ages, values, color=TRUTH_COLOUR, lw=lw, ls=ls, label=label, zorder=5)


def plot_cohort_curves(rows: pd.DataFrame, models: Mapping[str, object], ax=None, *,
                       guarded: pd.DataFrame | None = None,
                       truths: Mapping[str, tuple] | None = None,
                       level: float | None = 0.95, log: bool = True):
    """Observed retention of each cohort (thin grey lines) with fitted curves and bands.

    ``rows`` are the fitted rows (:func:`fitting_rows`); ``guarded`` optional rows left
    out of the fit (drawn dotted); ``models`` fitted models by name (one colour each, a
    ``level`` delta-method band); ``truths`` optional curves ``label -> (ages, values)``
    drawn in black with different dashes. Returns the axes.
    """
    import matplotlib as mpl

    ax = axes_or_new(ax)
    age = age_of(rows)
    dates = sorted(rows["cohort_date"].unique())
    cmap = mpl.colormaps["Greys"]
    for i, c in enumerate(dates):
        colour = cmap(0.35 + 0.4 * i / max(1, len(dates) - 1))
        g = rows[rows["cohort_date"] == c]
        ax.plot(g[age], g["retention"], color=colour, lw=0.9, zorder=1,
                label="observed, one line per cohort" if i == 0 else None)
        if guarded is not None:
            h = guarded[guarded["cohort_date"] == c]
            if len(h):
                h = pd.concat([g.tail(1), h])
                ax.plot(h[age], h["retention"], color=colour, lw=0.9, ls=":",
                        zorder=1, label="not fitted (end of window)" if i == 0 else None)
    t_max = float(pd.concat([rows, guarded])[age].max() if guarded is not None
                  else rows[age].max())
    grid = np.arange(0.0, t_max + 1)
    for name, model in models.items():
        _curve(ax, model, grid, FAMILY_COLOURS.get(name, None), f"{name} fit", level)
    _truths(ax, truths)
    if log:
        ax.set_yscale("log")
    ax.set_xlim(0, t_max)
    ax.set_xlabel(f"{period_of(rows)}s since install (age)")
    ax.set_ylabel("share of cohort")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def plot_projection(models: Mapping[str, object], horizons: Sequence[int], ax=None, *,
                    observed: pd.DataFrame | None = None,
                    truths: Mapping[str, tuple] | None = None,
                    level: float | None = 0.95, log: bool = True, ymin: float | None = None,
                    unit: str = "day"):
    """Fitted curves projected to the largest horizon, with bands and the horizons marked.

    ``observed`` an optional pooled ``age_days, retention`` frame (:func:`pooled_share`),
    ``truths`` optional curves ``label -> (ages, values)``. On a log axis the lower limit
    is ``ymin``, by default half the smallest of the observed shares, the truths and the
    models' projections at the last horizon that are above 0.1 % (a model collapsing to
    zero leaves the axes instead of squashing the others). ``unit``: the ages' period
    (axis label and horizon marks). Returns the axes.
    """
    ax = axes_or_new(ax)
    t_max = float(max(horizons))
    grid = np.unique(np.concatenate([np.arange(0.0, min(t_max, 60.0) + 1),
                                     np.linspace(0.0, t_max, 300)]))
    lows = []
    for name, model in models.items():
        _curve(ax, model, grid, FAMILY_COLOURS.get(name, None), f"{name}", level)
        end_value = float(model.survival(t_max))
        if end_value > 1e-3:
            lows.append(end_value)
    if observed is not None:
        ax.plot(observed[age_of(observed)], observed["retention"], "o", color="black", ms=2.2,
                label="observed (cohorts pooled)", zorder=4)
        lows.append(float(observed["retention"][observed["retention"] > 0].min()))
    _truths(ax, truths)
    for _, (_, values) in (truths or {}).items():
        lows.append(float(np.min(values)))
    for h in horizons:
        ax.axvline(h, color="#999999", lw=0.8, ls=":", zorder=0)
        ax.annotate(f"{unit} {h}", (h, 0.0), xycoords=("data", "axes fraction"), fontsize=7,
                    ha="right", va="bottom", rotation=90, color="#666666",
                    xytext=(-2, 3), textcoords="offset points")
    if log:
        ax.set_yscale("log")
        low = ymin if ymin is not None else (0.5 * min(lows) if lows else None)
        if low is not None:
            ax.set_ylim(low, 1.1)
    ax.set_xlim(0, t_max * 1.02)
    ax.set_xlabel(f"{unit}s since install (age)")
    ax.set_ylabel("share of cohort")
    # below the "simulated" stamp (top right), where the projected curves have flattened
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9), ncol=2)
    return ax




# ------------------------------------------------- BG/BB: users who never cancel
# The beta-geometric/beta-Bernoulli model (analysis.models.bgbb) describes the process the
# simulation runs: a user drops out at the start of a day with probability theta ~
# Beta(gamma, delta) and, while alive, is active with probability p ~ Beta(alpha, beta). It
# is fitted to each user's (frequency, recency, n_periods) over the window, pooled into
# patterns by the DuckDB summary of analysis.data.activity.

BGBB = "BG/BB"
BGBB_COLOUR = "#9467bd"
#: Parameter draws for the intervals of derived BG/BB quantities (fixed seed).
BGBB_DRAWS, BGBB_SEED = 400, 20100601


def bgbb_left_out(unit: str, fit: BGBBFit | None) -> str:
    """Why the BG/BB section of an observed log has no result (its outputs say so, so
    that a report embedding them still renders)."""
    if fit is None:
        return (f"*The BG/BB is left out here: it is fitted to daily activity, and these "
                f"cohorts are {PERIOD_ADJECTIVE[unit]}.*")
    return f"*The BG/BB could not be fitted to these cohorts: {fit.note}.*"


def fit_bgbb_arrivals(arrivals: Arrivals) -> BGBBFit:
    """The BG/BB of all the arrivals' activity, to the end of the window."""
    return fit_bgbb(arrivals.events, arrivals.start, arrivals.as_of, arrivals.end)


def bgbb_retention(model, ages, last_ages, definition: Definition) -> np.ndarray:
    """The BG/BB's prediction of the measured retention of a cohort at ``ages`` when it is
    seen until age ``last_ages``: *unbounded* = P(active on some day ``age .. last``)
    (:meth:`~analysis.models.bgbb.BetaGeometricBetaBinomial.probability_active_between`),
    *classic* = P(active on day ``age``) (``expected_active``)."""
    ages = np.asarray(ages, dtype=np.int64)
    if definition == "unbounded":
        return np.asarray(model.probability_active_between(ages, np.asarray(last_ages,
                                                                            dtype=np.int64)))
    return np.asarray(model.expected_active(ages))


def bgbb_holdout(arrivals: Arrivals, holdout_days: int) -> dict:
    """The BG/BB scored like the curve families in :func:`compare_families`: fitted to the
    activity up to the cutoff, projected (unconditionally, as the curves are) on the same
    held-out (cohort, age) rows. Its log-likelihood, AIC and BIC are of the per-user
    patterns, a different likelihood from the curve families' (cohort counts): they are
    reported, not compared."""
    _, hold, cutoff = holdout_split(arrivals.events, arrivals.as_of, arrivals.definition,
                                    holdout_days)
    fit = fit_bgbb(arrivals.events, arrivals.start, cutoff, arrivals.end)
    row = {"model": BGBB, "n_params": 4, "note": fit.note, "holdout_rows": int(len(hold))}
    if fit.model is None:
        return row | dict(log_likelihood=np.nan, aic=np.nan, bic=np.nan, holdout_mae=np.nan,
                          holdout_mape=np.nan)
    last = (arrivals.as_of - hold["cohort_date"]).dt.days.to_numpy()
    pred = bgbb_retention(fit.model, hold["age_days"].to_numpy(), last, arrivals.definition)
    obs = hold["retention"].to_numpy()
    nz = obs > 0
    m = fit.model
    return row | dict(
        log_likelihood=m.log_likelihood_, aic=m.aic_, bic=m.bic_,
        holdout_mae=float(np.mean(np.abs(pred - obs)) * 100),
        holdout_mape=float(np.mean(np.abs(pred[nz] - obs[nz]) / obs[nz]) * 100)
        if nz.any() else np.nan)


def bgbb_compare(compare: pd.DataFrame, bgbb_row: Mapping) -> pd.DataFrame:
    """The holdout errors of every curve family (:func:`compare_families`) and the BG/BB
    on the same rows; ``likelihood`` says which data each AIC is of."""
    curves = compare[["n_params", "aic", "holdout_mae", "holdout_mape", "holdout_rows",
                      "note"]].assign(likelihood="cohort counts")
    row = pd.DataFrame([{k: bgbb_row[k] for k in ("model", "n_params", "aic", "holdout_mae",
                                                   "holdout_mape", "holdout_rows", "note")}
                        ]).set_index("model").assign(likelihood="per-user patterns")
    return pd.concat([curves, row])


def display_bgbb_compare(table: pd.DataFrame) -> pd.DataFrame:
    best = table["holdout_mae"].idxmin()
    return pd.DataFrame({
        "model": [f"**{m}**" if m == best else m for m in table.index],
        "parameters": table["n_params"].to_numpy(),
        "holdout MAE (points)": [_num(v, ".2f") for v in table["holdout_mae"]],
        "holdout MAPE": [_num(v, ".1f") + " %" if np.isfinite(v) else "n/a"
                         for v in table["holdout_mape"]],
        "held-out rows": table["holdout_rows"].to_numpy(),
        "AIC (of its own likelihood)": [_num(v, ",.0f") for v in table["aic"]],
        "likelihood": table["likelihood"].to_numpy(),
    })


def _draws(model, size: int = BGBB_DRAWS):
    return model.sample_params(size, random_state=BGBB_SEED)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bgbb_recovery(fit: BGBBFit, sbg_recovery: pd.DataFrame, params: simulate.PanelParams,
                  horizons: Iterable[int], level: float = 0.95) -> pd.DataFrame:
    """The BG/BB's estimates against the simulation's true churn and activity
    distributions, next to the sBG's (``sbg_recovery``: :func:`parameter_recovery`).

    Dropout: the simulation draws theta ~ Beta(churn_a, churn_b), the BG/BB's
    Beta(gamma, delta) one to one. Activity: the simulation draws a propensity pi ~
    Beta(mu phi, (1 - mu) phi) and multiplies it by a weekday factor w (largest 1); the
    BG/BB has no weekday effect, so its mean alpha/(alpha+beta) is compared with the mean
    activity of the living, mu times the mean weekday factor, and alpha, beta themselves
    with Beta(mu phi, (1 - mu) phi) only as orientation (``comparable`` False).
    Survival at each horizon: truth B(a, b + h)/B(a, b). Intervals of derived
    quantities are percentiles over parameter draws.
    """
    from scipy import special

    from analysis.models.bgbb import bgbb_survival

    m = fit.model
    summ = m.summary(level)
    draws = _draws(m)
    a_true, b_true = params.churn_a, params.churn_b
    w_bar = float(np.mean(params.weekly))
    mu, phi = params.activity_mean, params.activity_concentration
    sbg = sbg_recovery.set_index("quantity")

    def sbg_of(name):
        if name not in sbg.index:
            return np.nan, np.nan, np.nan
        r = sbg.loc[name]
        return r["estimate"], r["lower"], r["upper"]

    rows = []

    def add(quantity, truth, est, lo, hi, sbg_name=None, comparable=True):
        se, sl, su = sbg_of(sbg_name) if sbg_name else (np.nan, np.nan, np.nan)
        rows.append({"quantity": quantity, "truth": truth, "estimate": est, "lower": lo,
                     "upper": hi, "comparable": comparable, "sbg_estimate": se,
                     "sbg_lower": sl, "sbg_upper": su})

    add("dropout gamma (truth: churn a)", a_true, *summ.loc["gamma", ["coef", "lower", "upper"]],
        sbg_name="alpha")
    add("dropout delta (truth: churn b)", b_true, *summ.loc["delta", ["coef", "lower", "upper"]],
        sbg_name="beta")
    mean_drop = draws["gamma"] / (draws["gamma"] + draws["delta"])
    g, d = m.params_["gamma"], m.params_["delta"]
    add("mean daily dropout", a_true / (a_true + b_true), g / (g + d),
        *_interval(mean_drop, level), sbg_name="alpha/(alpha+beta)")
    mean_act = draws["alpha"] / (draws["alpha"] + draws["beta"])
    al, be = m.params_["alpha"], m.params_["beta"]
    add("mean activity of the living", mu * w_bar, al / (al + be), *_interval(mean_act, level))
    add("activity alpha", mu * phi, *summ.loc["alpha", ["coef", "lower", "upper"]],
        comparable=False)
    add("activity beta", (1 - mu) * phi, *summ.loc["beta", ["coef", "lower", "upper"]],
        comparable=False)
    for h in [int(h) for h in horizons]:
        truth = float(np.exp(special.betaln(a_true, b_true + h) - special.betaln(a_true, b_true)))
        samples = np.array([bgbb_survival(gg, dd, h) for gg, dd in
                            zip(draws["gamma"], draws["delta"], strict=True)])
        add(f"alive at day {h}", truth, float(m.survival(h)), *_interval(samples, level),
            sbg_name=f"survival at day {h}")
    out = pd.DataFrame(rows)
    inside = (out["lower"] <= out["truth"]) & (out["truth"] <= out["upper"])
    out["truth_in_interval"] = inside.where(out["comparable"], other=np.nan)
    sbg_inside = (out["sbg_lower"] <= out["truth"]) & (out["truth"] <= out["sbg_upper"])
    out["sbg_truth_in_interval"] = sbg_inside.where(out["sbg_estimate"].notna(), other=np.nan)
    return out


def display_bgbb_recovery(recovery: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    pct = recovery["quantity"].str.startswith(("alive", "mean"))

    def cell(est, lo, hi, is_pct):
        if not np.isfinite(est):
            return "—"
        return format_interval(est, lo, hi, percent=bool(is_pct), digits=2 if is_pct else 3)

    def covered(flag):
        return "—" if pd.isna(flag) else _yes(flag)

    return pd.DataFrame({
        "quantity": recovery["quantity"],
        "truth": [fmt_pct(t, 2) if p else f"{t:.3f}" for t, p in
                  zip(recovery["truth"], pct, strict=True)],
        f"BG/BB [{100 * level:.0f} % interval]": [
            cell(r.estimate, r.lower, r.upper, p)
            for r, p in zip(recovery.itertuples(), pct, strict=True)],
        "covers truth": [covered(f) for f in recovery["truth_in_interval"]],
        "sBG": [cell(r.sbg_estimate, r.sbg_lower, r.sbg_upper, p)
                for r, p in zip(recovery.itertuples(), pct, strict=True)],
        "sBG covers": [covered(f) for f in recovery["sbg_truth_in_interval"]],
    })


def bgbb_alive(fit: BGBBFit, horizons: Iterable[int], scale_up, level: float = 0.95,
               truth: simulate.PanelParams | None = None) -> pd.DataFrame:
    """How many of the arrivals are alive: the day after the window ends, and at each
    horizon (age in days since the first active day), each user's P(alive | own history)
    (:meth:`~analysis.models.bgbb.BetaGeometricBetaBinomial.probability_alive_at`) summed
    over users; ``scale_up`` maps panel users to the full user base (identity for an
    observed log). Intervals: delta method on the logit of each share with the fit's
    covariance (parameter uncertainty only). With ``truth`` (the simulation's parameters) adds the expected number under the
    true churn, ``B(a, b + h)/B(a, b)`` (a population expectation: the estimates are of
    these cohorts' own users, whose realised share differs from it by sampling noise the
    intervals do not contain, so no "covered" is claimed).

    Rows: ``when`` (the day after the window, or "day h"), ``share`` (of the arrivals, with
    ``share_lower/upper``), ``users`` (scaled up, with ``users_lower/upper``) and
    ``truth_share`` when ``truth`` is given.
    """
    from scipy import special, stats

    from analysis.models.bgbb import bgbb_probability_alive_at

    pats, m = fit.patterns, fit.model
    x, tx, n, w = (pats[c].to_numpy() for c in ("frequency", "recency", "n_periods", "weights"))
    total = w.sum()
    hz = [int(h) for h in horizons]
    when = [""] + [f"day {h}" for h in hz]
    t = np.column_stack([n + 1] + [np.full_like(n, h) for h in hz])  # patterns x targets

    def shares_at(params):
        return w @ bgbb_probability_alive_at(*params, x, tx, n, t) / total

    est = m.params_.to_numpy(dtype=float)
    shares = shares_at(est)
    # delta method on the logit of each share (it stays in (0, 1)), central differences
    # in the relative size of each parameter; the covariance is the fit's
    logit = lambda v: np.log(v) - np.log1p(-v)  # noqa: E731
    grad = np.empty((est.size, shares.size))
    for k in range(est.size):
        step = np.zeros_like(est)
        step[k] = 1e-4 * est[k]
        grad[k] = (logit(shares_at(est + step)) - logit(shares_at(est - step))) / (2 * step[k])
    se = np.sqrt(np.einsum("kj,kl,lj->j", grad, m.covariance_.to_numpy(), grad))
    z = stats.norm.ppf(0.5 + level / 2)
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    lower, upper = expit(logit(shares) - z * se), expit(logit(shares) + z * se)
    ages = n + 1
    when[0] = f"day after the window (ages {ages.min()}-{ages.max()})"
    rows = []
    for j, label in enumerate(when):
        lo, hi = float(lower[j]), float(upper[j])
        row = {"when": label, "share": float(shares[j]), "share_lower": lo, "share_upper": hi,
               "users": float(scale_up(shares[j] * total)),
               "users_lower": float(scale_up(lo * total)),
               "users_upper": float(scale_up(hi * total))}
        if truth is not None and j > 0:
            a, b, h = truth.churn_a, truth.churn_b, hz[j - 1]
            row["truth_share"] = float(np.exp(special.betaln(a, b + h) - special.betaln(a, b)))
        rows.append(row)
    return pd.DataFrame(rows)


def display_bgbb_alive(alive: pd.DataFrame, users_label: str) -> pd.DataFrame:
    out = pd.DataFrame({
        "when": alive["when"],
        "alive [interval]": [format_interval(r.share, r.share_lower, r.share_upper, digits=2)
                             for r in alive.itertuples()],
        users_label: [f"{fmt_int(r.users)} [{fmt_int(r.users_lower)}, {fmt_int(r.users_upper)}]"
                      for r in alive.itertuples()],
    })
    if "truth_share" in alive:
        # the population expectation; the estimates are of these cohorts' own users
        out["expected under the true churn"] = [fmt_pct(v, 2) if np.isfinite(v) else "—"
                                                for v in alive["truth_share"]]
    return out


@dataclass(frozen=True)
class BGBBFindings:
    """The numbers the BG/BB sentence of notebook 01 states (``recovery`` ones only for
    the simulated panel)."""

    best: str
    bgbb_mae: float
    sbg_mae: float
    best_curve: str
    best_curve_mae: float
    params: dict
    alive_end: dict
    alive_last: dict
    last_horizon: int
    recovery: dict | None = None


def bgbb_findings(table: pd.DataFrame, fit: BGBBFit, alive: pd.DataFrame,
                  recovery: pd.DataFrame | None = None) -> BGBBFindings:
    curves = table.drop(index=BGBB)
    best_curve = curves["holdout_mae"].idxmin()
    rec = None
    if recovery is not None:
        r = recovery.set_index("quantity")
        last = r.index[r.index.str.startswith("alive at day")][-1]
        rec = {"dropout_covered": bool(r["truth_in_interval"].iloc[:2].all()),
               "sbg_covered": bool(r["sbg_truth_in_interval"].iloc[:2].all()),
               "truth": r.loc[last, "truth"], "horizon": last.removeprefix("alive at "),
               "bgbb": tuple(r.loc[last, ["estimate", "lower", "upper"]]),
               "sbg": tuple(r.loc[last, ["sbg_estimate", "sbg_lower", "sbg_upper"]]),
               "true_a": r["truth"].iloc[0], "true_b": r["truth"].iloc[1]}
    last = alive.iloc[-1]
    return BGBBFindings(
        best=table["holdout_mae"].idxmin(), bgbb_mae=float(table.loc[BGBB, "holdout_mae"]),
        sbg_mae=float(table.loc["sBG", "holdout_mae"]) if "sBG" in table.index else np.nan,
        best_curve=best_curve, best_curve_mae=float(curves.loc[best_curve, "holdout_mae"]),
        params={k: float(v) for k, v in fit.model.params_.items()},
        alive_end=alive.iloc[0].to_dict(), alive_last=last.to_dict(),
        last_horizon=int(str(last["when"]).split()[-1]), recovery=rec)


def bgbb_sentence(f: BGBBFindings, level: float, observed: bool = False) -> str:
    """The paragraph under the BG/BB tables of notebook 01."""
    data = "observed" if observed else "**simulated**"
    p = f.params
    text = (f"On the {data} cohorts the BG/BB estimates a mean daily dropout of "
            f"{100 * p['gamma'] / (p['gamma'] + p['delta']):.1f} % (gamma = {p['gamma']:.3f}, "
            f"delta = {p['delta']:.3f}) and, while alive, a mean activity of "
            f"{100 * p['alpha'] / (p['alpha'] + p['beta']):.1f} % of days. Scored on the same "
            f"held-out days as the retention curves, its error is {f.bgbb_mae:.2f} points "
            f"against {f.best_curve_mae:.2f} for the best curve ({f.best_curve})"
            + (f" and {f.sbg_mae:.2f} for the sBG" if f.best_curve != "sBG" else "")
            + f"; the smallest is the {f.best}'s. ")
    e, h = f.alive_end, f.alive_last
    who = "the cohorts' users" if observed else "the arrivals"
    text += (f"Given each user's own history, {100 * e['share']:.2f} % of {who} "
             f"[{100 * e['share_lower']:.2f}, {100 * e['share_upper']:.2f}] are still alive "
             f"on the {e['when']}, and {100 * h['share']:.2f} % "
             f"[{100 * h['share_lower']:.2f}, {100 * h['share_upper']:.2f}] at day "
             f"{f.last_horizon} ({100 * level:.0f} % intervals, parameter uncertainty only).")
    r = f.recovery
    if r:
        covered = lambda flag: "inside" if flag else "outside"  # noqa: E731
        b, s = r["bgbb"], r["sbg"]
        text += (f" The simulation's churn is Beta({r['true_a']:.3f}, {r['true_b']:.3f}): "
                 f"it lies {covered(r['dropout_covered'])} the BG/BB's intervals for gamma "
                 f"and delta and {covered(r['sbg_covered'])} the sBG's for alpha and beta. "
                 f"Alive at {r['horizon']}: truth {100 * r['truth']:.2f} %, BG/BB "
                 f"{100 * b[0]:.2f} % [{100 * b[1]:.2f}, {100 * b[2]:.2f}], sBG "
                 f"{100 * s[0]:.2f} % [{100 * s[1]:.2f}, {100 * s[2]:.2f}]. The BG/BB models "
                 f"the process the simulation runs (a user who is alive but has not been seen "
                 f"since is not counted as lost); the sBG reads the last-seen curve as churn.")
    return text


# ------------------------------------------------------------- readings of the figures

#: How a figure may be read, and what the calibration does under each reading: a name,
#: the words, and a function of the anchors giving the anchors fitted under it.
READINGS: tuple[tuple[str, str], ...] = (
    ("as fitted", "every figure as the interval its wording allows; Reuters' all-market "
     "count bounds the US arrivals from above"),
    ("new-user count as US", "Reuters' count read as US arrivals: 650,000-750,000 "
     "bounds them from both sides"),
    ("without the new-user count", "Reuters' count left out (as in the first "
     "calibrations)"),
    ("without the downloads multiple", "Sensor Tower's 20x left out (its reference week, "
     "'the previous 7 days', is presumed, not stated)"),
)


def _read(anchors: pd.DataFrame, reading: str) -> pd.DataFrame:
    a = anchors.copy()
    if reading == "new-user count as US":
        nu = a["kind"] == "new_users"
        a.loc[nu, "low"] = [sources.value_interval(v, "approximate")[0] for v in a.loc[nu, "value"]]
    elif reading == "without the new-user count":
        a = a[a["kind"] != "new_users"]
    elif reading == "without the downloads multiple":
        a = a[a["kind"] != "installs_ratio"]
    elif reading != "as fitted":
        raise ValueError(f"unknown reading {reading!r}; known: {[r for r, _ in READINGS]}")
    return a.reset_index(drop=True)


def calibration_readings(panel: Panel, cohort_start, cohort_end,
                         ages: Sequence[int] = (30, 365)) -> pd.DataFrame:
    """The calibration redone under each reading of :data:`READINGS` and what it implies
    for the arrivals studied: one row per reading with ``reading, description,
    figures`` (fitted), ``outside`` (ids the fit cannot meet), ``binding``,
    ``surge_growth_percent``, ``arrivals`` (the model's expected installs over
    ``cohort_start..cohort_end``) and ``survival_day<N>`` (the model's share of those
    arrivals not churned at age N: the simulated truth the retention fits estimate).
    Computed from the calibrated model (:func:`analysis.simulation.users.calibrate`), not
    from a sampled panel."""
    c0, c1 = pd.Timestamp(cohort_start), pd.Timestamp(cohort_end)
    rows = []
    for name, words in READINGS:
        anchors = _read(panel.anchors, name)
        cal = simulate.calibrate(anchors, compare_flat_surge=False)
        p = cal.params
        installs = simulate.install_curve(p, end=c1).set_index("date")["installs"][c0:c1]
        surv = np.exp(betaln(p.churn_a, p.churn_b + np.asarray(ages, float))
                      - betaln(p.churn_a, p.churn_b))
        rows.append({"reading": name, "description": words,
                     "figures": int((anchors["weight"] > 0).sum()),
                     "outside": ", ".join(cal.report["conflicts"]) or "none",
                     "binding": ", ".join(cal.report["binding"]) or "none",
                     "surge_growth_percent": 100 * (np.exp(p.surge_growth) - 1),
                     "arrivals": float(installs.sum())}
                    | {f"survival_day{k}": float(s) for k, s in zip(ages, surv, strict=True)})
    return pd.DataFrame(rows)


def display_readings(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibration_readings` as the report shows it."""
    out = pd.DataFrame({
        "reading": table["reading"], "figures fitted": table["figures"],
        "outside": table["outside"], "binding": table["binding"],
        "installs growth a day": [f"{v:.0f} %" for v in table["surge_growth_percent"]],
        "arrivals": [fmt_millions(v, 1) for v in table["arrivals"]],
    })
    for c in table.columns:
        if c.startswith("survival_day"):
            out[f"not churned at day {c.removeprefix('survival_day')}"] = \
                [fmt_pct(v, 1) for v in table[c]]
    return out


def readings_sentence(table: pd.DataFrame, cohort_start, cohort_end) -> str:
    """What the readings change (notebook 01, simulated panel)."""
    base = table.iloc[0]
    cols = [c for c in table.columns if c.startswith("survival_day")]
    last = cols[-1]
    day = last.removeprefix("survival_day")
    lo, hi = table[last].min(), table[last].max()
    alo, ahi = table["arrivals"].min(), table["arrivals"].max()
    out = table[table["outside"] != "none"]
    text = (f"The conclusions depend on how the figures are read (@tbl-ret-readings). "
            f"Under the {len(table)} readings the calibrated model puts "
            f"{fmt_millions(alo, 1)} to {fmt_millions(ahi, 1)} US arrivals in "
            f"{pd.Timestamp(cohort_start):%-d}-{pd.Timestamp(cohort_end):%-d %B} and "
            f"{fmt_pct(lo, 1)} to {fmt_pct(hi, 1)} of them not churned at day {day} "
            f"({fmt_pct(base[last], 1)} as fitted)")
    moved = (table[last] - base[last]).abs().iloc[1:]
    if len(moved) and moved.max() > 0:
        r = table.loc[moved.idxmax()]
        text += (f"; the reading that moves them most is '{r['reading']}' "
                 f"({fmt_millions(r['arrivals'], 1)} arrivals, {fmt_pct(r[last], 1)} at day "
                 f"{day})")
    if len(out):
        text += ("; under " + "; ".join(f"'{r.reading}' the fit misses {r.outside}"
                                        for r in out.itertuples(index=False)))
    return text + (". The retention fits of this section are made on the panel simulated "
                   "under the first reading; the table gives the simulated truth under "
                   "the others, not refits.")
