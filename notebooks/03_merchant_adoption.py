# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python (rednote-analysis)
#     language: python
#     name: rednote-analysis
# ---

# %% [markdown]
# # 03 · Merchant adoption of the cross-border programme
#
# After the January influx of US users, RedNote began inviting merchants in early March to
# its cross-border programme (出海领航计划), first for the US, Hong Kong and Macau. How
# fast do merchants take it up, who innovates and who imitates, when does adoption peak,
# and what would stopping the ads within a month, as RedNote did with its January US
# campaign, do to it?
#
# No adoption figure for the programme has been published. Everything about merchants
# below is therefore **SIMULATED** (`analysis.simulation.merchants`): a merchant-level generative model
# whose free parameters are *fitted* to the published figures it can be held to (RedNote's
# merchant growth in 2024, the share of merchants aiming for results, the share of those who
# try that get them) and whose diffusion coefficients and pool sizes are stated
# assumptions. The fitted curves therefore show what the estimators recover from data like
# these and how uncertain they are; they are not estimates of the real programme. Every
# figure and table of simulated data says so. The growth comparison with TikTok Shop uses
# published multiples only.
#
# **With `merchant_source` set to a table of adoptions** (one row per merchant opt-in:
# Parquet or CSV files, or a DuckDB table; see the README, "Run it on your own data") the
# same diffusion models are fitted to that **observed** data, with an optional effort
# series (`effort_source`, ad spend per period) for the Generalized Bass model. The
# sections that need the simulation -- its calibration and inputs, the recovery of its
# true parameters, the ad scenario with its true counterfactual, and the RedNote-TikTok
# growth comparison, which is about RedNote, not about the analyst's data -- are left
# out, and every output says *observed*.

# %% tags=["parameters"]
# Parameters (papermill overrides these from params/03_merchant_adoption.yaml)
market = "all"
period_unit = "week"
holdout_periods = 4
effort_scenario = "stop_ads"
seed = 20250301
bootstrap_draws = 200
figure_dpi = 150
merchant_source = "simulated"  # or a path / glob / directory of Parquet or CSV, or a DuckDB file
merchant_column = "merchant_id"
time_column = "opt_in_date"
market_column = None
time_format = None
timezone = None
table = None
as_of = None
adoption_label = None  # what the adoption events are, as sentences name them
effort_source = None  # observed effort (ad spend per period) for the Generalized Bass model
effort_time_column = "date"
effort_column = "effort"
effort_time_format = None
effort_table = None

# %%
import matplotlib.pyplot as plt
from IPython.display import display

from analysis.data import sources
from analysis.data.adoptions import read_effort, read_opt_ins
from analysis.notebooks import common
from analysis.notebooks import merchant_adoption as ma
from analysis.notebooks.common import for_results, md, md_table
from analysis.pipeline.results import Results
from analysis.simulation import merchants

common.set_theme(dpi=figure_dpi)
res = Results("03_merchant_adoption")
unit = period_unit
observed = merchant_source != "simulated"
if observed:
    # an OBSERVED table of adoptions: the analyst's own data, checked and reduced to each
    # merchant's first opt-in
    opt_ins = read_opt_ins(merchant_source, merchant_column=merchant_column,
                           time_column=time_column, market_column=market_column,
                           time_format=time_format, timezone=timezone, table=table,
                           as_of=as_of)
    effort = None if effort_source is None else read_effort(
        effort_source, time_column=effort_time_column, effort_column=effort_column,
        time_format=effort_time_format, timezone=timezone, table=effort_table)
    label = adoption_label or "merchant opt-ins"
    series = ma.observed_series(opt_ins, period_unit, as_of, effort)
    markets = ma.observed_markets(opt_ins, market)
    focus = markets[0] if len(markets) == 1 else "all"
    counted = {k: int(ma.market_rows(series, k)["opt_ins"].sum()) for k in markets}
    res.table("source", common.source_table(opt_ins.log),
              "the observed opt-in table: files and SHA-256")
    if effort is not None:
        res.table("effort_source", common.source_table(effort.log),
                  "the observed effort series: files and SHA-256")
    res.table("adoptions", for_results(series),
              f"observed adoptions ({label}) per {unit}, by market")
    res.number("n_rows", opt_ins.n_rows, "rows of the observed opt-in table", unit="rows")
    res.number("n_adoptions", opt_ins.n_adoptions,
               "observed adoptions (first row per merchant and market)", unit="adoptions")
    res.number("n_repeat_rows", opt_ins.n_repeat_rows,
               "rows that are not a merchant's first, not used", unit="rows")
    res.number("n_periods", int(series["period"].max()), f"complete {unit}s of observed data",
               unit=unit)
    res.number("n_left_out", series.attrs["n_left_out"],
               "observed adoptions of the last, incomplete period, left out",
               unit="adoptions")
    print(f"OBSERVED opt-in table: {opt_ins.n_rows:,} rows{opt_ins.log.where}")
