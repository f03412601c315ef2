"""The benchmark set of the forecasting benchmark (issue 15): real daily series.

Every file is in ``data/raw/reference/`` with its source, licence and checksum in
``data/raw/reference/SOURCE_README.md`` (section "Daily series for the forecasting
benchmark"). Nothing is downloaded.

``SELECTION`` are the series the default forecaster is chosen on, by leave-one-series-out
(``benchmarks/bench_forecast.py``): page views, transit and bike traffic, counts with
weekly and yearly cycles, and one shock (Hurricane Maria in the Puerto Rico deaths).
``CHECKS`` take no part in the selection: Prophet's pedestrians example (the COVID-19
collapse and recovery, the shock series issue 15 names), Prophet's Peyton Manning
example (the series the former default was tuned on) and the SIMULATED RedNote US DAU of
notebook 02 (the other shock series issue 15 names; :class:`SimulatedPanelSeries`: not a
file, the simulated panel of ``analysis.simulation.panel``, built or read from the cache
under build/data). Prophet's other example files are not used at all.

Protocol per series: Prophet's rolling-origin cross-validation (``initial``, ``period``,
``horizon``; cutoffs by Prophet's rule, ``analysis.models.forecast.generate_cutoffs``).
Series with at least three years use Prophet's documented protocol (730 / 180 / 365
days; the two 15-year series with a period of 540 days, 9 cutoffs each instead of 25-26,
to keep the whole benchmark within about half an hour on 2 cores); shorter ones Prophet's defaults for a shorter horizon (initial = 3 x horizon,
period = horizon / 2) or, for the three-year series, a one-year initial window.
``quick_period`` is a longer period for ``--quick`` runs (fewer cutoffs). The simulated
RedNote series uses notebook 02's backtest protocol (``BACKTEST`` of
``analysis.notebooks.dau_forecast``: 60 / 7 / 28 days) on the same days (the whole
simulated panel), so its figures can be set beside the notebook's backtest table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.config import PARAMS_DIR, REFERENCE_DIR

#: The parameter file whose panel (scale, seed, market) the simulated check series uses.
DAU_FORECAST_PARAMS = PARAMS_DIR / "02_dau_forecast.yaml"


@dataclass(frozen=True)
class Series:
    name: str
    file: str
    what: str
    initial: int  # days
    period: int
    horizon: int
    quick_period: int
    #: days with y <= 0 are dropped (treated as missing days) for every model: MAPE is
    #: undefined on them and the package's log-scale models cannot fit them.
    drop_nonpositive: bool = False

    @property
    def protocol(self) -> dict[str, str]:
        return {
            "initial": f"{self.initial} days",
            "period": f"{self.period} days",
            "horizon": f"{self.horizon} days",
        }

    def load(self) -> pd.DataFrame:
        df = pd.read_csv(REFERENCE_DIR / self.file)
        df["ds"] = pd.to_datetime(df["ds"])
        df["y"] = df["y"].astype(float)
        if self.drop_nonpositive:
            df = df[df["y"] > 0].reset_index(drop=True)
        return df


@dataclass(frozen=True)
class SimulatedPanelSeries(Series):
    """The SIMULATED RedNote DAU of notebook 02 (``02_dau_forecast``), as that notebook
    backtests it: ``Panel.load(scale, seed, market).scaled_dau`` (the panel's DAU scaled
    up to the full user base, every day of the panel) with the scale, seed and market of
    ``params/02_dau_forecast.yaml`` (``market`` here must match the file's). ``file`` is
    unused. The panel is built on first use, or read from the cache under build/data.
    """

    market: str = "US"
    #: include the package's naive and seasonal-naive forecasters (notebook 02's other
    #: statistical forecasters) in the benchmark table of this series
    notebook_baselines: bool = True

    def panel_params(self):
        """The validated parameters of ``params/02_dau_forecast.yaml``."""
        from analysis.pipeline.params import load_params

        prm = load_params(DAU_FORECAST_PARAMS, "02_dau_forecast")
        if prm.market != self.market:
            raise ValueError(
                f"{DAU_FORECAST_PARAMS} sets market {prm.market!r}, but the check series "
                f"{self.name!r} is the {self.market} DAU: change the series or the file")
        return prm

    def load(self) -> pd.DataFrame:
        from analysis.notebooks.dau_forecast import BACKTEST
        from analysis.simulation.panel import Panel

        if self.protocol != BACKTEST:
            raise ValueError(f"{self.name!r}: protocol {self.protocol} is not notebook 02's "
                             f"backtest protocol {BACKTEST}; keep them equal")
        prm = self.panel_params()
        dau = Panel.load(prm.scale, prm.seed, self.market).scaled_dau
        df = pd.DataFrame({"ds": pd.to_datetime(dau.index), "y": dau.to_numpy(float)})
        if df["y"].isna().any() or (df["y"] <= 0).any():
            raise ValueError(f"{self.name!r}: the simulated DAU has missing or non-positive days")
        return df.reset_index(drop=True)


SELECTION: tuple[Series, ...] = (
    Series("wiki Gordon Ramsay (en)", "wikipedia_gordon_ramsay_en_pageviews_daily.csv",
           "page views, 18 months", 270, 45, 90, 90),
    Series("wiki Strasbourg (fr)", "wikipedia_strasbourg_fr_pageviews_daily.csv",
           "page views, 18 months", 270, 45, 90, 90),
    Series("Hyndsight blog", "hyndsight_blog_pageviews_daily.csv",
           "blog page views, one year", 180, 30, 60, 60),
    Series("Capital Bikeshare", "capital_bikeshare_rentals_daily.csv",
           "bike rentals, growth + yearly cycle (4 zero days dropped)", 730, 180, 365, 360,
           drop_nonpositive=True),
    Series("Chicago CTA Clark/Lake", "chicago_cta_clark_lake_entries_daily.csv",
           "station entries, strong weekly cycle", 730, 540, 365, 720),
    Series("US births (SSA)", "us_births_ssa_daily.csv",
           "births, weekly + yearly cycle", 730, 540, 365, 720),
    Series("UCI electricity", "uci_electricity_load_daily.csv",
           "electricity load, yearly cycle, 3 years", 365, 90, 365, 180),
    Series("Puerto Rico deaths", "puerto_rico_deaths_daily.csv",
           "deaths, shock: Hurricane Maria 2017-09-20", 365, 90, 365, 180),
)

CHECKS: tuple[Series, ...] = (
    Series("pedestrians (COVID shock)", "prophet_example_pedestrians_covid.csv",
           "Prophet example, shock (not in selection)", 730, 180, 365, 180),
    Series("Peyton Manning (log views)", "prophet_example_wp_log_peyton_manning.csv",
           "Prophet example, old tuning series (not in selection)", 730, 180, 365, 360),
    SimulatedPanelSeries(
        "RedNote US DAU (SIMULATED panel)", "",
        "SIMULATED panel of notebook 02 (params/02_dau_forecast.yaml), shock: the January "
        "2025 influx; notebook 02's backtest protocol (not in selection)", 60, 7, 28, 14),
)


def by_name() -> dict[str, Series]:
    return {s.name: s for s in SELECTION + CHECKS}
