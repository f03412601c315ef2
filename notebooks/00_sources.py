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
#| fig-cap: "RedNote US daily active users as estimated by each provider (log scale), with app-store ranks and ad-placement dates as dashed lines; the star is the peak implied by the reference provider (its 18 February level divided by its share of the peak), placed on its published peak day. Published estimates, not simulated."
timeline = sources.episode_timeline(metrics, entity, market, episode_start, episode_end)
res.table("timeline", timeline)
peak = sources.implied_peak_dau(metrics, entity, market, reference_provider)
peak_day = sources.peak_day(metrics, entity, market, reference_provider)
fig, ax = plt.subplots(figsize=(8, 4.8))
helpers.plot_timeline(timeline, ax=ax, derived=[
    (peak_day, peak["implied_peak"], reference_provider,
     f"{reference_provider} implied peak (level / share of peak)")])
plt.show()

# %%
#| label: tbl-timeline
#| tbl-cap: "Dated published figures of the episode, oldest first."
md_table(timeline[["id", "period_start", "metric", "value", "unit", "qualifier", "provider"]],
         floatfmt=",.0f")

# %% [markdown]
# ## Where the providers disagree

# %%
#| label: tbl-provider-gap
#| tbl-cap: "Each DAU figure of the other provider against the peak implied by the reference provider (its post-peak level divided by its share of the peak)."
res.number("implied_peak_dau", peak["implied_peak"],
           f"{reference_provider} peak implied by level / share of peak", unit="users")
gap = res.table("provider_gap", sources.provider_disagreement(
    metrics, entity, market, reference_provider, other_provider, surge_start))
md_table(gap, floatfmt=",.2f")

# %%
#| label: fig-provider-gap
#| fig-cap: "The other provider's DAU figures as multiples of the reference provider's implied peak (log scale; grey: before the surge)."
fig, ax = plt.subplots(figsize=(8, 4))
helpers.plot_provider_gap(gap, other_provider, reference_provider, ax=ax)
plt.show()

# %%
#| label: txt-provider-gap
extremes = helpers.surge_gap_extremes(gap)
largest, closest = extremes["largest"], extremes["closest"]
res.number("max_gap_ratio", largest["ratio"], "largest other/reference ratio in the surge")
res.number("closest_gap_percent", closest["difference_percent"],
           "difference of the closest surge figure", unit="percent")
md(
    f"{reference_provider} puts US DAU at about {fmt_millions(peak['level'])} on "
    f"{peak['date']:%d %B %Y}, {peak['share_percent']:.0f} % of the peak, which implies a "
    f"peak of about **{fmt_millions(peak['implied_peak'])}**. {other_provider}'s closest "
    f"surge figure ({fmt_millions(closest[f'{other_provider} DAU'])} on "
    f"{closest['date']:%d %B}) differs from it by **{closest['difference_percent']:+.0f} %**, "
    f"while its largest ({fmt_millions(largest[f'{other_provider} DAU'])} on "
    f"{largest['date']:%d %B}) is **{largest['ratio']:.1f}×** the implied peak."
)

# %%
res.save()