else:
    # the SIMULATED programme, calibrated to the published figures
    metrics = sources.load_published_metrics()
    calibration = merchants.calibrate(metrics)
    sim = merchants.simulate_merchants(calibration, seed, effort_scenario)
    series = merchants.adoption_series(sim, period_unit)
    truth = merchants.true_parameters(sim, period_unit)
    markets = ma.markets_for(market)
    focus = market
    res.table("series", series, "SIMULATED opt-ins and first orders per period, by market")
    res.table("truth", for_results(truth),
              "the simulation's assumed (true) diffusion parameters per period")
    print(series[series["market"].isin(markets)].head().to_string())  # plain text, not HTML

# %% [markdown]
# ## The observed adoptions
#
# (Observed data only.)

# %%
#| label: txt-adopt-obs-data
if observed:
    display(md(ma.describe_opt_ins(opt_ins, series, label)))

# %%
#| label: tbl-adopt-obs-series
#| tbl-cap: "Observed adoptions per period (each id's first row in the observed table), by market, with their cumulative count and, when given, the observed effort summed over the period. Observed data, not simulated."
if observed:
    display(md_table(ma.display_observed_series(series, markets), floatfmt=",.0f"))

# %% [markdown]
# ## What the simulation is calibrated to
#
# (Simulated data only: observed data have no calibration.)

# %%
#| label: tbl-adopt-calibration
#| tbl-cap: "Published figures the SIMULATED merchants are calibrated to: the published value as printed and the interval its hedge stands for, the value the calibrated model implies, the value realised in this simulated run, and the parameter fitted to it (model values to 3 significant figures)."
if not observed:
    calib = res.table("calibration", ma.calibration_table(sim),
                      "published targets, calibrated model and simulated run")
    display(md_table(ma.display_calibration(calib)))

# %%
#| label: txt-adopt-calibration
if not observed:
    f = ma.calibration_facts(calibration, calib)
    res.number("monthly_growth_percent", f.monthly_growth_percent,
               "fitted monthly net growth of the simulated merchant base", unit="percent")
    res.number("opt_in_threshold", f.opt_in_threshold, "fitted readiness threshold")
    res.number("success_intercept", f.success_intercept, "fitted success intercept")
    res.number("simulated_growth_multiple", f.run_growth, "simulated 2024 growth multiple")
    res.number("simulated_opt_in_percent", f.run_opt_in_percent,
               "simulated eventual opt-in share", unit="percent")
    res.number("simulated_success_percent", f.run_success_percent,
               "simulated share of opted-in merchants with a first overseas order",
               unit="percent")
    display(md(
        f"The simulated merchant base grows by **{f.monthly_growth_percent:.1f} % a "
        f"month**, the rate at which {f.months} months compound to RedNote's "
        f"published {f.growth.value:g}× merchant growth in 2024 ({f.growth.id}); this "
        f"simulated run ends the year at {f.run_growth:.2f}×. Invited merchants opt in when "
        f"their simulated readiness exceeds a threshold fitted so that {f.opt_in.value:g} % "
        f"do, and an opted-in merchant gets a first overseas order with a probability "
        f"fitted so that {f.success.value:g} % do. Both figures are one interviewee's "
        f"impression, not measurements of the programme: the founder of an apparel brand "
        f"said that about {f.opt_in.value:g} % of the domestic physical-apparel merchants "
        f"she knows hope to achieve something on RedNote ({f.opt_in.id}), used here as the "
        f"share of invited merchants who opt in to the cross-border programme, and that "
        f"under a quarter of those who try achieve considerable results ({f.success.id}), "
        f"used here as the chance of a first overseas order, which is not what she "
        f"described; the simulation sits at that bound, its optimistic edge. In this "
        f"simulated run {f.run_opt_in_percent:.1f} % opt in and "
        f"{f.run_success_percent:.1f} % of them succeed."
    ))

