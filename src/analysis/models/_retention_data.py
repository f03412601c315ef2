r"""What the retention fits read: input checks and the likelihoods' sufficient statistics.

Part of :mod:`analysis.models.retention` (see its docstring for the models). This module
turns what a user passes to ``fit`` / ``fit_cohorts`` into one of two frozen containers,
after checking it and saying exactly what is wrong:

``_SurvivorData``
    Survivor counts (unbounded retention) of one or more cohorts, reduced to the users
    lost between consecutive observed ages and the users still alive at each cohort's
    last age -- the counts :math:`n_k` and :math:`n_{a_K}` of Fader & Hardie (2007)
    eq. (7), generalised to unequal gaps and summed over cohorts.
``_BinomialData``
    Classic day-N retention rows, ``active ~ Binomial(size, S(age))``.

Both evaluate their log-likelihood from :math:`\ln S` at their distinct ages
(``loglik(log_s)``) and draw bootstrap samples (``simulate``). Neither knows about
parameters or optimisers (:mod:`analysis.models._retention_likelihood`).

A pandas Series of survivor counts is read in period order: a date index is checked
(no duplicated dates, no gaps, evenly spaced) and sorted, never trusted by position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

_LN2 = math.log(2.0)
#: Cap on log-probability gaps inside likelihoods: ``log(1 - exp(x))`` with ``x`` capped at
#: ``-1e-300`` is at worst about -690 instead of -inf, which keeps the objective finite
#: (and the finite-difference gradients usable) where a curve is numerically flat.
_XCAP = -1e-300


class _HasParams(Protocol):
    """What the input checks need to know of a model: its size and its name."""

    @property
    def n_params(self) -> int: ...


# --------------------------------------------------------------------------------------
# Numerical primitives shared by the pure functions, the likelihoods and the intervals
# --------------------------------------------------------------------------------------


def _out(x: np.ndarray) -> float | np.ndarray:
    """Scalar in, scalar out: 0-d results become Python floats."""
    return float(x) if np.ndim(x) == 0 else x


def _check_t(t: Any, *, integer: bool = False, name: str = "t") -> np.ndarray:
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number or an array of numbers; got {t!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {t!r}")
    if np.any(arr < 0):
        raise ValueError(
            f"{name} must be >= 0 (periods since the cohort started); got min {arr.min():g}"
        )
    if integer and np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold whole periods (integers); got {t!r}")
    return arr


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate at both ends (Maechler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(x > -_LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


# --------------------------------------------------------------------------------------
# Data containers (sufficient statistics for the two likelihoods)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SurvivorData:
    """Survivor counts of one or more cohorts, aggregated into interval/censoring counts."""

    cohort_ages: tuple[np.ndarray, ...]
    cohort_counts: tuple[np.ndarray, ...]
    ages: np.ndarray  # distinct ages at which S is evaluated
    i_lo: np.ndarray  # interval start (index into ages)
    i_hi: np.ndarray  # interval end
    deaths: np.ndarray  # users lost in the interval, summed over cohorts
    i_cens: np.ndarray  # last observed age of a cohort
    censored: np.ndarray  # users alive at that age, summed over cohorts
    n_users: float

    likelihood: ClassVar[str] = "survivor"

    @classmethod
    def build(
        cls, cohort_ages: Sequence[np.ndarray], cohort_counts: Sequence[np.ndarray]
    ) -> _SurvivorData:
        lo = np.concatenate([a[:-1] for a in cohort_ages])
        hi = np.concatenate([a[1:] for a in cohort_ages])
        d = np.concatenate([-np.diff(c) for c in cohort_counts])
        cens_age = np.array([a[-1] for a in cohort_ages], dtype=float)
        cens_n = np.array([c[-1] for c in cohort_counts], dtype=float)
        keep, keep_c = d > 0, cens_n > 0
        lo, hi, d = lo[keep], hi[keep], d[keep]
        cens_age, cens_n = cens_age[keep_c], cens_n[keep_c]
        ages = np.unique(np.concatenate([[0.0], lo, hi, cens_age]))
        n = len(ages)
        key = np.searchsorted(ages, lo) * n + np.searchsorted(ages, hi)
        ukey, inv = np.unique(key, return_inverse=True)
        deaths = np.bincount(inv, weights=d, minlength=len(ukey))
        icens = np.searchsorted(ages, cens_age)
        ucens, invc = np.unique(icens, return_inverse=True)
        censored = np.bincount(invc, weights=cens_n, minlength=len(ucens))
        return cls(
            cohort_ages=tuple(cohort_ages),
            cohort_counts=tuple(cohort_counts),
            ages=ages,
            i_lo=ukey // n,
            i_hi=ukey % n,
            deaths=deaths,
            i_cens=ucens,
            censored=censored,
            n_users=float(sum(c[0] for c in cohort_counts)),
        )

    @property
    def n_cohorts(self) -> int:
        return len(self.cohort_ages)

    @property
    def max_age(self) -> float:
        return float(max(a[-1] for a in self.cohort_ages))

    def loglik(self, log_s: np.ndarray) -> float:
        llo, lhi = log_s[self.i_lo], log_s[self.i_hi]
        with np.errstate(invalid="ignore"):
            return float(
                self.deaths @ (llo + _log1mexp(np.minimum(lhi - llo, _XCAP)))
                + self.censored @ log_s[self.i_cens]
            )

    def reference_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Observed share alive of the longest-observed cohort (for starting values)."""
        k = int(np.argmax([a[-1] for a in self.cohort_ages]))
        a, c = self.cohort_ages[k], self.cohort_counts[k]
        return a, c / c[0]

    def simulate(self, log_survival: Callable[[np.ndarray], np.ndarray], rng) -> _SurvivorData:
        """Parametric bootstrap sample: multinomial churn intervals per cohort."""
        ages_out, counts_out = [], []
        for a, c in zip(self.cohort_ages, self.cohort_counts, strict=True):
            s = np.exp(log_survival(a))
            probs = np.append(-np.diff(s), s[-1])
            probs = np.clip(probs, 0.0, None)
            probs /= probs.sum()
            lost = rng.multinomial(int(round(c[0])), probs)[:-1]
            counts_out.append(float(round(c[0])) - np.concatenate([[0.0], np.cumsum(lost)]))
            ages_out.append(a)
        return _SurvivorData.build(ages_out, counts_out)


