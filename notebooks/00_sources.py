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
# # 00 · The published figures
#
# Every quantitative claim in the five seed articles and in the press table is a row of
# `data/raw/published_metrics.csv` (validated against its schema on load). This notebook
# counts the figures by provider and article, lays out the timeline of the RedNote US
# episode, and measures how far the measurement providers disagree.
#
# All numbers below are **published third-party estimates** (observed by their providers,
# not by us); nothing in this notebook is simulated.

# %% tags=["parameters"]
# Parameters (papermill overrides these from params/00_sources.yaml)
entity = "RedNote"
market = "US"
episode_start = "2025-01-01"
episode_end = "2025-03-31"
surge_start = "2025-01-13"
reference_provider = "Sensor Tower"
other_provider = "Similarweb"
figure_dpi = 150

# %%
import matplotlib.pyplot as plt

from analysis.data import sources
from analysis.notebooks import common
from analysis.notebooks import sources as helpers
from analysis.notebooks.common import fmt_int, fmt_millions, md, md_table
from analysis.pipeline.results import Results

common.set_theme(dpi=figure_dpi)
res = Results("00_sources")
metrics = sources.load_published_metrics()
res.number("n_figures", len(metrics), "published figures curated", unit="count")
res.number("n_articles", metrics["source"].nunique(), "source documents", unit="count")
res.number("n_providers", metrics["provider"].nunique(), "distinct providers", unit="count")
print(metrics.head().to_string())  # plain text: an HTML output makes Quarto add CDN scripts

# %% [markdown]
# ## Figures by source

# %%
#| label: tbl-by-provider
#| tbl-cap: "Published figures by provider (rows) and source document (columns)."
by_provider = res.table("by_provider", sources.figures_by_provider(metrics))
md_table(by_provider, index=True, floatfmt=",.0f")

# %%
#| label: fig-by-provider
#| fig-cap: "Number of curated published figures per provider, stacked by source document."
fig, ax = plt.subplots(figsize=(8, 4.5))
helpers.plot_figures_by_provider(by_provider, ax=ax)
plt.show()

# %%
#| label: txt-sources
third = helpers.third_party_figures(metrics)
md(
    f"We curated **{fmt_int(res.numbers['n_figures']['value'])}** quantitative claims from "
    f"**{res.numbers['n_articles']['value']}** source documents; "
    f"**{fmt_int(third['count'])}** of them are attributed to a named third party "
    f"({', '.join(third['providers'])})."
)

# %% [markdown]
# ## Timeline of the episode

# %%
#| label: fig-timeline
#| fig-cap: "RedNote US daily active users as estimated by each provider (log scale), with the dated events drawn as their dates were arrived at: a day the source states (an app-store rank, the peak of the ad placements) is a dashed line; a period, stated or made concrete by the curation convention (a vague one such as late January), is a light shaded span over its days, not a line on its first day; an undated status, which carries its article's date by convention, is a dot on that date with an arrow pointing back (by that date: it happened on or before); a figure whose date the source gives as about has a horizontal bar over an assumed window around it (its width in the legend: an assumption, not a published figure). The bar with a star is the peak implied by the reference provider (its 18 February level divided by its share of the peak, both hedged: the bar spans what their rounding allows), placed on its published peak day. Published estimates, not simulated."
timeline = sources.episode_timeline(metrics, entity, market, episode_start, episode_end)
res.table("timeline", timeline)
peak = sources.implied_peak_dau(metrics, entity, market, reference_provider)
peak_day = sources.peak_day(metrics, entity, market, reference_provider)
fig, ax = plt.subplots(figsize=(8, 4.8))
helpers.plot_timeline(timeline, ax=ax, derived=[
    (peak_day, peak["implied_peak_low"], peak["implied_peak_high"], reference_provider,
     f"{reference_provider} implied peak (level / share of peak)")])
plt.show()

# %%
#| label: tbl-timeline
#| tbl-cap: "Dated published figures of the episode, oldest first. The date is as the source gives it: a day, a period (a vague one, such as late January, made concrete by the curation convention), by a date (an undated status given its article's date: it held by then) or about a date."
md_table(timeline[["id", "date_text", "date_basis", "metric", "value", "unit", "qualifier",
                   "provider"]]
         .assign(date_basis=timeline["date_basis"].str.replace("_", " "))
         .rename(columns={"date_text": "date"}),
         floatfmt=",.0f")

