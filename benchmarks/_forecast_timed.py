"""One timed run in a fresh process, as a user runs it (started by bench_forecast.py).

    python benchmarks/_forecast_timed.py ours [RULE] | prophet | sf "RUNNER NAME" | imports

Imports the library, loads the Peyton Manning series, then runs "fit on the whole
series + cross-validation" with Prophet's protocol (initial 730, period 180, horizon 365
days: 11 cutoffs) twice. Prints one JSON line: ``import_s`` (the imports of the model's
library), ``first_s`` (the first run, after the imports; includes one-off costs such as
numba compilation) and ``warm_s`` (the second run). The parent measures the whole
process from outside, interpreter start and imports included. The environment is the
caller's: nothing here sets thread counts. ``imports`` does only what every
statsmodels-based run does before its first fit (the imports and the CSV read), for the
floor of the whole-process time.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    which = argv[0]
    t_imp = time.perf_counter()
    import logging
    import warnings

    import pandas as pd

    from analysis.config import REFERENCE_DIR

    df = pd.read_csv(REFERENCE_DIR / "prophet_example_wp_log_peyton_manning.csv")
    df["ds"] = pd.to_datetime(df["ds"])
    protocol = {"initial": "730 days", "period": "180 days", "horizon": "365 days"}

    if which == "ours":
        from analysis.models import forecast as F

        rule = argv[1] if len(argv) > 1 else None

        def make():  # noqa: ANN202
            return F.default_forecaster() if rule is None else F.make_candidate(rule)

        def run() -> None:
            make().fit(df)
            F.cross_validation(df, model=make(), **protocol)

    elif which == "imports":
        # what every statsmodels-based run imports before its first fit, and no work
        import statsmodels.tsa.deterministic  # noqa: F401
        import statsmodels.tsa.statespace.sarimax  # noqa: F401
        import threadpoolctl  # noqa: F401

        from analysis.models import forecast as F  # noqa: F401

        def run() -> None:
            pass

    elif which == "prophet":
        from prophet import Prophet
        from prophet.diagnostics import cross_validation

        for name in ("prophet", "cmdstanpy"):
            logging.getLogger(name).setLevel(logging.ERROR)

        def run() -> None:
            m = Prophet().fit(df)
            cross_validation(m, disable_tqdm=True, **protocol)

    elif which == "sf":
        from _forecast_peers import statsforecast_runners

        from analysis.models import forecast as F

        runners, _ = statsforecast_runners()
        runner = runners[argv[1]]
        cutoffs = F.generate_cutoffs(
            df["ds"], pd.Timedelta("365 days"), pd.Timedelta("730 days"), pd.Timedelta("180 days")
        )
        last = df["ds"].max()

        def run() -> None:
            # the fit on the whole series (a forecast from the last day) ...
            tail = pd.concat([df, pd.DataFrame({"ds": pd.date_range(
                last + pd.Timedelta(days=1), periods=365), "y": 0.0})], ignore_index=True)
            runner(tail, [last], 365)
            runner(df, cutoffs, 365)  # ... and the cross-validation

    else:
        raise SystemExit(f"unknown model {which!r}; use ours, prophet, sf or imports")
    t0 = time.perf_counter()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()
        t1 = time.perf_counter()
        run()
        t2 = time.perf_counter()
    print(json.dumps({"import_s": t0 - t_imp, "first_s": t1 - t0, "warm_s": t2 - t1}))


if __name__ == "__main__":
    main(sys.argv[1:])