# %%
#| label: tbl-adopt-inputs
#| tbl-cap: "Every input of the SIMULATED merchants: whose figure or assumption it is and what it measures, what the simulation uses it as, the value used and the range its source supports (the published value_low to value_high of the figure; for a date window its first and last day; a point where nothing published bounds the assumption)."
if not observed:
    inputs = res.table("inputs", for_results(merchants.inputs_table(calibration, metrics)),
                       "inputs of the simulation: source, use, value used, range")
    display(md_table(ma.display_inputs(inputs)))

# %%
#| label: tbl-adopt-funnel
#| tbl-cap: "SIMULATED funnel by market over the simulated horizon: invited merchants, eventual opt-ins (the Bass market potential), opt-ins and first overseas orders within the horizon, and the calibrated shares."
if not observed:
    funnel = merchants.funnel_table(sim)
    res.table("funnel", for_results(funnel), "SIMULATED funnel by market")
    display(md_table(ma.display_funnel(funnel), floatfmt=",.1f"))

# %% [markdown]
# ## RedNote's 2024 merchant growth against TikTok Shop's
#
# (Simulated run only: the comparison is about RedNote, not about an analyst's own data.)

# %%
#| label: tbl-adopt-growth
#| tbl-cap: "Published merchant-growth multiples, the length of their periods in months, the constant monthly growth each implies (%/month) and the implied doubling time in months (published figures, not simulated)."
if not observed:
    growth_table = res.table("growth", ma.growth_comparison(metrics),
                             "implied monthly growth of the published merchant multiples")
    display(md_table(ma.display_growth(growth_table), floatfmt=",.1f"))

# %%
#| label: fig-adopt-growth
#| fig-cap: "Merchant counts as multiples of their level at the start of each published period, growing at the constant monthly rate each published multiple implies (lines; TikTok Shop US as its lower and upper bound), with the SIMULATED monthly RedNote merchant base calibrated to the all-merchant multiple (points)."
if not observed:
    ma.plot_growth(growth_table, sim.base)
    plt.show()

# %%
#| label: txt-adopt-growth
if not observed:
    f = ma.growth_facts(growth_table, calibration)
    for figure_id, (rate, series_name) in f.monthly_growth.items():
        res.number(f"monthly_growth_{figure_id}", rate, f"implied monthly growth, {series_name}",
                   unit="percent")
    display(md(
        f"RedNote's {f.multiple:g}× growth in merchant numbers over 2024 implies "
        f"**{f.monthly_growth_percent:.1f} % a month** (doubling every "
        f"{f.doubling_months:.1f} months), {f.position} the range of "
        f"{f.tts_low_percent:.1f}-{f.tts_high_percent:.1f} % a month implied by TikTok Shop "
        f"US's {f.tts_low_multiple:g}-{f.tts_high_multiple:g}× over the "
        f"{f.tts_months:.1f} months from {f.tts_start:%B} to "
        f"{f.tts_end.day} {f.tts_end:%B %Y}. RedNote's large sellers multiplied more slowly: "
        f"the count of {f.large_sellers} a month. Both multiples are read as growth *to* the "
        "stated factor, as the curated figures note. The points in the figure are the "
        "simulated monthly merchant base, calibrated to RedNote's multiple."
    ))

# %%
#| label: tbl-adopt-growth-readings
#| tbl-cap: "The TikTok Shop comparison under each reading of its published figure: growth to 3-5x or by 3-5x (to 4-6x), counted from the first or the last day of April 2024 (the source names the month only) to 6 December 2024; the monthly growth range each reading implies and where RedNote's 2024 rate falls, with its 8.1x read as growth to 8.1x or by 8.1x (published figures, not simulated)."
if not observed:
    readings = ma.growth_readings(metrics)
    res.table("growth_readings", for_results(readings),
              "TikTok Shop and RedNote monthly merchant growth under each reading")
    display(md_table(ma.display_growth_readings(readings)))

# %%
#| label: txt-adopt-growth-readings
if not observed:
    f = ma.readings_facts(readings)
    for name, (value, description) in f.numbers.items():
        res.number(name, value, description, unit="percent")
    display(md(
        f"The comparison above reads TikTok Shop's figure ({f.ids}) as {f.default}. The source allows other readings: \"zengzhang le 3-5 bei\" can mean "
        f"grew to or grew by 3-5 times, and it names April, not a day. Under each reading, "
        f"{f.readings}. {f.verdict}"
    ))

# %% [markdown]
# ## Adoption curves by market

# %%
#| label: fig-adopt-curves
#| fig-cap: "SIMULATED opt-ins per period by market (bars) with the Bass (NLS) fit and, when bootstrapped, its percentile band. Simulated data, not observed."
fits = ma.fit_markets(series, markets, bootstrap_draws, seed)
if not observed:
    ma.plot_market_fits(fits, unit)
    plt.show()

