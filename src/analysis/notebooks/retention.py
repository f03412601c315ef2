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
:func:`cohort_events`      events of the users who installed in the cohort window
:func:`build_cohort_table` dense cohort x age table as of a day (install cohorts)
:func:`fitting_rows`       the rows a retention model is fitted to (guarded)
:func:`fit_families`       every family fitted jointly to the cohorts
:func:`compare_families`   holdout error and AIC/BIC, fitted before a cutoff
:func:`projection_table`   retention at horizons, intervals, implied users (scaled up)
:func:`true_params`, :func:`expected_rows`, :func:`pseudo_true_fit`, :func:`true_retention`
:func:`recovery_table`     estimates vs the simulation's truth and the estimator's target
:func:`dau_anchor_check`   the panel's DAU against the published anchors
:func:`plot_cohort_curves`, :func:`plot_projection`, :func:`plot_dau_check`
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as pads

from analysis.data import cohorts
from analysis.models import retention
from analysis.simulation import users as simulate
from analysis.notebooks.common import PROVIDER_COLOURS, axes_or_new

__all__ = [
    "END_GUARD_DAYS",
    "DEFINITION_TEXT",
    "build_cohort_table",
    "cohort_events",
    "cohort_summary",
    "compare_families",
    "coverage_phrase",
    "display_cohorts",
    "display_compare",
    "display_dau_check",
    "display_params",
    "display_projection",
    "display_recovery",
    "for_results",
    "dau_anchor_check",
    "describe_anchors",
    "expected_rows",
    "fit_families",
    "fitting_rows",
    "format_interval",
    "plot_cohort_curves",
    "plot_dau_check",
    "plot_projection",
    "pooled_share",
    "projection_table",
    "pseudo_true_fit",
    "recovery_table",
    "survival_band",
    "true_params",
    "true_retention",
]

Definition = Literal["classic", "unbounded"]

#: Days at the end of each cohort's observation dropped from unbounded-retention fits:
#: "active on day N or later" is biased low near the window's end (a user who comes
#: back after the window is not seen). 14 days: with the simulation's activity
#: propensities (Beta(3.5, 1.5), weekday factor >= 0.94) a user alive 14 days before the
#: end goes unseen for all 14 days with probability about 0.2 %; fits with a 7-day and a
#: 14-day guard agree to the third digit on the default panel.
END_GUARD_DAYS = 14

#: Colours of the model families in every figure.
FAMILY_COLOURS = {
    "sBG": "#1f77b4",
    "BdW": "#ff7f0e",
    "geometric": "#8c564b",
    "power law": "#2ca02c",
    "Weibull": "#9467bd",
}
TRUTH_COLOUR = "#222222"


# ------------------------------------------------------------------------------ cohorts


def cohort_events(panel_path: str | Path, cohort_start, cohort_end,
                  market: str | None = None) -> pd.DataFrame:
    """Events (``user_id, event_date, market, install_date``) of the users who installed
    between ``cohort_start`` and ``cohort_end`` (inclusive), optionally one market.

    Only these users' rows are read from the Parquet panel (a pyarrow filter), so the
    frame stays small. Raises ``ValueError`` if the window holds no install, or if it
    begins before the panel's first day (those cohorts would be left-truncated: users
    who churned before the panel began are missing, so their size is understated).
    """
    c0, c1 = cohorts.as_date(cohort_start), cohorts.as_date(cohort_end)
    if c1 < c0:
        raise ValueError(f"cohort_end {c1} is before cohort_start {c0}")
    dataset = pads.dataset(str(panel_path))
    first = pc.min(dataset.to_table(columns=["event_date"])["event_date"]).as_py()
    if first is not None and c0 < cohorts.as_date(first):
        raise ValueError(f"cohort_start {c0} is before the panel's first day {first}: the "
                         f"cohorts would be left-truncated; start on or after {first}")
    flt = (pads.field("install_date") >= c0) & (pads.field("install_date") <= c1)
    if market is not None:
        flt = flt & (pads.field("market") == market)
    events = dataset.to_table(filter=flt).to_pandas()
    if events.empty:
        where = f" in market {market!r}" if market is not None else ""
        raise ValueError(f"no user of {panel_path} installed between {c0} and {c1}{where}")
    events["event_date"] = pd.to_datetime(events["event_date"])
    events["install_date"] = pd.to_datetime(events["install_date"])
    return events


