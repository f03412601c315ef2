"""Peers of the forecasting benchmark: Prophet and statsforecast, on given cutoffs.

Every runner takes the whole series (ds, y), the cutoffs and the horizon in days and
returns a cross-validation frame like ``analysis.models.forecast.cross_validation``
(ds, y, yhat, yhat_lower, yhat_upper, cutoff; 80 % intervals), so that every model is
scored on the same rows. Import errors of the optional packages surface as ``None``
runners with a note (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence

import pandas as pd

Runner = Callable[[pd.DataFrame, Sequence[pd.Timestamp], int], pd.DataFrame]

#: statsforecast's AutoARIMA is fitted to the last this many days of each training
#: window: on the whole history (up to 15 years here) one stepwise search took 20 s and
#: more per cutoff on this machine, too slow for one benchmark run over the set.
AUTOARIMA_WINDOW = 730


def _split(df: pd.DataFrame, cutoff: pd.Timestamp, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    end = cutoff + pd.Timedelta(days=horizon)
    return df[df["ds"] <= cutoff], df[(df["ds"] > cutoff) & (df["ds"] <= end)]


def _frame(target: pd.DataFrame, yhat, lo, hi, cutoff: pd.Timestamp) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ds": target["ds"].to_numpy(),
            "y": target["y"].to_numpy(),
            "yhat": yhat,
            "yhat_lower": lo,
            "yhat_upper": hi,
            "cutoff": cutoff,
        }
    )


def prophet_runner() -> tuple[Runner | None, str]:
    """Prophet with its default settings (80 % intervals are its default)."""
    try:
        import prophet
        from prophet import Prophet
    except ImportError as exc:
        return None, f"prophet not importable ({exc})"
    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.ERROR)

    def run(df: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], horizon: int) -> pd.DataFrame:
        logging.getLogger("cmdstanpy").disabled = True
        frames = []
        for c in cutoffs:
            train, target = _split(df, c, horizon)
            m = Prophet().fit(train)
            p = m.predict(target[["ds"]])
            frames.append(
                _frame(target, p["yhat"].to_numpy(), p["yhat_lower"].to_numpy(),
                       p["yhat_upper"].to_numpy(), c)
            )
        return pd.concat(frames, ignore_index=True)

    return run, f"prophet {prophet.__version__} (default settings)"


def statsforecast_runners() -> tuple[dict[str, Runner], str]:
    """AutoARIMA, AutoETS, MSTL and SeasonalNaive of statsforecast, default settings.

    Season 7 everywhere; MSTL also takes the yearly season when the training window holds
    two years (365: statsforecast 2.0.1 rejects 365.25, "period must be a positive
    integer >= 2"), and SeasonalNaive is also run with season 365 (when the window holds
    one year; otherwise that runner raises ``ValueError`` and the benchmark reports n/a).
    statsforecast needs a regular series: the few missing days of a training window are
    filled by linear interpolation.
    """
    try:
        import statsforecast
        from statsforecast import StatsForecast
        from statsforecast.models import MSTL, AutoARIMA, AutoETS, SeasonalNaive
    except ImportError as exc:
        return {}, f"statsforecast not importable ({exc})"

    def make(name: str, factory: Callable[[int], object | None], window: int | None = None) -> Runner:
        def run(df: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], horizon: int) -> pd.DataFrame:
            frames = []
            for c in cutoffs:
                train, target = _split(df, c, horizon)
                s = train.set_index("ds")["y"].asfreq("D").interpolate()
                if window is not None:
                    s = s.iloc[-window:]
                model = factory(len(train.set_index("ds")["y"].asfreq("D")))
                if model is None:
                    raise ValueError(f"{name}: training window too short")
                sf = StatsForecast(models=[model], freq="D")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fc = sf.forecast(
                        df=pd.DataFrame({"unique_id": "s", "ds": s.index, "y": s.to_numpy()}),
                        h=horizon,
                        level=[80],
                    )
                fc = fc.set_index("ds").reindex(pd.DatetimeIndex(target["ds"]))
                col = [k for k in fc.columns if k not in ("unique_id",) and "-lo-" not in k
                       and "-hi-" not in k][0]
                frames.append(
                    _frame(target, fc[col].to_numpy(), fc[f"{col}-lo-80"].to_numpy(),
                           fc[f"{col}-hi-80"].to_numpy(), c)
                )
            return pd.concat(frames, ignore_index=True)

        return run

    runners = {
        f"sf AutoARIMA(7), last {AUTOARIMA_WINDOW} d": make(
            "AutoARIMA", lambda n: AutoARIMA(season_length=7), AUTOARIMA_WINDOW
        ),
        "sf AutoETS(7)": make("AutoETS", lambda n: AutoETS(season_length=7)),
        "sf MSTL(7, 365)": make(
            "MSTL", lambda n: MSTL(season_length=[7, 365] if n >= 730 else [7])
        ),
        "sf SeasonalNaive(7)": make("SeasonalNaive", lambda n: SeasonalNaive(season_length=7)),
        "sf SeasonalNaive(365)": make(
            "SeasonalNaive365", lambda n: SeasonalNaive(season_length=365) if n >= 365 else None
        ),
    }
    return runners, f"statsforecast {statsforecast.__version__}"