# %%
#| label: fig-adopt-obs-curves
#| fig-cap: "Observed adoptions per period by market (bars) with the Bass (NLS) fit and, when bootstrapped, its percentile band. Observed data."
if observed:
    ma.plot_market_fits(fits, unit, observed=True)
    plt.show()

# %%
#| label: tbl-adopt-pq
#| tbl-cap: "Innovation (p) and imitation (q) per period fitted to the SIMULATED opt-ins of each market by the Bass model and by the Generalized Bass model (ad index as effort), against the simulation's assumed true values; peak is the date of the highest adoption rate, m the number of eventual adopters."
if not observed:
    estimates = ma.estimates_by_market(fits, truth, unit, sim.launch)
    res.table("estimates", for_results(estimates),
              "fitted and true p, q, q/p and peak per market (SIMULATED)")
    display(md_table(ma.format_estimates(estimates)))

# %%
#| label: txt-adopt-pq
if not observed:
    f = ma.pq_facts(estimates, markets)
    for k in markets:
        res.number(f"bass_p_{k}", f.p[k], f"Bass p per {unit}, {k} (SIMULATED)")
        res.number(f"bass_q_{k}", f.q[k], f"Bass q per {unit}, {k} (SIMULATED)")
        res.number(f"bass_q_over_p_{k}", f.q_over_p[k], f"Bass q/p, {k} (SIMULATED)")
    display(md(
        f"Fitted to the simulated {unit}ly opt-ins, the Bass model puts q/p (imitation over "
        f"innovation) at {f.ratios}, against {f.sfl_ratio:.1f} for the mean coefficients of "
        f"Sultan, Farley and Lehmann's meta-analysis of published Bass applications "
        f"(p ≈ {f.sfl_p:g}, q ≈ {f.sfl_q:g} a year): {f.versus_meta}. "
        f"Imitation outweighs innovation (q > p) in {f.n_imitation} of {f.n_markets} "
        f"simulated {f.market_word}. Annualised, the fitted p + q is "
        f"{f.speed} times the meta-analysis mean: the simulated "
        f"programme diffuses in months where durable goods took years. The simulation's "
        f"assumed p and q both lie inside the Bass intervals in {f.n_inside_bass} of "
        f"{f.n_markets} {f.market_word} and inside the Generalized "
        f"Bass intervals in {f.n_inside_gbm}{f.overstated_p}"
    ))

# %%
#| label: txt-adopt-peak
if not observed:
    f = ma.peak_facts(estimates, funnel, markets, focus, unit, sim.launch)
    for k in markets:
        res.number(f"peak_{unit}_{k}", f.bass_peak[k],
                   f"Bass peak, {unit}s since launch, {k} (SIMULATED)", unit=unit)
        res.number(f"true_peak_{unit}_{k}", f.true_peak[k],
                   f"true peak, {unit}s since launch, {k} (SIMULATED)", unit=unit)
    display(md(
        f"{f.opening}{f.peaks}, counting {unit}s from the launch on "
        f"{f.launch.day} {f.launch:%B %Y}. By the end of the simulated horizon "
        f"{f.done_percent:.0f} % of the eventual simulated adopters {f.where} have opted in."
    ))

# %%
#| label: tbl-adopt-obs-pq
#| tbl-cap: "Innovation (p) and imitation (q) per period and market potential (m) fitted to the observed adoptions of each market by the Bass model and, when an effort series is given, by the Generalized Bass model (with its effort coefficient beta); peak is the date of the highest fitted adoption rate. Observed data."
if observed:
    estimates = ma.estimates_by_market(fits, None, unit, series.attrs["start"])
    res.table("estimates", for_results(estimates),
              "fitted p, q, q/p, m and peak per market (observed)")
    for k in markets:
        r = estimates[(estimates["market"] == k) & (estimates["estimator"] == "Bass (NLS)")].iloc[0]
        for name in ("p", "q", "m"):
            for suffix, what in (("", "estimate"), ("_lower", "lower bound"),
                                 ("_upper", "upper bound")):
                res.number(f"bass_{name}{suffix}_{k}", r[f"{name}{suffix}"],
                           f"Bass {name} ({what}), {k} (observed)")
    display(md_table(ma.format_estimates(estimates)))

# %%
#| label: txt-adopt-obs-pq
if observed:
    display(md(ma.observed_pq_sentence(estimates, markets, unit, label, counted,
                                       ma.gbm_notes(fits))))