def build_cohort_table(events: pd.DataFrame, as_of) -> pd.DataFrame:
    """Install-cohort table (:func:`analysis.data.cohorts.cohort_table`) of the events up to
    ``as_of``, as if the log ended that day (later events are dropped, so "active on day
    N or later" uses no information from after ``as_of``)."""
    end = pd.Timestamp(as_of)
    upto = events[events["event_date"] <= end]
    if upto.empty:
        raise ValueError(f"no event on or before {end.date()}")
    return cohorts.cohort_table(upto, cohort="install", as_of=end)


def _last_age(table: pd.DataFrame, as_of) -> pd.Series:
    return (pd.Timestamp(as_of) - pd.to_datetime(table["cohort_date"])).dt.days


def fitting_rows(table: pd.DataFrame, definition: Definition, as_of,
                 guard_days: int | None = None) -> pd.DataFrame:
    """The rows a retention model is fitted to: ``cohort_date, age_days, cohort_size,
    retained_users, retention`` (:func:`analysis.data.cohorts.retention_table`).

    For ``"unbounded"`` the last ``guard_days`` (default :data:`END_GUARD_DAYS`) ages of
    each cohort -- the days just before ``as_of`` -- are dropped (biased low, see the
    module docstring); classic retention needs no guard (default 0).
    """
    if guard_days is None:
        guard_days = END_GUARD_DAYS if definition == "unbounded" else 0
    if guard_days < 0:
        raise ValueError(f"guard_days must be >= 0, got {guard_days}")
    rows = cohorts.retention_table(table, definition)
    keep = rows["age_days"] <= _last_age(rows, as_of) - guard_days
    out = rows[keep].reset_index(drop=True)
    if out.empty or out["age_days"].max() < 2:
        raise ValueError(
            f"after dropping the last {guard_days} days of each cohort fewer than three "
            f"ages are left to fit; observe the cohorts longer (as_of {pd.Timestamp(as_of).date()})")
    return out


def pooled_share(rows: pd.DataFrame) -> pd.DataFrame:
    """``age_days, retention`` pooled over cohorts (sum retained / sum of sizes)."""
    g = rows.groupby("age_days")[["retained_users", "cohort_size"]].sum()
    return pd.DataFrame({"age_days": g.index.to_numpy(),
                         "retention": (g["retained_users"] / g["cohort_size"]).to_numpy()})


# ------------------------------------------------------------------------------ fitting


def _family_name(spec) -> str:
    return spec.family if isinstance(spec, type) else type(spec).family


def fit_families(rows: pd.DataFrame, definition: Definition,
                 families: Sequence | None = None) -> tuple[dict, dict]:
    """Fit every family jointly to the cohorts of ``rows`` (:func:`fitting_rows`).

    Returns ``(models, notes)``: fitted models by family name (families whose fit failed
    are left out) and, by family name, the text of any :class:`RetentionFitWarning` or
    the error of a failed fit ("" if none). Warnings are caught, not shown.
    """
    models, notes = {}, {}
    for spec in families or retention.DEFAULT_MODELS:
        model = spec() if isinstance(spec, type) else spec._clone()
        name = model.family
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", retention.RetentionFitWarning)
            try:
                model.fit_cohorts(rows, retention=definition, active_col="retained_users")
            except retention.RetentionFitError as exc:
                notes[name] = f"fit failed: {exc}"
                continue
        models[name] = model
        notes[name] = "; ".join(str(w.message) for w in caught
                                if issubclass(w.category, retention.RetentionFitWarning))
    return models, notes


