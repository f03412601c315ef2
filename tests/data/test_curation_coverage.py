"""Coverage of data/raw/published_metrics.csv: every quantitative passage of every seed
has a row or a justified entry in data/raw/curation_skip.csv.

Source of the requirement: issue 13 and the audit ``published-metrics-2026-12.md``
(section 2: 45 quantitative claims the file missed, "every quantitative claim" being the
README's promise). A *quantitative token* is a number with its unit or a date: Arabic
digits (with a following unit such as 万, %, 倍, 个, 天, 年, 月, 日, or letters), numeric
dates (2025-5-17, 2025.01.16), and Chinese numerals with a measure word or unit
(一个, 几场, 半年, 两倍). A token is covered when it lies inside the verbatim
``source_quote`` of a row from that seed, or inside a ``fragment`` of the skip list for
that seed. The skip list's reasons: ``article_date`` (a dateline), ``page_furniture``
(reposting-site text), ``indefinite_article`` (一个/一位/一款 used as "a"),
``narrative`` (no figure behind the words), ``encoded_elsewhere`` (a date or figure a
row named in the justification carries) and ``priority_c`` (the audit's priority-C
items, which the issue leaves out).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import config

REASONS = {"article_date", "page_furniture", "indefinite_article", "narrative",
           "encoded_elsewhere", "priority_c"}
_UNITS = ("小时|分钟|美元|[%％倍个家天年月日号元块人名位次场项款条件单笔周秒岁成折层部]"
          "|[万亿千百]+")
TOKEN = re.compile(
    r"\d{4}[-./]\d{1,2}(?:[-./]\d{1,2})?"
    rf"|\d+(?:[.,]\d+)*(?:{_UNITS}|[A-Za-z]+)?"
    r"|[一二两三四五六七八九十百千几数半][一二两三四五六七八九十百千万亿]*"
    r"(?:小时|分钟|[个家天年月日倍场项款条件单笔周岁成折层部人名位次万亿])"
    # relative and named dates: a dated claim needs no digit
    r"|去年|今年|明年|前年|年初|年底|年末|年前|年后|月初|月底|春节|春晚"
)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

#: Rows per seed at the last curation (issue 13: 41 rows added, PM139-PM179). A change
#: here is a curation decision: add the rows, then update the count in the same commit.
ROWS_PER_SEED = {
    "000_77cca1003b724cc9.txt": 23,
    "001_ebe3b3d101b275a8.txt": 24,
    "002_0a1eda73bb922fc9.txt": 71,
    "003_0977856ed92467c2.txt": 19,
    "004_4b790274aefb993d.txt": 25,
    "press_figures.md": 17,
}


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return pd.read_csv(config.PUBLISHED_METRICS_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def skip() -> pd.DataFrame:
    return pd.read_csv(config.CURATION_SKIP_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(config.SEEDS_DIR.iterdir())
            if p.is_file()}


def _spans(text: str, fragment: str) -> list[tuple[int, int]]:
    out, start = [], 0
    while (i := text.find(fragment, start)) >= 0:
        out.append((i, i + len(fragment)))
        start = i + 1
    return out


def _covered_mask(text: str, fragments) -> bytearray:
    mask = bytearray(len(text))
    for fragment in fragments:
        for a, b in _spans(text, fragment.strip()):
            mask[a:b] = b"\1" * (b - a)
    return mask


def uncovered_tokens(text: str, fragments) -> list[str]:
    """Quantitative tokens of ``text`` not inside any of ``fragments`` (with context)."""
    mask = _covered_mask(text, fragments)
    return [f"{t.group()!r} in ...{text[max(0, t.start() - 20):t.end() + 20]!r}..."
            for t in TOKEN.finditer(text) if not all(mask[t.start():t.end()])]


def test_rows_per_seed_are_kept(metrics, seeds):
    counts = metrics["source"].value_counts().to_dict()
    assert set(ROWS_PER_SEED) == set(seeds)
    assert counts == ROWS_PER_SEED


@pytest.mark.parametrize("seed", sorted(ROWS_PER_SEED))
def test_every_quantitative_token_has_a_row_or_a_skip_entry(metrics, skip, seeds, seed):
    fragments = (list(metrics.loc[metrics["source"] == seed, "source_quote"])
                 + list(skip.loc[skip["seed"] == seed, "fragment"]))
    missing = uncovered_tokens(seeds[seed], fragments)
    assert not missing, (f"{seed}: {len(missing)} quantitative token(s) with no row in "
                         "published_metrics.csv and no entry in curation_skip.csv:\n"
                         + "\n".join(missing))


def test_skip_list_is_well_formed(skip, seeds):
    assert list(skip.columns) == ["seed", "fragment", "reason", "justification"]
    assert set(skip["seed"]) <= set(seeds), set(skip["seed"]) - set(seeds)
    assert set(skip["reason"]) <= REASONS, set(skip["reason"]) - REASONS
    assert not skip.duplicated(["seed", "fragment"]).any()
    for r in skip.itertuples(index=False):
        assert r.fragment.strip() and r.fragment in seeds[r.seed], (r.seed, r.fragment)
        assert r.justification.strip() and not CJK.search(r.justification), r.fragment


def test_every_skip_entry_covers_a_quantitative_token(skip, seeds):
    """No dead entries: each fragment contains at least one token the test looks for."""
    dead = [(r.seed, r.fragment) for r in skip.itertuples(index=False)
            if not TOKEN.search(r.fragment)]
    assert not dead, dead


def test_encoded_elsewhere_names_rows_that_exist_and_share_the_seed(skip, metrics):
    ids = dict(zip(metrics["id"], metrics["source"], strict=True))
    for r in skip[skip["reason"] == "encoded_elsewhere"].itertuples(index=False):
        named = re.findall(r"PM(\d{3})(?:-PM(\d{3}))?", r.justification)
        assert named, f"{r.fragment!r}: encoded_elsewhere names no row (PMnnn)"
        for a, b in named:
            for k in range(int(a), int(b or a) + 1):
                assert ids.get(f"PM{k:03d}") == r.seed, (r.fragment, k)


# --- the tokenizer finds what it must (so that the coverage test can fail) -------------

@pytest.mark.parametrize("text, tokens", [
    ("到2月18日,该数据仅为巅峰期的30%左右,约90万", ["2月", "18日", "30%", "90万"]),
    ("年后,在北美、东南亚举办了几场与创作者有关的线下活动", ["年后", "几场"]),
    ("2025-5-17 17:21", ["2025-5-17", "17", "21"]),
    ("商家数量增长了8.1倍", ["8.1倍"]),
    ("收到小红书内测邀约半个月后", ["半个"]),
    ("没有数字的句子。", []),
])
def test_tokenizer(text, tokens):
    assert [t.group() for t in TOKEN.finditer(text)] == tokens


def test_a_claim_without_row_or_skip_entry_is_reported():
    text = "小红书宣布2025年3月上线新功能。"
    assert uncovered_tokens(text, []) and not uncovered_tokens(text, [text])
    assert len(uncovered_tokens(text, ["小红书宣布2025年"])) == 1  # 3月 is still bare


def test_readme_documents_the_skip_list():
    readme = (Path(config.RAW_DIR) / "README.md").read_text(encoding="utf-8")
    assert "curation_skip.csv" in readme
    for reason in REASONS:
        assert f"`{reason}`" in readme, reason