@dataclass(frozen=True)
class _BinomialData:
    """Classic day-N retention: ``active ~ Binomial(size, S(age))`` per cohort and age."""

    age: np.ndarray
    active: np.ndarray
    size: np.ndarray
    cohort: np.ndarray  # integer code 0..n_cohorts-1 of the cohort of each row
    cohort_sizes: np.ndarray  # size of each cohort (also those without rows after day 0)
    ages: np.ndarray
    i_age: np.ndarray

    likelihood: ClassVar[str] = "binomial"

    @classmethod
    def build(
        cls,
        age: np.ndarray,
        active: np.ndarray,
        size: np.ndarray,
        cohort: np.ndarray,
        cohort_sizes: np.ndarray,
    ) -> _BinomialData:
        ages, i_age = np.unique(age, return_inverse=True)
        return cls(
            age=age,
            active=active,
            size=size,
            cohort=cohort,
            cohort_sizes=np.asarray(cohort_sizes, dtype=float),
            ages=ages,
            i_age=i_age,
        )

    @property
    def n_cohorts(self) -> int:
        return len(self.cohort_sizes)

    @property
    def n_users(self) -> float:
        return float(self.cohort_sizes.sum())

    @property
    def max_age(self) -> float:
        return float(self.age.max())

    def _terms(self, log_s: np.ndarray) -> np.ndarray:
        ls = log_s[self.i_age]
        lost = self.size - self.active
        with np.errstate(invalid="ignore"):
            return np.where(self.active > 0, self.active * ls, 0.0) + np.where(
                lost > 0, lost * _log1mexp(np.minimum(ls, _XCAP)), 0.0
            )

    def loglik(self, log_s: np.ndarray) -> float:
        return float(self._terms(log_s).sum())

    def loglik_by_cohort(self, log_s: np.ndarray) -> np.ndarray:
        return np.bincount(self.cohort, weights=self._terms(log_s), minlength=self.n_cohorts)

    def reference_curve(self) -> tuple[np.ndarray, np.ndarray]:
        act = np.bincount(self.i_age, weights=self.active)
        size = np.bincount(self.i_age, weights=self.size)
        return np.concatenate([[0.0], self.ages]), np.concatenate([[1.0], act / size])

    def simulate(self, log_survival: Callable[[np.ndarray], np.ndarray], rng) -> _BinomialData:
        """Cohort (cluster) bootstrap sample: whole cohorts drawn with replacement.

        The binomial model's independence across ages is not believable for classic
        retention (the same users are counted at every age), so instead of simulating from
        it, cohorts are resampled; ``log_survival`` is unused.
        """
        pick = rng.integers(0, self.n_cohorts, self.n_cohorts)
        rows_of = np.split(
            np.argsort(self.cohort, kind="stable"),
            np.cumsum(np.bincount(self.cohort, minlength=self.n_cohorts))[:-1],
        )
        idx = np.concatenate([rows_of[g] for g in pick])
        new_code = np.concatenate([np.full(len(rows_of[g]), j) for j, g in enumerate(pick)])
        return _BinomialData.build(
            self.age[idx],
            self.active[idx],
            self.size[idx],
            new_code.astype(np.int64),
            self.cohort_sizes[pick],
        )