def compare_families(events: pd.DataFrame, as_of, definition: Definition, holdout_days: int,
                     families: Sequence | None = None,
                     guard_days: int | None = None) -> pd.DataFrame:
    """Fit every family on the data up to ``as_of - holdout_days``, score the projection
    on the held-out days.

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
    if holdout_days < 1:
        raise ValueError(f"holdout_days must be >= 1, got {holdout_days}")
    end = pd.Timestamp(as_of)
    cutoff = end - pd.Timedelta(days=holdout_days)
    calib = fitting_rows(build_cohort_table(events, cutoff), definition, cutoff, guard_days)
    full = fitting_rows(build_cohort_table(events, end), definition, end, guard_days)
    last_calib = calib.groupby("cohort_date")["age_days"].max()
    beyond = full["age_days"] > full["cohort_date"].map(last_calib).fillna(-1)
    hold = full[beyond]
    if hold.empty:
        raise ValueError("the holdout period holds no observation")
    models, notes = fit_families(calib, definition, families)
    rows = []
    for spec in families or retention.DEFAULT_MODELS:
        name = _family_name(spec)
        row = {"model": name, "n_params": len(spec.param_names), "note": notes.get(name, "")}
        m = models.get(name)
        if m is None:
            row |= dict(log_likelihood=np.nan, aic=np.nan, bic=np.nan,
                        holdout_mae=np.nan, holdout_mape=np.nan)
        else:
            pred = np.asarray(m.survival(hold["age_days"].to_numpy(dtype=float)))
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
                     calibration_max_age=int(calib["age_days"].max()))
    return out


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


def projection_table(models: Mapping[str, object], horizons: Iterable[int], n_users: float,
                     scale: float, level: float = 0.95) -> pd.DataFrame:
    """Projected retention at ``horizons`` with ``level`` intervals, and the implied users.

    ``n_users`` is the number of users of the cohorts in the panel; the implied users are
    ``n_users / scale * retention`` (the panel is a ``scale`` sample of the user base).

    Returns one row per (model, horizon): ``model, horizon_days, retention, lower, upper,
    users, users_lower, users_upper``.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    hz = [int(h) for h in horizons]
    rows = []
    for name, model in models.items():
        band = survival_band(model, hz, level)
        for h, r in zip(hz, band.itertuples(index=False), strict=True):
            rows.append({"model": name, "horizon_days": h, "retention": r.estimate,
                         "lower": r.lower, "upper": r.upper})
    out = pd.DataFrame(rows)
    factor = n_users / scale
    for src, dst in (("retention", "users"), ("lower", "users_lower"), ("upper", "users_upper")):
        out[dst] = out[src] * factor
    return out


# ------------------------------------------------------------------------ the simulation


def true_params(metadata: Mapping) -> simulate.PanelParams:
    """The simulation's true parameters from a panel's ``params.json`` (as read by
    :func:`analysis.simulation.panel.panel_metadata`)."""
    p = dict(metadata["params"])
    p["weekly"] = tuple(p["weekly"])
    return simulate.PanelParams(**p)


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


# ------------------------------------------------------------------- published figures