# %%
#| label: txt-adopt-obs-peak
if observed:
    display(md(ma.observed_peak_sentence(estimates, markets, unit, series, counted)))

# %% [markdown]
# ## What stopping the ads does
#
# (Simulated data only: the effect of another ad path needs the simulation's
# counterfactual.)

# %%
#| label: fig-adopt-scenario
#| fig-cap: "SIMULATED ad scenario. Top: the ad-placement index under the two paths (the shape of RedNote's January US campaign, transposed to the programme's launch). Bottom: cumulative simulated opt-ins in the simulated world, the same merchants under the other ad path (simulated counterfactual), and the Generalized Bass model fitted to the simulated world and projected under each path."
if not observed:
    scenario = ma.ad_scenario(sim, fits, unit)
    res.table("scenario_paths", for_results(scenario.paths), "SIMULATED ad scenario paths")
    ma.plot_scenario(scenario, focus, unit)
    plt.show()

# %%
#| label: tbl-adopt-scenario
#| tbl-cap: "SIMULATED effect on cumulative opt-ins, by market, of switching from the simulated world's ad path to the other one, about a quarter after launch and at the end of the simulated horizon: as simulated (the same merchants under the other path) and as estimated by the Generalized Bass model (GBM) with its bootstrap interval; beta is the ad effect fitted by the GBM, against the simulation's assumed value."
if not observed:
    res.table("scenario", for_results(scenario.summary), "SIMULATED ad-scenario effects")
    display(md_table(ma.format_scenario(scenario.summary, unit), index=True))

# %%
#| label: txt-adopt-scenario
if not observed:
    f = ma.scenario_facts(scenario, focus)
    for name, (value, description) in f.numbers.items():
        res.number(name, value, description, unit="opt-ins")
    display(md(
        f"In the simulated world {f.world}. {f.counterfactual}, the same simulated merchants "
        f"{f.where} would have counted **{f.true_effect}** ({f.share:+.0f} %) by the end of "
        f"{unit} {f.period} ({f.checkpoint_day}), but only {f.horizon_effect} by the end of "
        "the simulated horizon: the ads move adoption earlier far more than they add "
        "adopters, because who will ever opt in is fixed by readiness, not by ads. "
        f"{f.estimate}{f.interval} for the same date{f.verdict}{f.campaign}so the data pin "
        f"down the ad effect (beta) only loosely{f.reading}"
    ))

# %% [markdown]
# ## Which model forecasts best

# %%
#| label: tbl-adopt-compare
#| tbl-cap: "Forecast error on the SIMULATED opt-ins: root mean squared error per period over the held-out periods, pooled over rolling forecast origins, by model (rows) and market (columns); lowest in bold. Failures count the origins where a model could not be fitted."
comparison = ma.compare_by_market(series, ma.comparison_markets(markets), holdout_periods)
compare_summary = ma.compare_summary(comparison)
DATA = "observed" if observed else "SIMULATED"
res.table("compare", for_results(compare_summary),
          f"pooled holdout RMSE by market and model ({DATA})")
res.table("compare_by_origin", for_results(comparison), f"holdout errors by origin ({DATA})")
if not observed:
    display(md_table(ma.compare_pivot(compare_summary), index=True))

# %%
#| label: txt-adopt-compare
f = ma.compare_facts(comparison, compare_summary, unit)
for market_name, rmse in f.best_rmse.items():
    res.number(f"best_rmse_{market_name}", rmse,
               f"lowest pooled holdout RMSE, {market_name} ({DATA})")
if not observed:
    display(md(
        f"Forecasting the next {holdout_periods} {unit}s of simulated opt-ins {f.origins}"
        f"the lowest {f.pooled}error comes from {f.winners}.{f.coincide} The Generalized "
        f"Bass model is given the ad index over the held-out periods too: a conditional "
        f"forecast.{f.failures}"
    ))

# %%
#| label: tbl-adopt-obs-compare
#| tbl-cap: "Forecast error on the observed adoptions: root mean squared error per period over the held-out periods, pooled over rolling forecast origins, by model (rows) and market (columns); lowest in bold. Failures count the origins where a model could not be fitted. Observed data."
if observed:
    display(md_table(ma.compare_pivot(compare_summary), index=True))

# %%
#| label: txt-adopt-obs-compare
if observed:
    display(md(ma.observed_compare_sentence(f, compare_summary, markets, unit,
                                            holdout_periods, label, effort)))

# %%
res.save()