# --------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _date_index(index: pd.Index) -> pd.DatetimeIndex | None:
    """``index`` as dates when it holds dates (datetimes, periods, ``date`` objects)."""
    if isinstance(index, pd.DatetimeIndex):
        return index
    if isinstance(index, pd.PeriodIndex):
        return index.to_timestamp()
    if index.dtype == object and index.inferred_type in ("date", "datetime", "datetime64"):
        return pd.DatetimeIndex(pd.to_datetime(index))
    return None


def _calendar_spaced(dates: pd.DatetimeIndex) -> bool:
    """Whether sorted ``dates`` step by a constant number of calendar months (monthly,
    quarterly, yearly data: the same day of the month, or every month's last day)."""
    if (dates != dates.normalize()).any():
        return False
    months = np.diff(np.asarray(dates.year) * 12 + np.asarray(dates.month))
    anchored = bool((dates.day == dates.day[0]).all() or dates.is_month_end.all())
    return anchored and bool(np.all(months == months[0]))


def _alive_values(alive: pd.Series, name: str = "alive") -> np.ndarray:
    """A Series' values in period order; a date index is checked, never read by position.

    The survivor likelihood reads ``alive[t]`` as the count at period ``t``, so a
    date-indexed Series must hold one value per period: duplicated dates and gaps (e.g.
    a missing day in a daily index) are ``ValueError``; unsorted dates are sorted (the
    order of the rows carries no information once the dates are known). Steps may be any
    constant length (days, weeks) or a calendar month, quarter or year. Other indexes are
    used as they are.
    """
    dates = _date_index(alive.index)
    values = alive.to_numpy()
    if dates is None:
        return values
    if dates.hasnans:
        raise ValueError(f"{name} has a missing date (NaT) in its index")
    dup = dates.duplicated()
    if dup.any():
        raise ValueError(
            f"{name} has duplicated dates in its index ({int(dup.sum())}, first "
            f"{dates[dup][0].date()}): one survivor count per period is needed; aggregate "
            f"or drop the duplicates first"
        )
    if not dates.is_monotonic_increasing:
        order = np.argsort(dates.asi8, kind="stable")
        dates, values = dates[order], values[order]
    if len(dates) >= 3:
        steps = np.diff(dates.asi8)
        if np.any(steps != steps[0]) and not _calendar_spaced(dates):
            i = int(np.argmax(steps > steps.min()))
            raise ValueError(
                f"{name} is indexed by dates that are not evenly spaced: a gap between "
                f"{dates[i].date()} and {dates[i + 1].date()} (steps of "
                f"{pd.Timedelta(int(steps.min()), unit=dates.unit)} elsewhere). Survivor "
                f"counts are read as consecutive periods; reindex to one row per period "
                f"(a missing day is not a day without churn)"
            )
    return values