def dau_anchor_check(dau: pd.DataFrame, anchors: pd.DataFrame, scale: float) -> pd.DataFrame:
    """The panel's DAU (scaled up by ``1/scale``) against the calibration anchors.

    ``dau`` is :func:`analysis.data.cohorts.daily_active_users` of the panel; ``anchors`` is
    :func:`analysis.simulation.users.anchors_from_published` (only rows with ``weight > 0``, the
    figures the simulation is calibrated to, are checked). Each anchor is evaluated as
    the calibration does: a level on its day; the day's DAU over the largest DAU before
    it (``share_of_peak``); the mean over ``date..end`` over the mean over
    ``ref_start..ref_end`` (``ratio_of_means``); the day of the largest DAU over
    ``ref_start..end`` (``peak_day``); a level below a bound (``upper_bound``).

    Returns ``id, provider, kind, note, date, end, ref_start, ref_end, published,
    panel, tolerance, within`` and ``panel_date`` (the panel's peak day)
    (``published``/``panel`` as numbers; for ``peak_day`` the dates are in ``note`` and
    the values are days since ``ref_start``).
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    s = dau.set_index(pd.to_datetime(dau["date"]))["dau"].astype(float) / scale

    def at(d):
        d = pd.Timestamp(d)
        if d not in s.index:
            raise ValueError(f"the panel's DAU has no value on {d.date()} "
                             f"(panel {s.index.min().date()}..{s.index.max().date()})")
        return float(s.loc[d])

    rows = []
    for a in anchors[anchors["weight"] > 0].itertuples(index=False):
        row = {"id": a.id, "provider": a.provider, "kind": a.kind, "note": a.note,
               "date": pd.Timestamp(a.date), "end": pd.Timestamp(a.end),
               "ref_start": pd.Timestamp(a.ref_start), "ref_end": pd.Timestamp(a.ref_end),
               "tolerance": a.tolerance}
        if a.kind == "level":
            v = at(a.date)
            row |= {"published": a.value, "panel": v,
                    "within": abs(v / a.value - 1) <= a.tolerance}
        elif a.kind == "upper_bound":
            v = at(a.date)
            row |= {"published": a.value, "panel": v, "within": v <= a.value}
        elif a.kind == "share_of_peak":
            v = at(a.date) / float(s.loc[: pd.Timestamp(a.date)].max())
            row |= {"published": a.value, "panel": v, "within": abs(v - a.value) <= a.tolerance}
        elif a.kind == "ratio_of_means":
            num = s.loc[pd.Timestamp(a.date): pd.Timestamp(a.end)].mean()
            den = s.loc[pd.Timestamp(a.ref_start): pd.Timestamp(a.ref_end)].mean()
            v = float(num / den)
            row |= {"published": a.value, "panel": v, "within": abs(v - a.value) <= a.tolerance}
        elif a.kind == "peak_day":
            window = s.loc[pd.Timestamp(a.ref_start): pd.Timestamp(a.end)]
            peak = window.idxmax()
            start = pd.Timestamp(a.ref_start)
            row |= {"published": float((pd.Timestamp(a.date) - start).days),
                    "panel": float((peak - start).days), "within": peak == pd.Timestamp(a.date),
                    "panel_date": peak}
        else:
            raise ValueError(f"unknown anchor kind {a.kind!r} (anchor {a.id})")
        rows.append(row)
    out = pd.DataFrame(rows)
    out["within"] = out["within"].astype(bool)
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


def _pct(x, digits: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def _num(x, fmt: str) -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def _span(a, b) -> str:
    a, b = pd.Timestamp(a), pd.Timestamp(b)
    return f"{a:%d}-{b:%d %b}" if a.month == b.month else f"{a:%d %b}-{b:%d %b}"


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
    retention (``definition``) at each of ``ages`` (NaN if not observed yet)."""
    rt = cohorts.retention_table(table, definition)
    g = rt.groupby("cohort_date")
    out = pd.DataFrame({"users": g["cohort_size"].first(),
                        "days_observed": g["age_days"].max()})
    out["users_scaled"] = out["users"] / scale
    wide = rt.pivot(index="cohort_date", columns="age_days", values="retention")
    for a in ages:
        out[f"day_{a}"] = wide[a] if a in wide.columns else np.nan
    return out.reset_index()[["cohort_date", "users", "users_scaled", "days_observed",
                              *[f"day_{a}" for a in ages]]]


