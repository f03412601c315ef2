"""The simulated activity panel as the notebooks use it: calibrated, built once, cached.

:func:`ensure_panel` returns the path of the SIMULATED activity log for a ``(scale,
seed)``: it calibrates :mod:`analysis.simulation.users` to the published anchors read through the
validated loader (so the figures' checksum lands in the provenance), writes the panel
under ``config.GENERATED_DATA_DIR`` if it is not there yet, and records the file as read.
The panel is a build product (``make data`` builds the default one), never raw data; it
is deterministic for a given scale, seed and published-figures file.

:class:`Panel` is what a notebook holds: the panel's path, its ``params.json``, the true
parameters, the scale and seed, the market studied, and the published figures and
calibration anchors, in one frozen value (``Panel.load(scale, seed, market)``). Its
methods read the log (:meth:`Panel.events`, :meth:`Panel.cohort_events`), count the
daily active users once (:attr:`Panel.dau`, :attr:`Panel.scaled_dau`) and check them
against the anchors (:meth:`Panel.anchor_check`, :func:`dau_anchor_check`), so that no
helper is handed the path, the scale and the market one by one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as pads

from analysis import config
from analysis._io import as_date, record_read, sha256
from analysis.data import cohorts, sources
from analysis.simulation import users as simulate

DEFAULT_SCALE = 0.01


def panel_dir(scale: float = DEFAULT_SCALE, seed: int = simulate.DEFAULT_SEED) -> Path:
    """Where the panel for ``(scale, seed)`` lives."""
    return config.GENERATED_DATA_DIR / f"panel-scale{scale:g}-seed{seed}"


def ensure_panel(scale: float = DEFAULT_SCALE, seed: int = simulate.DEFAULT_SEED,
                 progress: bool | None = None) -> Path:
    """Path of the simulated activity log for ``(scale, seed)``, building it if needed.

    A cached panel is reused only if it was built from the current published-figures
    file by the current simulation code (the SHA-256 of both is kept beside the panel);
    otherwise it is rebuilt.
    """
    if not (0 < scale <= 1):
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    out = panel_dir(scale, seed)
    path = out / "activity.parquet"
    stamp = out / "published_metrics.sha256"
    figures_sha = f"{sha256(config.PUBLISHED_METRICS_CSV)} {sha256(simulate.__file__)}"
    metrics = sources.load_published_metrics()  # records the figures as read
    if not (path.is_file() and stamp.is_file() and stamp.read_text().strip() == figures_sha):
        calibration = simulate.calibrate(simulate.anchors_from_published(metrics))
        simulate.simulate_panel(calibration, scale=scale, seed=seed, out_dir=out,
                                progress=progress)
        tmp = stamp.with_name(f".{stamp.name}.tmp-{os.getpid()}")
        tmp.write_text(figures_sha + "\n")
        tmp.replace(stamp)
    record_read(path)
    return path


def panel_metadata(path: str | Path) -> dict:
    """The ``params.json`` written beside a panel: true parameters, seed, scale, label."""
    return json.loads((Path(path).parent / "params.json").read_text())


def true_params(metadata: Mapping) -> simulate.PanelParams:
    """The simulation's true parameters from a panel's ``params.json`` (as read by
    :func:`panel_metadata`)."""
    p = dict(metadata["params"])
    p["weekly"] = tuple(p["weekly"])
    return simulate.PanelParams(**p)


def dau_anchor_check(dau: pd.Series, anchors: pd.DataFrame, installs: pd.Series | None = None,
                     scale: float | None = None) -> pd.DataFrame:
    """A DAU series at full scale (by date; :attr:`Panel.scaled_dau`) against the
    calibration anchors, each an interval or a bound.

    ``anchors`` is :func:`analysis.simulation.users.anchors_from_published` (only rows
    with ``weight > 0``, the figures the simulation is calibrated to, are checked). Each
    anchor is evaluated as the calibration does: a level on its day (on its worst day
    when the day is approximate, ``date..end``); the day's DAU over
    the largest DAU before it (``share_of_peak``); the mean over ``date..end`` over the
    mean over ``ref_start..ref_end`` (``ratio_of_means``); the day of the largest DAU
    over ``ref_start..end`` (``peak_day``); new users summed over ``date..end``
    (``new_users``) and their ratio to ``ref_start..ref_end`` (``installs_ratio``),
    from ``installs`` (new users per day at full scale, :attr:`Panel.scaled_installs`;
    required if such an anchor is checked).

    ``scale``, the sampling fraction of a panel (None: an exact curve), widens each
    interval by twice the value's relative Poisson sampling error at that scale
    (``sampling_error``), so that a panel sampled from a calibrated curve that lies at
    an interval's end is not reported outside it for its sampling noise alone.

    Returns ``id, provider, kind, note, date, end, ref_start, ref_end, published, low,
    high, panel, sampling_error, inside`` and ``panel_date`` (the panel's peak day)
    (``published``/``panel`` as numbers; for ``peak_day`` the dates are in ``note`` and
    the values are days since ``ref_start``).
    """
    s = dau.astype(float)
    s.index = pd.DatetimeIndex(s.index)
    new = None
    if installs is not None:
        new = installs.astype(float)
        new.index = pd.DatetimeIndex(new.index)

    def at(d):
        d = pd.Timestamp(d)
        if d not in s.index:
            raise ValueError(f"the panel's DAU has no value on {d.date()} "
                             f"(panel {s.index.min().date()}..{s.index.max().date()})")
        return float(s.loc[d])

    def total(series, a, b):
        return float(series.loc[pd.Timestamp(a): pd.Timestamp(b)].sum())

    def rel_error(*counts):  # relative Poisson s.d. of a product / quotient of counts
        if scale is None:
            return 0.0
        return float(np.sqrt(sum(1.0 / max(scale * c, 1.0) for c in counts)))

    rows = []
    for a in anchors[anchors["weight"] > 0].itertuples(index=False):
        row = {"id": a.id, "provider": a.provider, "kind": a.kind, "note": a.note,
               "date": pd.Timestamp(a.date), "end": pd.Timestamp(a.end),
               "ref_start": pd.Timestamp(a.ref_start), "ref_end": pd.Timestamp(a.ref_end),
               "published": a.value, "low": a.low, "high": a.high}
        if a.kind in ("new_users", "installs_ratio") and new is None:
            raise ValueError(f"anchor {a.id} ({a.kind}) needs the new users per day "
                             "(installs=)")
        if a.kind in ("level", "upper_bound") and pd.Timestamp(a.end) > pd.Timestamp(a.date):
            # a figure for a day of date..end (an approximate day): every day must hold,
            # so the worst day is checked
            at(a.date), at(a.end)
            span = s.loc[pd.Timestamp(a.date): pd.Timestamp(a.end)].to_numpy()
            v = simulate._worst_day(span, a.low, a.high)
            err = rel_error(v)
        elif a.kind in ("level", "upper_bound"):
            v = at(a.date)
            err = rel_error(v)
        elif a.kind == "share_of_peak":
            peak = float(s.loc[: pd.Timestamp(a.date)].max())
            v = at(a.date) / peak
            err = rel_error(at(a.date), peak)
        elif a.kind == "ratio_of_means":
            num = s.loc[pd.Timestamp(a.date): pd.Timestamp(a.end)]
            den = s.loc[pd.Timestamp(a.ref_start): pd.Timestamp(a.ref_end)]
            v = float(num.mean() / den.mean())
            err = rel_error(num.sum(), den.sum())
        elif a.kind == "new_users":
            v = total(new, a.date, a.end)
            err = rel_error(v)
        elif a.kind == "installs_ratio":
            num, den = total(new, a.date, a.end), total(new, a.ref_start, a.ref_end)
            v = num / den
            err = rel_error(num, den)
        elif a.kind == "peak_day":
            window = s.loc[pd.Timestamp(a.ref_start): pd.Timestamp(a.end)]
            peak = window.idxmax()
            start = pd.Timestamp(a.ref_start)
            row |= {"published": float((pd.Timestamp(a.date) - start).days),
                    "panel": float((peak - start).days), "sampling_error": 0.0,
                    "inside": peak == pd.Timestamp(a.date), "panel_date": peak}
            rows.append(row)
            continue
        else:
            raise ValueError(f"unknown anchor kind {a.kind!r} (anchor {a.id})")
        row |= {"panel": v, "sampling_error": err,
                "inside": simulate.inside(v, a.low, a.high,
                                          slack=simulate.INSIDE_SLACK + 2 * err)}
        rows.append(row)
    out = pd.DataFrame(rows)
    out["inside"] = out["inside"].astype(bool)
    return out


@dataclass(frozen=True, eq=False)
class Panel:
    """One SIMULATED activity panel seen from one market, with what it is calibrated to.

    Fields
    ------
    path : the activity log (``activity.parquet``; one row per active user-day,
        ``user_id, event_date, market, install_date``)
    metadata : its ``params.json`` (:func:`panel_metadata`)
    truth : the simulation's true parameters (:func:`true_params`)
    scale, seed : the sampling fraction of the user base and the seed
    market : the market the notebooks study (every read is filtered to it)
    metrics : the published figures (:func:`analysis.data.sources.load_published_metrics`)
    anchors : the calibration anchors selected from them
        (:func:`analysis.simulation.users.anchors_from_published`)

    The daily active users are counted on first use and kept (:attr:`dau`); the fields
    themselves cannot be reassigned (``dataclasses.replace`` makes a changed copy).
    """

    path: Path
    metadata: Mapping[str, Any]
    truth: simulate.PanelParams
    scale: float
    seed: int
    market: str
    metrics: pd.DataFrame
    anchors: pd.DataFrame

    def __post_init__(self):
        if self.metadata.get("simulated") is not True:
            raise ValueError(f"{self.path} is not labelled as simulated data "
                             "(params.json must say \"simulated\": true)")
        if not 0 < self.scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")

    @classmethod
    def load(cls, scale: float = DEFAULT_SCALE, seed: int = simulate.DEFAULT_SEED,
             market: str = "US", progress: bool | None = None) -> Panel:
        """The panel of ``(scale, seed)``, built on demand (:func:`ensure_panel`), for
        ``market``. The panel file and the published figures are recorded as read."""
        return cls.open(ensure_panel(scale, seed, progress), market)

    @classmethod
    def open(cls, path: str | Path, market: str = "US") -> Panel:
        """An existing panel: ``path`` is its activity log, with ``params.json`` beside it
        (as :func:`analysis.simulation.users.simulate_panel` writes them). Records the log
        and the published figures as read."""
        path = Path(path)
        meta = panel_metadata(path)
        record_read(path)
        metrics = sources.load_published_metrics()  # records the figures as read
        return cls(path=path, metadata=meta, truth=true_params(meta),
                   scale=float(meta["scale"]), seed=int(meta["seed"]), market=market,
                   metrics=metrics, anchors=simulate.anchors_from_published(metrics))

    # -------------------------------------------------------------------- description

    @property
    def label(self) -> str:
        """The SIMULATED label of ``params.json``."""
        return self.metadata["label"]

    @property
    def start(self) -> pd.Timestamp:
        """First day of the panel's window."""
        return pd.Timestamp(self.metadata["start"])

    @property
    def end(self) -> pd.Timestamp:
        """Last day of the panel's window (the cohorts are observed until then)."""
        return pd.Timestamp(self.metadata["end"])

    def scale_up(self, value):
        """A count in the panel as a count of the full user base: ``value / scale``."""
        return value / self.scale

    # -------------------------------------------------------------------------- reads

    def events(self, columns: Sequence[str] = ("user_id", "event_date", "install_date")
               ) -> pd.DataFrame:
        """Columns of the market's rows of the log (``event_date``, ``install_date`` as
        datetime64[ns]). Raises ``ValueError`` if the market has no event."""
        cols = list(dict.fromkeys([*columns, "market"]))
        flt = pads.field("market") == self.market
        frame = pads.dataset(str(self.path)).to_table(columns=cols, filter=flt).to_pandas()
        frame = frame[frame["market"] == self.market]
        if frame.empty:
            raise ValueError(f"the activity log holds no event in market {self.market!r}")
        for c in ("event_date", "install_date"):
            if c in frame.columns:
                frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
        return frame

    def cohort_events(self, cohort_start, cohort_end) -> pd.DataFrame:
        """Events (``user_id, event_date, market, install_date``) of the market's users who
        installed between ``cohort_start`` and ``cohort_end`` (inclusive).

        Only these users' rows are read from the Parquet panel (a pyarrow filter), so the
        frame stays small. Raises ``ValueError`` if the window holds no install, or if it
        begins before the panel's first day (those cohorts would be left-truncated: users
        who churned before the panel began are missing, so their size is understated).
        """
        c0, c1 = as_date(cohort_start), as_date(cohort_end)
        if c1 < c0:
            raise ValueError(f"cohort_end {c1} is before cohort_start {c0}")
        dataset = pads.dataset(str(self.path))
        first = pc.min(dataset.to_table(columns=["event_date"])["event_date"]).as_py()
        if first is not None and c0 < as_date(first):
            raise ValueError(f"cohort_start {c0} is before the panel's first day {first}: "
                             f"the cohorts would be left-truncated; start on or after {first}")
        flt = ((pads.field("install_date") >= c0) & (pads.field("install_date") <= c1)
               & (pads.field("market") == self.market))
        events = dataset.to_table(filter=flt).to_pandas()
        if events.empty:
            raise ValueError(f"no user of {self.path} installed between {c0} and {c1} "
                             f"in market {self.market!r}")
        events["event_date"] = pd.to_datetime(events["event_date"])
        events["install_date"] = pd.to_datetime(events["install_date"])
        return events

    @cached_property
    def dau(self) -> pd.DataFrame:
        """The market's daily active users in the panel (``date, dau``; not scaled up),
        :func:`analysis.data.cohorts.daily_active_users`. Counted once."""
        dau = cohorts.daily_active_users(self.path, by_market=True)
        return dau[dau["market"] == self.market].drop(columns="market").reset_index(drop=True)

    @cached_property
    def scaled_dau(self) -> pd.Series:
        """:attr:`dau` scaled up to the full user base (``dau / scale``), by date."""
        return self.scale_up(self.dau.set_index("date")["dau"])

    def expected_dau(self, start=None, end=None) -> pd.DataFrame:
        """The simulation's exact expected DAU at full scale
        (:func:`analysis.simulation.users.expected_dau`), from ``start`` (default the
        panel's first day) to ``end`` (default its last day)."""
        return simulate.expected_dau(self.truth, start=self.start if start is None else start,
                                     end=self.end if end is None else end)

    @cached_property
    def installs(self) -> pd.Series:
        """The market's new users per day in the panel's window (users by
        ``install_date``; not scaled up), by date. Counted once."""
        cols = ["user_id", "install_date", "market"]
        flt = ((pads.field("market") == self.market)
               & (pads.field("install_date") >= self.start.date()))
        t = pads.dataset(str(self.path)).to_table(columns=cols, filter=flt)
        per_day = t.group_by("install_date").aggregate([("user_id", "count_distinct")])
        out = pd.Series(per_day["user_id_count_distinct"].to_numpy(),
                        index=pd.DatetimeIndex(per_day["install_date"].to_pandas()),
                        name="new_users").sort_index()
        days = pd.date_range(self.start, self.end, freq="D")
        return out.reindex(days, fill_value=0).astype(float)

    @property
    def scaled_installs(self) -> pd.Series:
        """:attr:`installs` scaled up to the full user base, by date."""
        return self.scale_up(self.installs)

    def anchor_check(self) -> pd.DataFrame:
        """The panel's DAU and new users, scaled up, against the anchors it is calibrated
        to (:func:`dau_anchor_check`, allowing for its sampling error at its scale)."""
        return dau_anchor_check(self.scaled_dau, self.anchors, self.scaled_installs,
                                scale=self.scale)


def main() -> int:
    """``python -m analysis.simulation.panel``: build the default panel (``make data``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis.simulation.panel",
                                     description="Build the SIMULATED activity panel.")
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    parser.add_argument("--seed", type=int, default=simulate.DEFAULT_SEED)
    args = parser.parse_args()
    try:
        path = ensure_panel(args.scale, args.seed)
    except ValueError as err:
        parser.error(str(err))
    print(path.relative_to(config.PROJ_ROOT) if path.is_relative_to(config.PROJ_ROOT)
          else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