def _validate_alive(alive: Any, model: _HasParams) -> np.ndarray:
    """Check one cohort's survivor counts; raise ValueError saying exactly what is wrong."""
    if alive is None or isinstance(alive, (str, bytes, dict)):
        raise ValueError(
            f"alive must be a sequence of survivor counts (period 0 = cohort size); "
            f"got {type(alive).__name__}"
        )
    if isinstance(alive, pd.Series):
        alive = _alive_values(alive)
    elif isinstance(alive, pd.Index):
        alive = alive.to_numpy()
    try:
        arr = np.asarray(alive, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"alive must be a sequence of numbers (survivor counts); got {alive!r}"
        ) from exc
    if arr.ndim != 1:
        raise ValueError(
            f"alive must be one-dimensional (one cohort's survivor counts at periods 0..T); "
            f"got shape {arr.shape}. For several cohorts use fit_cohorts(table)."
        )
    if arr.size < 3:
        raise ValueError(
            f"alive has {arr.size} value(s); need at least three periods (0, 1, 2): period 0 "
            f"is the cohort size and at least two later periods are needed to fit a curve"
        )
    for i, v in enumerate(arr):
        if not np.isfinite(v):
            raise ValueError(f"alive[{i}] is {v}: survivor counts must be finite numbers")
    for i, v in enumerate(arr):
        if v < 0:
            raise ValueError(f"alive[{i}]={_fmt(v)} is negative: survivor counts must be >= 0")
    if arr[0] == 0:
        raise ValueError(
            "alive[0]=0: the cohort is empty; period 0 must hold the cohort size (> 0)"
        )
    for i in range(1, arr.size):
        if arr[i] > arr[i - 1]:
            raise ValueError(
                f"alive[{i}]={_fmt(arr[i])} is larger than alive[{i - 1}]={_fmt(arr[i - 1])}: "
                f"survivor counts must be non-increasing (users active on period t or later). "
                f"Classic day-N retention can rise; fit it with "
                f"fit_cohorts(table, retention='classic')."
            )
    if arr[-1] == arr[0]:
        raise ValueError(
            f"alive is constant at {_fmt(arr[0])}: the cohort lost nobody, so no retention "
            f"curve can be estimated"
        )
    k = model.n_params
    if arr.size - 1 < k:
        raise ValueError(
            f"{type(model).__name__} has {k} parameters but alive has only {arr.size - 1} "
            f"periods after period 0; need at least {k}"
        )
    return arr


def _cohort_label(v: Any) -> str:
    if isinstance(v, pd.Period):  # a monthly or weekly cohort label: "1997-01"
        return str(v)
    if isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "strftime"):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else str(ts)
    return str(v)