def display_cohorts(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`cohort_summary` formatted for a report table."""
    out = pd.DataFrame({
        "cohort (install day)": pd.to_datetime(summary["cohort_date"]).dt.strftime("%a %d %b %Y"),
        "users in panel": summary["users"].map(lambda v: f"{v:,.0f}"),
        "users, scaled up": summary["users_scaled"].map(lambda v: f"{v:,.0f}"),
        "days observed": summary["days_observed"].map(lambda v: f"{v:.0f}"),
    })
    for col in summary.columns:
        if col.startswith("day_"):
            out[f"day {col.removeprefix('day_')}"] = summary[col].map(_pct)
    return out


def display_compare(compare: pd.DataFrame, projections: Mapping[str, float] | None = None,
                    horizon: int | None = None) -> pd.DataFrame:
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
        out[f"day {horizon}"] = [_pct(projections.get(m, np.nan), 2) for m in compare.index]
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
    out = pd.DataFrame({
        "model": projection["model"],
        "day": projection["horizon_days"],
        "retention [interval]": [format_interval(r.retention, r.lower, r.upper, digits=2)
                                 for r in projection.itertuples()],
        f"{users_label} [interval]": [
            f"{r.users:,.0f} [" + ("n/a" if not np.isfinite(r.users_lower)
                                   else f"{r.users_lower:,.0f}, {r.users_upper:,.0f}") + "]"
            for r in projection.itertuples()],
    })
    if truth is not None:
        tv = projection["horizon_days"].map(truth)
        out["simulation truth"] = tv.map(lambda v: _pct(v, 2))
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
        fmt = (lambda v, d=digits: _pct(v, d)) if share else (lambda v: _num(v, ".3f"))
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


def display_dau_check(check: pd.DataFrame) -> pd.DataFrame:
    """:func:`dau_anchor_check` formatted for a report table."""
    rows = []
    for r in check.itertuples(index=False):
        if r.kind == "peak_day":
            what = "peak day of US DAU"
            pub = f"{r.date:%-d %b %Y}"
            panel = f"{r.panel_date:%-d %b %Y}"
            tol = "same day"
        elif r.kind == "level":
            what = f"US DAU on {r.date:%-d %b %Y}"
            pub, panel = f"{r.published:,.0f}", f"{r.panel:,.0f}"
            tol = f"±{100 * r.tolerance:.0f} %"
        elif r.kind == "upper_bound":
            what = f"US DAU on {r.date:%-d %b %Y} (upper bound)"
            pub, panel = f"under {r.published:,.0f}", f"{r.panel:,.0f}"
            tol = "bound"
        elif r.kind == "share_of_peak":
            what = f"DAU on {r.date:%-d %b %Y} as a share of the peak"
            pub, panel = _pct(r.published, 0), _pct(r.panel, 1)
            tol = f"±{100 * r.tolerance:.0f} points"
        else:  # ratio_of_means
            what = (f"mean DAU {_span(r.date, r.end)} vs {_span(r.ref_start, r.ref_end)}"
                    " (change)")
            pub = f"{100 * (r.published - 1):+.0f} %"
            panel = f"{100 * (r.panel - 1):+.1f} %"
            tol = f"±{100 * r.tolerance:.0f} points"
        rows.append({"published figure": what, "provider": r.provider, "id": r.id,
                     "published": pub, "simulated panel": panel, "tolerance": tol,
                     "within": _yes(r.within)})
    return pd.DataFrame(rows)


def describe_anchors(check: pd.DataFrame) -> str:
    """A Markdown bullet list of the published figures in :func:`dau_anchor_check`, by
    provider, in words and with their published values (for a report's callout)."""
    lines = []
    kind_order = {"peak_day": 0, "ratio_of_means": 1, "level": 2, "upper_bound": 3,
                  "share_of_peak": 4}
    counts = check["provider"].value_counts()
    providers = sorted(counts.index, key=lambda p: (-counts[p], p))  # most figures first
    for provider in providers:
        g = check[check["provider"] == provider]
        g = g.assign(_k=g["kind"].map(kind_order)).sort_values(["date", "_k"])
        items = []
        for r in g.itertuples(index=False):
            if r.kind == "peak_day":
                items.append(f"US DAU peaked on {r.date:%-d %B %Y}")
            elif r.kind == "level":
                items.append(f"US DAU about {r.published:,.0f} on {r.date:%-d %B %Y}")
            elif r.kind == "upper_bound":
                items.append(f"US DAU under {r.published:,.0f} on {r.date:%-d %B %Y}")
            elif r.kind == "share_of_peak":
                items.append(f"about {100 * r.published:.0f} % of the peak on "
                             f"{r.date:%-d %B %Y}")
            elif r.kind == "ratio_of_means":
                items.append(f"mean DAU over {_span(r.date, r.end)} about "
                             f"{100 * abs(r.published - 1):.0f} % "
                             f"{'below' if r.published < 1 else 'above'} "
                             f"{_span(r.ref_start, r.ref_end)}")
        lines.append(f"- **{provider}**: " + "; ".join(items) + ".")
    return "\n".join(lines)


#: How each retention definition is measured, in words.
DEFINITION_TEXT = {
    "unbounded": "the share of a cohort active on day N *or later* (a user counts as "
                 "retained until their last active day)",
    "classic": "the share of a cohort active *on* day N",
}


def for_results(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy safe for :meth:`analysis.pipeline.results.Results.table`: NaN/NaT become None."""
    out = frame.copy().astype(object)
    return out.where(pd.notna(out), None)


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
    dates = sorted(rows["cohort_date"].unique())
    cmap = mpl.colormaps["Greys"]
    for i, c in enumerate(dates):
        colour = cmap(0.35 + 0.4 * i / max(1, len(dates) - 1))
        g = rows[rows["cohort_date"] == c]
        ax.plot(g["age_days"], g["retention"], color=colour, lw=0.9, zorder=1,
                label="observed, one line per cohort" if i == 0 else None)
        if guarded is not None:
            h = guarded[guarded["cohort_date"] == c]
            if len(h):
                h = pd.concat([g.tail(1), h])
                ax.plot(h["age_days"], h["retention"], color=colour, lw=0.9, ls=":",
                        zorder=1, label="not fitted (end of window)" if i == 0 else None)
    t_max = float(pd.concat([rows, guarded])["age_days"].max() if guarded is not None
                  else rows["age_days"].max())
    grid = np.arange(0.0, t_max + 1)
    for name, model in models.items():
        _curve(ax, model, grid, FAMILY_COLOURS.get(name, None), f"{name} fit", level)
    _truths(ax, truths)
    if log:
        ax.set_yscale("log")
    ax.set_xlim(0, t_max)
    ax.set_xlabel("days since install (age)")
    ax.set_ylabel("share of cohort")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def plot_projection(models: Mapping[str, object], horizons: Sequence[int], ax=None, *,
                    observed: pd.DataFrame | None = None,
                    truths: Mapping[str, tuple] | None = None,
                    level: float | None = 0.95, log: bool = True, ymin: float | None = None):
    """Fitted curves projected to the largest horizon, with bands and the horizons marked.

    ``observed`` an optional pooled ``age_days, retention`` frame (:func:`pooled_share`),
    ``truths`` optional curves ``label -> (ages, values)``. On a log axis the lower limit
    is ``ymin``, by default half the smallest of the observed shares, the truths and the
    models' projections at the last horizon that are above 0.1 % (a model collapsing to
    zero leaves the axes instead of squashing the others). Returns the axes.
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
        ax.plot(observed["age_days"], observed["retention"], "o", color="black", ms=2.2,
                label="observed (cohorts pooled)", zorder=4)
        lows.append(float(observed["retention"][observed["retention"] > 0].min()))
    _truths(ax, truths)
    for _, (_, values) in (truths or {}).items():
        lows.append(float(np.min(values)))
    for h in horizons:
        ax.axvline(h, color="#999999", lw=0.8, ls=":", zorder=0)
        ax.annotate(f"day {h}", (h, 0.0), xycoords=("data", "axes fraction"), fontsize=7,
                    ha="right", va="bottom", rotation=90, color="#666666",
                    xytext=(-2, 3), textcoords="offset points")
    if log:
        ax.set_yscale("log")
        low = ymin if ymin is not None else (0.5 * min(lows) if lows else None)
        if low is not None:
            ax.set_ylim(low, 1.1)
    ax.set_xlim(0, t_max * 1.02)
    ax.set_xlabel("days since install (age)")
    ax.set_ylabel("share of cohort")
    # below the "simulated" stamp (top right), where the projected curves have flattened
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.9), ncol=2)
    return ax


