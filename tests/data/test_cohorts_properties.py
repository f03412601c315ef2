"""Property tests of the bitmap cohort engine against the pandas reference (issue 14).

The engine packs each user's active days into 64-bit words, four words to a row, and
splits longer logs into 256-day chunks; its first/last-day arithmetic is where it broke
(``Overflow in addition of INT8 (64 + 64)`` when a user's last day was bit 63 of word
1). Hypothesis draws logs of 1-800 days whose users start and stop on every word and
chunk boundary (and anywhere else), and checks ``cohort_table`` and
``daily_active_users`` against ``_reference_cohort_table`` /
``_reference_daily_active_users``, the plain pandas definitions. The same logs are
drawn again with the ids real logs have (sparse signed 64-bit integers anywhere in the
BIGINT range, and arbitrary Unicode strings, the empty string included) instead of
0..n-1, and must give the same tables as with dense ids.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data import cohorts as C

WORD, CHUNK = 64, 256
START = pd.Timestamp("2024-01-01")


def _edges(n_days: int) -> list[int]:
    """Days next to every word and chunk boundary of an ``n_days`` log."""
    out = set()
    for b in range(0, n_days + WORD, WORD):
        out.update({b - 1, b, b + 1})
    for b in range(0, n_days + CHUNK, CHUNK):
        out.update({b - 1, b})
    return sorted(d for d in out if 0 <= d < n_days)


@st.composite
def logs(draw) -> pd.DataFrame:
    n_days = draw(st.integers(1, 800))
    edges = _edges(n_days)
    day = st.one_of(st.sampled_from(edges), st.integers(0, n_days - 1))
    n_users = draw(st.integers(1, 8))
    rows = []
    for u in range(n_users):
        a, b = sorted((draw(day), draw(day)))
        middle = draw(st.lists(st.integers(a, b), max_size=4))
        install = a - draw(st.integers(0, 3))
        market = draw(st.sampled_from(["US", "CA"]))
        for d in {a, b, *middle}:
            rows.append((u, START + pd.Timedelta(days=d), market, START + pd.Timedelta(days=install)))
    # the log spans all n_days: one more user on the first and one on the last day
    for u, d in ((n_users, 0), (n_users + 1, n_days - 1)):
        rows.append((u, START + pd.Timedelta(days=d), "US", START + pd.Timedelta(days=d)))
    return pd.DataFrame(rows, columns=["user_id", "event_date", "market", "install_date"])


#: one-to-one user ids of each kind: dense 0..n-1 (as drawn), sparse signed 64-bit
#: integers from the whole BIGINT range (its extremes included), and strings
ID_KINDS = {
    "sparse64": st.lists(st.one_of(st.sampled_from([-(2**63), 2**63 - 1, -1, 0]),
                                   st.integers(-(2**63), 2**63 - 1)),
                         min_size=10, max_size=10, unique=True),
    "string": st.lists(st.text(max_size=40), min_size=10, max_size=10, unique=True),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=logs(), kind=st.sampled_from(sorted(ID_KINDS)), data=st.data(),
       cohort=st.sampled_from(["first_active", "install"]), by_market=st.booleans())
def test_sparse_and_string_ids_equal_reference(df, kind, data, cohort, by_market):
    ids = data.draw(ID_KINDS[kind], label=f"{kind} ids")
    mapped = df.assign(user_id=df["user_id"].map(dict(enumerate(ids))))
    if kind == "sparse64":
        mapped["user_id"] = mapped["user_id"].astype("int64")
    got = C.cohort_table(mapped, cohort=cohort, by_market=by_market)
    pd.testing.assert_frame_equal(got, C._reference_cohort_table(mapped, cohort=cohort,
                                                                 by_market=by_market))
    # the ids only name the users: the table is the one of the dense ids
    pd.testing.assert_frame_equal(got, C.cohort_table(df, cohort=cohort, by_market=by_market))
    pd.testing.assert_frame_equal(C.daily_active_users(mapped, by_market=by_market),
                                  C.daily_active_users(df, by_market=by_market))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=logs(), cohort=st.sampled_from(["first_active", "install"]), by_market=st.booleans())
def test_cohort_table_equals_reference(df, cohort, by_market):
    pd.testing.assert_frame_equal(
        C.cohort_table(df, cohort=cohort, by_market=by_market),
        C._reference_cohort_table(df, cohort=cohort, by_market=by_market),
    )


@settings(max_examples=20, deadline=None)
@given(df=logs(), by_market=st.booleans())
def test_daily_active_users_equals_reference(df, by_market):
    pd.testing.assert_frame_equal(
        C.daily_active_users(df, by_market=by_market),
        C._reference_daily_active_users(df, by_market=by_market),
    )


def test_issue_14_three_rows():
    # the report of issue 14: user 1 on day 0 and day 127, user 2 on day 200
    df = pd.DataFrame(
        {"user_id": [1, 1, 2], "event_date": START + pd.to_timedelta([0, 127, 200], unit="D")}
    )
    pd.testing.assert_frame_equal(C.cohort_table(df), C._reference_cohort_table(df))


@pytest.mark.parametrize("bits", [0, 1, 63, 64])
def test_popcount_is_integer_typed(bits):
    # The engine's offsets are added to popcounts; they must not inherit bit_count's
    # narrow type (TINYINT in DuckDB 1.x), whatever DuckDB version runs them.
    x = f"CAST({(1 << bits) - 1} AS UBIGINT)"
    typ, n, total = duckdb.execute(
        f"SELECT typeof({C._popcount_sql(x)}), {C._popcount_sql(x)}, "
        f"192 + {C._popcount_sql(x)} + 64"
    ).fetchone()
    assert (typ, n, total) == ("INTEGER", bits, 256 + bits)