# %%
#| label: txt-timeline-dates
d = helpers.timeline_date_findings(timeline)
for basis, n in d["counts"].items():
    res.number(f"timeline_rows_{basis}", n, f"timeline rows with date basis {basis}",
               unit="count")

md(helpers.timeline_dates_sentence(d, len(timeline)))

# %% [markdown]
# ## Where the providers disagree

# %%
#| label: tbl-provider-gap
#| tbl-cap: "Each DAU figure of the other provider against what the reference provider says of the same day, both as the range their hedges allow (about: ± half the rounding step; under: an upper bound), two significant figures. On its peak day the reference's level is its implied peak (post-peak level / share of the peak); on other surge days it is only known to be at most that peak, which bounds the ratio from below. Figures before the surge are organic levels, not compared."
for name, key, what in (("implied_peak_dau", "implied_peak", "central value"),
                        ("implied_peak_dau_low", "implied_peak_low", "lower end"),
                        ("implied_peak_dau_high", "implied_peak_high", "upper end")):
    res.number(name, peak[key], f"{reference_provider} peak implied by level / share of "
               f"peak, {what} of the range the hedges allow", unit="users")
gap = sources.provider_disagreement(metrics, entity, market, reference_provider,
                                   other_provider, surge_start)
res.table("provider_gap", common.for_results(gap))
md_table(helpers.display_provider_gap(gap, other_provider, reference_provider))

# %%
#| label: fig-provider-gap
#| fig-cap: "The other provider's surge DAU figures over the reference provider's DAU on the same day (log scale): a bar where both are known as intervals (the reference's peak day), an arrow from the lower bound where the reference is only known to be at most its peak."
fig, ax = plt.subplots(figsize=(8, 4))
helpers.plot_provider_gap(gap, other_provider, reference_provider, ax=ax)
plt.show()

# %%
#| label: txt-provider-gap
g = helpers.gap_findings(gap, peak)
same, bounded = g["same_day"], g["bounded"]
for r in same.itertuples():
    res.number(f"same_day_ratio_low_{r.id}", r.ratio_low, f"{other_provider}/{reference_provider} "
               f"on {r.date.date()}, lower end")
    res.number(f"same_day_ratio_high_{r.id}", r.ratio_high, f"{other_provider}/"
               f"{reference_provider} on {r.date.date()}, upper end")
for r in bounded.itertuples():
    res.number(f"ratio_at_least_{r.id}", r.ratio_low, f"{other_provider}/{reference_provider} "
               f"on {r.date.date()}, lower bound")
bounds = [f"{common.sig(r.ratio_low)}× {reference_provider}'s on {r.date:%-d %B} "
          f"({common.millions(r[f'{other_provider} DAU'], 3)}, {r.id})"
          for _, r in bounded.iterrows()]
md(
    f"{reference_provider} puts US DAU at about {fmt_millions(peak['level'])} on "
    f"{peak['date']:%-d %B %Y}, the same day's level being about {peak['share_percent']:.0f} % "
    f"of its peak on {peak_day:%-d %B}. Under the rounding those hedges allow "
    f"({common.interval_millions(peak['level_low'], peak['level_high'])}, "
    f"{peak['share_low']:g}–{peak['share_high']:g} %) the peak lies in "
    f"**{common.interval_millions(peak['implied_peak_low'], peak['implied_peak_high'])}**: a "
    f"quotient computed here, not a published figure. "
    + " ".join(
        f"On the same day, {peak_day:%-d %B}, {other_provider}'s "
        f"{common.millions(r[f'{other_provider} DAU'], 3)} ({r.id}) is "
        f"**{common.interval_text(r.ratio_low, r.ratio_high, common.sig, '×')}** that"
        + (": on the one day both can be compared, the providers disagree by that factor."
           if r.ratio_low > 1 or r.ratio_high < 1 else
           ", a range that includes agreement.")
        for _, r in same.iterrows())
    + (f" On the other surge days {reference_provider} publishes no level, only that DAU was "
       f"at most its peak, so {other_provider}'s figures are at least "
       + (", ".join(bounds[:-1]) + " and " + bounds[-1] if len(bounds) > 1 else bounds[0])
       + f" (lower bounds only: {reference_provider}'s level on those days is not published)."
       if bounds else "")
)

# %%
res.save()