def plot_dau_check(dau: pd.DataFrame, check: pd.DataFrame, scale: float, ax=None, *,
                   expected: pd.DataFrame | None = None):
    """The panel's DAU scaled up by ``1/scale`` with the published anchors it is
    calibrated to (:func:`dau_anchor_check`): levels as points, bounds as open points, the
    peak implied by a share of the peak as a star on the published peak day.

    ``expected`` an optional ``date, dau`` frame (the model's expected DAU at scale 1).
    Returns the axes.
    """
    ax = axes_or_new(ax)
    d = pd.to_datetime(dau["date"])
    ax.plot(d, dau["dau"] / scale, color="#444444", lw=1.2,
            label="simulated panel DAU (scaled up)")
    if expected is not None:
        ax.plot(pd.to_datetime(expected["date"]), expected["dau"], color="#999999", lw=1,
                ls="--", label="expected DAU of the simulation")
    peak_day = check.loc[check["kind"] == "peak_day", "date"]
    for r in check.itertuples(index=False):
        colour = PROVIDER_COLOURS.get(r.provider, "#333333")
        if r.kind == "level":
            ax.scatter([r.date], [r.published], color=colour, s=45, zorder=4,
                       label=f"{r.provider}: level")
        elif r.kind == "upper_bound":
            ax.scatter([r.date], [r.published], facecolors="none", edgecolors=colour, s=45,
                       zorder=4, label=f"{r.provider}: upper bound")
        elif r.kind == "share_of_peak" and len(peak_day):
            level = check[(check["kind"] == "level") & (check["date"] == r.date)
                          & (check["provider"] == r.provider)]
            if len(level):
                ax.scatter([peak_day.iloc[0]], [float(level["published"].iloc[0]) / r.published],
                           marker="*", s=160, color=colour, zorder=4,
                           label=f"{r.provider}: implied peak (level / share)")
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:.1f} M"))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("US daily active users")
    ax.set_xlabel("")
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    # right, below the "simulated" stamp: after the peak the curve stays low
    ax.legend(seen.values(), seen.keys(), fontsize=8, loc="upper right",
              bbox_to_anchor=(1.0, 0.9))
    return ax
