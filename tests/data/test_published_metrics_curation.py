"""Curation checks for data/raw/published_metrics.csv against its sources.

Every row must quote its source verbatim, and the anchor figures that the analysis
selects (by entity, market, metric, provider and date) must carry the values the
sources state. Each anchor test names the source file and the sentence it checks:

- 000_77cca1003b724cc9.txt: Sensor Tower ("小红书美区DAU峰值出现在1月19日 ... 到2月18日,
  该数据仅为巅峰期的30%左右,约90万,还不足小红书日活大盘的1%") and AppGrowing
  ("高峰期是1月22日 ... 到2月20日几乎停滞");
- 001_ebe3b3d101b275a8.txt: TikTok US merchants up 3-5x, April to 6 Dec 2024;
- 002_0a1eda73bb922fc9.txt: about 20 % of merchants hope for results, fewer than a
  quarter of those who try get them;
- 003_0977856ed92467c2.txt: cross-border pilot programme, early March 2025, US/HK/MO;
- 004_4b790274aefb993d.txt: RedNote merchants x8.1 in 2024 (x3.3, x4.6 by sales tier);
- press_figures.md: Similarweb via Reuters (16 Jan 2025), Sensor Tower via TechCrunch,
  Similarweb blog.

The project's validating loader lives in ``analysis.data.sources``; these tests read the raw
file directly (all cells as text) so that they check the curation, not the loader.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis import config

HEADER = [
    "id", "entity", "market", "metric", "period_start", "period_end", "value", "unit",
    "qualifier", "provider", "source", "source_quote", "note_en",
]
UNITS = {
    "users", "downloads", "views", "count", "orders", "items", "links", "merchants",
    "percent", "multiple", "rank", "usd", "cny", "square_feet", "square_metres",
    "hours", "days", "years", "people", "events", "sessions",
}
QUALIFIERS = {
    "exact", "approximate", "at_least", "at_most", "ratio", "rank", "estimate", "forecast",
}
PROVIDERS = {
    "Sensor Tower", "Similarweb", "QuestMobile", "AppGrowing", "Qimai", "Aurora Mobile",
    "Xinhong Data", "GF Securities", "Financial Times", "36Kr", "China Entrepreneur",
    "Tech Planet", "Securities Star", "company", "none",
}
# CJK ideographs, CJK punctuation, full-width forms, kana and hangul.
CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                 r"\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

S000 = "000_77cca1003b724cc9.txt"
S001 = "001_ebe3b3d101b275a8.txt"
S002 = "002_0a1eda73bb922fc9.txt"
S003 = "003_0977856ed92467c2.txt"
S004 = "004_4b790274aefb993d.txt"
PRESS = "press_figures.md"


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str, keep_default_na=False)


def _one(df: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for key, value in where.items():
        mask &= df[key] == value
    hits = df[mask]
    assert len(hits) == 1, f"expected one row with {where}, found {len(hits)}"
    return hits.iloc[0]


def _assert_figure(row: pd.Series, value: float, unit: str, qualifier: str) -> None:
    assert float(row["value"]) == pytest.approx(value), row["id"]
    assert row["unit"] == unit, row["id"]
    assert row["qualifier"] == qualifier, row["id"]


# --- Structure ---------------------------------------------------------------------------

def test_header_is_the_data_dictionary_header(metrics):
    assert list(metrics.columns) == HEADER


def test_at_least_50_rows(metrics):
    assert len(metrics) >= 50


def test_ids_unique_and_in_order(metrics):
    expected = [f"PM{i:03d}" for i in range(1, len(metrics) + 1)]
    assert metrics["id"].tolist() == expected


def test_units_qualifiers_and_providers_in_allowed_sets(metrics):
    assert set(metrics["unit"]) <= UNITS, set(metrics["unit"]) - UNITS
    assert set(metrics["qualifier"]) <= QUALIFIERS, set(metrics["qualifier"]) - QUALIFIERS
    assert set(metrics["provider"]) <= PROVIDERS, set(metrics["provider"]) - PROVIDERS


def test_values_are_plain_numbers_and_dates_iso(metrics):
    bad_values = metrics.loc[~metrics["value"].str.match(NUMBER), ["id", "value"]]
    assert bad_values.empty, bad_values.to_dict("records")
    for column in ("period_start", "period_end"):
        assert metrics[column].str.match(ISO_DATE).all(), column
        pd.to_datetime(metrics[column], format="%Y-%m-%d")  # raises on an impossible date
    assert (metrics["period_end"] >= metrics["period_start"]).all()


def test_no_empty_cells(metrics):
    empty = [(r["id"], c) for _, r in metrics.iterrows() for c in HEADER if not r[c].strip()]
    assert not empty, empty


def test_no_cjk_outside_source_quote(metrics):
    offending = [
        (row["id"], column)
        for _, row in metrics.iterrows()
        for column in HEADER
        if column != "source_quote" and CJK.search(row[column])
    ]
    assert not offending, offending


def test_every_source_quote_is_verbatim_in_its_seed_file(metrics):
    seeds = {p.name: p.read_text(encoding="utf-8") for p in config.SEEDS_DIR.iterdir()
             if p.is_file()}
    assert set(metrics["source"]) <= set(seeds), set(metrics["source"]) - set(seeds)
    missing = [row["id"] for _, row in metrics.iterrows()
               if row["source_quote"].strip() not in seeds[row["source"]]]
    assert not missing, f"source_quote not found verbatim in its source: {missing}"


def test_every_source_file_is_curated(metrics):
    seeds = {p.name for p in config.SEEDS_DIR.iterdir() if p.is_file()}
    assert set(metrics["source"]) == seeds


# --- Anchors: 000_77cca1003b724cc9.txt (Sensor Tower, AppGrowing) -----------------------

def test_sensor_tower_rednote_us_dau_18_feb_2025_from_000(metrics):
    st = metrics[(metrics["source"] == S000) & (metrics["provider"] == "Sensor Tower")
                 & (metrics["entity"] == "RedNote") & (metrics["market"] == "US")]
    # "到2月18日,该数据仅为巅峰期的30%左右,约90万,还不足小红书日活大盘的1%。"
    on = dict(period_start="2025-02-18", period_end="2025-02-18")
    _assert_figure(_one(st, metric="dau_share_of_peak", **on), 30, "percent", "approximate")
    _assert_figure(_one(st, metric="dau", **on), 900_000, "users", "approximate")
    _assert_figure(_one(st, metric="dau_share_of_total", **on), 1, "percent", "at_most")
    # "小红书美区DAU峰值出现在1月19日"
    peak = _one(st, metric="dau_peak_day")
    assert (peak["period_start"], peak["period_end"]) == ("2025-01-19", "2025-01-19")
    _assert_figure(peak, 1, "rank", "rank")


def test_appgrowing_rednote_us_ad_placement_dates_from_000(metrics):
    ag = metrics[(metrics["source"] == S000) & (metrics["provider"] == "AppGrowing")
                 & (metrics["entity"] == "RedNote") & (metrics["market"] == "US")]
    # "小红书在美国投放广告的高峰期是1月22日,此后广告投放量急剧下滑,到2月20日几乎停滞。"
    assert _one(ag, metric="ad_placements_peak")["period_start"] == "2025-01-22"
    assert _one(ag, metric="ad_placements_nearly_stopped")["period_start"] == "2025-02-20"


# --- Anchors: 001, 002, 003, 004 ------------------------------------------------------

def test_tiktok_shop_us_merchants_3_to_5x_apr_dec_2024_from_001(metrics):
    rows = metrics[(metrics["source"] == S001) & (metrics["entity"] == "TikTok Shop")
                   & (metrics["market"] == "US") & (metrics["metric"] == "merchant_count_growth")
                   & (metrics["period_start"] == "2024-04-01")
                   & (metrics["period_end"] == "2024-12-06")]
    _assert_figure(_one(rows, qualifier="at_least"), 3, "multiple", "at_least")
    _assert_figure(_one(rows, qualifier="at_most"), 5, "multiple", "at_most")


def test_merchants_seeking_results_and_success_rate_from_002(metrics):
    rows = metrics[(metrics["source"] == S002) & (metrics["entity"] == "RedNote")]
    # "大约20%的商家会希望在小红书有所成就,但实际上,只有不到四分之一的商家 ... 取得可观的成绩"
    _assert_figure(_one(rows, metric="merchant_share_seeking_results"), 20, "percent",
                   "approximate")
    _assert_figure(_one(rows, metric="merchant_success_rate"), 25, "percent", "at_most")


def test_cross_border_programme_early_march_2025_us_hk_mo_from_003(metrics):
    rows = metrics[(metrics["source"] == S003) & (metrics["entity"] == "RedNote")
                   & (metrics["market"] == "US+HK+MO")]
    launch = _one(rows, metric="programme_launch")
    assert (launch["period_start"], launch["period_end"]) == ("2025-03-01", "2025-03-10")
    _assert_figure(_one(rows, metric="pilot_markets_count"), 3, "count", "exact")


def test_rednote_merchant_growth_2024_from_004(metrics):
    rows = metrics[(metrics["source"] == S004) & (metrics["entity"] == "RedNote")
                   & (metrics["period_start"] == "2024-01-01")
                   & (metrics["period_end"] == "2024-12-31")]
    # "入驻小红书的商家数量实现了8.1倍的激增,年销售额突破亿元的商家数量增长了3.3倍,
    #  而年销售额达到5000万元的商家数量更是增长了4.6倍。"
    for metric, value in [("merchant_count_growth", 8.1),
                          ("merchant_count_growth_sales_over_100m_cny", 3.3),
                          ("merchant_count_growth_sales_50m_cny", 4.6)]:
        _assert_figure(_one(rows, metric=metric), value, "multiple", "ratio")


# --- Anchors: press_figures.md ---------------------------------------------------------

@pytest.mark.parametrize(
    "date, value, qualifier",
    [("2025-01-06", 300_000, "approximate"),   # "about Jan 6 | ... about 300,000"
     ("2025-01-12", 700_000, "at_most"),       # "Jan 12 | RedNote US DAU under 700,000"
     ("2025-01-13", 3_400_000, "approximate"),  # "Jan 13 | RedNote US DAU about 3.4 million"
     ("2025-01-19", 32_500_000, "exact"),       # Similarweb blog, treat with caution
     ("2025-01-20", 14_900_000, "exact")],
)
def test_similarweb_rednote_us_dau_from_press_figures(metrics, date, value, qualifier):
    row = _one(metrics, source=PRESS, provider="Similarweb", entity="RedNote", market="US",
               metric="dau", period_start=date)
    _assert_figure(row, value, "users", qualifier)


def test_similarweb_blog_figures_carry_the_caution_from_press_figures(metrics):
    for date in ("2025-01-19", "2025-01-20"):
        row = _one(metrics, source=PRESS, provider="Similarweb", entity="RedNote",
                   market="US", metric="dau", period_start=date)
        assert "blog" in row["note_en"].lower() and "caution" in row["note_en"].lower()


def test_sensor_tower_dau_20_22_jan_17_percent_lower_from_press_figures(metrics):
    # "| Jan 20–22 vs Jan 13–19 | average RedNote US DAU about 17 % lower | Sensor Tower |"
    row = _one(metrics, source=PRESS, provider="Sensor Tower", entity="RedNote", market="US",
               metric="dau_avg_change")
    assert (row["period_start"], row["period_end"]) == ("2025-01-20", "2025-01-22")
    _assert_figure(row, -17, "percent", "approximate")


def test_every_metric_is_in_the_data_dictionary(metrics):
    """data/raw/README.md says only the listed metric names are used: each metric of the
    file appears there in backticks (the audit found trainee_time_share_* unlisted)."""
    readme = (config.PROJ_ROOT / "data" / "raw" / "README.md").read_text()
    listed = set(re.findall(r"`([a-z0-9_]+)`", readme))
    missing = sorted(set(metrics["metric"]) - listed)
    assert not missing, f"metrics not in data/raw/README.md: {missing}"


# --- The audit's wrong rows stay corrected (audits/published-metrics-2026-12.md, section 1)

def test_pm084_counts_product_listings_not_units(metrics):
    """004: "2024年,来自全国产业群的1.7亿商品,以154亿单卖出抖音电商": 15.4 bn orders cannot
    hold only 0.17 bn units, so 商品 are listings."""
    row = metrics.set_index("id").loc["PM084"]
    assert row["metric"] == "cluster_products_count" and row["unit"] == "count"
    assert float(row["value"]) == 170_000_000 and "not units" in row["note_en"]


@pytest.mark.parametrize("pm, metric, qualifier, why", [
    ("PM058", "merchant_incentive_price_threshold", "at_least",
     "002/003: 低于100元的...商家不会被激励开店: 100 is a floor"),
    ("PM120", "sales_window_length", "at_most", "004: 短短10天内: within 10 days"),
    ("PM062", "units_sold_cumulative", "at_least", "002: 累计卖出8万多双: cumulative, 8万多"),
])
def test_audit_wrong_rows_carry_the_corrected_reading(metrics, pm, metric, qualifier, why):
    row = metrics.set_index("id").loc[pm]
    assert (row["metric"], row["qualifier"]) == (metric, qualifier), why


@pytest.mark.parametrize("pm, outside_fact", [
    ("PM037", "No. 2"),  # the unsourced Reuters/Sensor Tower rank the audit removed
    ("PM127", '(Reuters says "about")'),  # wording no stored source contains
])
def test_notes_import_no_fact_from_outside_the_sources(metrics, pm, outside_fact):
    assert outside_fact not in metrics.set_index("id").loc[pm, "note_en"]


# --- Priority-A claims the audit found missing (section 2), with the sentence each encodes

@pytest.mark.parametrize("where, value, unit, qualifier, sentence", [
    (dict(source=S000, entity="TikTok", metric="policy_event", period_start="2025-01-20"),
     1, "events", "exact", "也就是特朗普签署TikTok“缓刑令”前夕 (the eve of the 19 Jan peak)"),
    (dict(source=S000, metric="dau_change_recent"), 0, "percent", "at_most",
     "目前,小红书美国用户日活仍在下降。"),
    (dict(source=S001, metric="merchant_entry_channels_added"), 4, "count", "exact",
     "新增了Temu半托管、Shein半托管、速卖通自运营商家的入驻通道,甚至还开放了国内抖音品牌商家"),
    (dict(source=S002, metric="algorithm_departments_merged", provider="Securities Star"), 3,
     "count", "exact", "2024年12月,证券之星曝光,小红书整合了商业化、社区化、电子商务的算法部门"),
    (dict(source=S002, entity="Kuaishou", period_start="2022-09-01"), 1, "events", "exact",
     "2022年9月,快手首席执行官程一笑兼任快手电子商务负责人。"),
    (dict(source=S002, entity="Douyin E-commerce", provider="36Kr", period_start="2024-07-01"),
     1, "events", "exact", "2024年7月,36Kr报道称,Tiktok正在降低人才直播的流量分配比例"),
    (dict(source=S003, metric="merchant_wait_since_invitation"), 15, "days", "approximate",
     "收到小红书内测邀约半个月后,商家李明仍在漫长等待"),
    (dict(source=S004, metric="partnership_duration"), 1, "years", "at_least",
     "但这一合作仅仅维持了一年多"),
])
def test_priority_a_claims_have_their_rows(metrics, where, value, unit, qualifier, sentence):
    row = _one(metrics, **where)
    _assert_figure(row, value, unit, qualifier)


def test_the_rednote_alibaba_partnership_of_article_004_has_a_row(metrics):
    """004's headline: "小红书决定与阿里巴巴携手合作,共同宣布启动深度战略协作"."""
    rows = metrics[(metrics["source"] == S004) & (metrics["metric"] == "company_event")
                   & metrics["source_quote"].str.contains("阿里巴巴")]
    assert len(rows) == 1 and "Alibaba" in rows.iloc[0]["note_en"]
