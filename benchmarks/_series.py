"""The benchmark set of the forecasting benchmark (issue 15): real daily series.

Every file is in ``data/raw/reference/`` with its source, licence and checksum in
``data/raw/reference/SOURCE_README.md`` (section "Daily series for the forecasting
benchmark"). Nothing is downloaded.

``SELECTION`` are the series the default forecaster is chosen on, by leave-one-series-out
(``benchmarks/bench_forecast.py``): page views, transit and bike traffic, counts with
weekly and yearly cycles, and one shock (Hurricane Maria in the Puerto Rico deaths).
``CHECKS`` take no part in the selection: Prophet's pedestrians example (the COVID-19
collapse and recovery, the shock series issue 15 names) and Prophet's Peyton Manning
example (the series the former default was tuned on). Prophet's other example files are
not used at all.

Protocol per series: Prophet's rolling-origin cross-validation (``initial``, ``period``,
``horizon``; cutoffs by Prophet's rule, ``analysis.models.forecast.generate_cutoffs``).
Series with at least three years use Prophet's documented protocol (730 / 180 / 365
days; the two 15-year series with a period of 540 days, 9 cutoffs each instead of 25-26,
to keep the whole benchmark within about half an hour on 2 cores); shorter ones Prophet's defaults for a shorter horizon (initial = 3 x horizon,
period = horizon / 2) or, for the three-year series, a one-year initial window.
``quick_period`` is a longer period for ``--quick`` runs (fewer cutoffs).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.config import REFERENCE_DIR


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
)


def by_name() -> dict[str, Series]:
    return {s.name: s for s in SELECTION + CHECKS}