def _prepare_table(
    model: _HasParams,
    table: pd.DataFrame,
    *,
    retention: str,
    cohort_col: str,
    age_col: str,
    active_col: str,
    size_col: str,
) -> _SurvivorData | _BinomialData:
    if retention not in ("unbounded", "classic"):
        raise ValueError(f"retention must be 'unbounded' or 'classic'; got {retention!r}")
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    cols = [cohort_col, age_col, active_col, size_col]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ValueError(
            f"table is missing column(s) {missing}; expected {cols} "
            f"(the format of analysis.data.cohorts.cohort_table)"
        )
    if table.empty:
        raise ValueError("table has no rows")
    df = table[cols]
    for c in cols:
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"table column {c!r} has {int(bad.sum())} missing value(s) "
                f"(first at row {df.index[np.argmax(bad)]!r})"
            )
    num = {}
    for c in (age_col, active_col, size_col):
        try:
            num[c] = pd.to_numeric(df[c], errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"table column {c!r} must be numeric") from exc
        if not np.all(np.isfinite(num[c])):
            raise ValueError(f"table column {c!r} has infinite values")
        if np.any(num[c] < 0):
            i = int(np.argmax(num[c] < 0))
            raise ValueError(
                f"table column {c!r} has a negative value {num[c][i]:g} "
                f"(cohort {_cohort_label(df[cohort_col].iloc[i])}); counts and ages must be >= 0"
            )
    age, active, size = num[age_col], num[active_col], num[size_col]
    if np.any(age != np.round(age)):
        raise ValueError(f"table column {age_col!r} must hold whole days (integers)")
    codes, uniques = pd.factorize(df[cohort_col], sort=True)
    order = np.lexsort((age, codes))
    codes, age, active, size = codes[order], age[order], active[order], size[order]
    labels = [_cohort_label(u) for u in uniques]
    dup = (np.diff(codes) == 0) & (np.diff(age) == 0)
    if dup.any():
        i = int(np.argmax(dup))
        raise ValueError(
            f"cohort {labels[codes[i]]}: {age_col}={_fmt(age[i])} appears more than once"
        )
    starts = np.flatnonzero(np.r_[True, np.diff(codes) != 0])
    bounds = np.r_[starts, len(codes)]
    sizes = np.empty(len(starts))
    for g, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        sz = size[s:e]
        if np.any(sz != sz[0]):
            raise ValueError(
                f"cohort {labels[g]}: {size_col} is not constant ({_fmt(sz.min())} to "
                f"{_fmt(sz.max())}); it must be the size of the cohort on every row"
            )
        if sz[0] == 0:
            raise ValueError(
                f"cohort {labels[g]}: {size_col} is 0 (an empty cohort); drop it before fitting"
            )
        over = active[s:e] > sz[0]
        if over.any():
            j = s + int(np.argmax(over))
            raise ValueError(
                f"cohort {labels[g]}: {active_col}={_fmt(active[j])} at {age_col}={_fmt(age[j])} "
                f"exceeds {size_col}={_fmt(sz[0])}"
            )
        sizes[g] = sz[0]
    k = model.n_params

    if retention == "classic":
        keep = age > 0
        n_ages = len(np.unique(age[keep]))
        if n_ages < max(2, k):
            raise ValueError(
                f"classic retention is observed at {n_ages} distinct age(s) after day 0; "
                f"{type(model).__name__} needs at least {max(2, k)} (three periods including 0)"
            )
        return _BinomialData.build(age[keep], active[keep], size[keep], codes[keep], sizes)

    cohort_ages, cohort_counts = [], []
    for g, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        a, c = age[s:e], active[s:e]
        if a[0] != 0:
            a, c = np.r_[0.0, a], np.r_[sizes[g], c]
        elif c[0] != sizes[g]:
            raise ValueError(
                f"cohort {labels[g]}: {active_col}={_fmt(c[0])} at {age_col}=0 differs from "
                f"{size_col}={_fmt(sizes[g])}; unbounded retention at age 0 is the whole cohort"
            )
        up = np.flatnonzero(np.diff(c) > 0)
        if up.size:
            j = int(up[0]) + 1
            raise ValueError(
                f"cohort {labels[g]}: {active_col}={_fmt(c[j])} at {age_col}={_fmt(a[j])} is "
                f"larger than {_fmt(c[j - 1])} at {age_col}={_fmt(a[j - 1])}: survivor counts "
                f"(unbounded retention, active on day N or later) must be non-increasing. "
                f"Classic day-N retention is not monotone; fit it with retention='classic'."
            )
        cohort_ages.append(a)
        cohort_counts.append(c)
    n_ages = len(np.unique(np.concatenate(cohort_ages)))
    if n_ages < max(3, k + 1):
        raise ValueError(
            f"the cohorts are observed at {n_ages} distinct age(s) including 0; "
            f"{type(model).__name__} needs at least {max(3, k + 1)}"
        )
    if all(c[-1] == c[0] for c in cohort_counts):
        raise ValueError("no cohort lost any user: no retention curve can be estimated")
    return _SurvivorData.build(cohort_ages, cohort_counts)
