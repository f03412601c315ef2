"""Parameter files that must be refused, with the file and the key named (issue 16).

Sources of the cases: issue 16 ("Inputs that must be refused, with the place named":
an empty file silently meant "all defaults", a duplicate key kept its last value, an
integer date 1735689600 was accepted), and the schema's own promise in
``analysis.pipeline.params``: a calendar day is "a YAML date or an ISO string
YYYY-MM-DD (nothing else)". The property-based tests draw values from the schemas
themselves (``SCHEMAS``: the field types and their ``ge``/``le``/``gt``/``lt`` bounds).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import typing

import annotated_types as at
import pytest
import yaml
from conftest import PY, run
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis import config
from analysis.pipeline.params import SCHEMAS, ParameterError, load_params

NB = config.NOTEBOOKS_DIR / "00_sources.ipynb"


def write(tmp_path, text: str, name: str = "p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the cases of issue 16


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing set yet\n", "---\n"],
                         ids=["empty", "blank-lines", "only-a-comment", "empty-document"])
def test_empty_file_is_refused_naming_the_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ParameterError) as err:
        load_params(path, NB)
    message = str(err.value)
    assert message.startswith(f"{path}: the parameter file is empty")
    assert "{}" in message  # says how to ask for every default on purpose


def test_explicit_empty_mapping_means_every_default(tmp_path):
    model = load_params(write(tmp_path, "{}\n"), NB)
    assert model == SCHEMAS["00_sources"]()


def test_duplicate_key_names_the_key_and_both_lines(tmp_path):
    path = write(tmp_path, "market: US\nfigure_dpi: 150\n# later edit\nfigure_dpi: 300\n")
    with pytest.raises(ParameterError) as err:
        load_params(path, NB)
    assert str(err.value) == (f"{path}: key 'figure_dpi' is given twice, at line 2 and at "
                              f"line 4; keep one of them")


def test_duplicate_key_with_the_same_value_is_still_refused(tmp_path):
    path = write(tmp_path, "market: US\nmarket: US\n")
    with pytest.raises(ParameterError, match=r"key 'market' is given twice, at line 1 and "
                                             r"at line 2"):
        load_params(path, NB)


def test_duplicate_key_inside_a_flow_mapping(tmp_path):
    path = write(tmp_path, "{market: US, entity: RedNote, market: CA}\n")
    with pytest.raises(ParameterError, match="key 'market' is given twice"):
        load_params(path, NB)


@pytest.mark.parametrize("value", [
    "1735689600",            # the Unix time of 2025-01-01 (issue 16)
    "1735689600.0",
    "20250101",              # a number to YAML
    "'20250101'",            # compact ISO 8601: date.fromisoformat would take it
    "'2025-W01-3'",          # ISO week date: date.fromisoformat would take it
    "'01/01/2025'",
    "2025-01-01T00:00:00",   # a YAML timestamp: a time of day is not a day
    "2025-01-01 10:30:00",
    "true",
    "[2025, 1, 1]",
    "null",
])
def test_date_in_any_other_form_is_refused_naming_the_key(tmp_path, value):
    path = write(tmp_path, f"episode_start: {value}\n")
    with pytest.raises(ParameterError) as err:
        load_params(path, NB)
    message = str(err.value)
    assert str(path) in message
    assert "key 'episode_start'" in message
    assert "a YAML date (2025-01-31) or an ISO string 'YYYY-MM-DD'" in message


def test_integer_date_message(tmp_path):
    path = write(tmp_path, "episode_start: 1735689600\n")
    with pytest.raises(ParameterError) as err:
        load_params(path, NB)
    assert str(err.value) == (
        f"{path}: invalid parameters for notebook '00_sources'\n"
        "  - key 'episode_start': expected a YAML date (2025-01-31) or an ISO string "
        "'YYYY-MM-DD' (got 1735689600)")


def test_impossible_iso_day_is_refused(tmp_path):
    path = write(tmp_path, "episode_end: '2025-02-30'\n")
    with pytest.raises(ParameterError, match=r"key 'episode_end': no such calendar day"):
        load_params(path, NB)


@pytest.mark.parametrize("value", ["2025-01-02", "'2025-01-02'"], ids=["yaml-date", "iso-str"])
def test_both_accepted_date_forms_give_the_same_day(tmp_path, value):
    model = load_params(write(tmp_path, f"episode_start: {value}\n"), NB)
    assert model.episode_start == dt.date(2025, 1, 2)


def test_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"market: US\nentity: Red\xffNote\n")
    with pytest.raises(ParameterError, match=r"p\.yaml: not UTF-8 text \(byte 0xFF at line 2\)"):
        load_params(path, NB)


@pytest.mark.parametrize("text", ["", "figure_dpi: 150\nfigure_dpi: 150\n",
                                  "episode_start: 1735689600\n"],
                         ids=["empty", "duplicate", "integer-date"])
def test_cli_refuses_before_any_kernel_with_exit_code_2(tmp_path, text):
    path = write(tmp_path, text)
    build = tmp_path / "build"
    env = {**os.environ, "ANALYSIS_BUILD_DIR": str(build)}
    proc = run([PY, "-m", "analysis.pipeline.runner", str(NB), "--params", str(path)], env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {path}: ")
    assert "Traceback" not in proc.stderr
    assert not (build / "notebooks").exists() or not any((build / "notebooks").iterdir())


# ------------------------------------------------------------------ property-based tests

#: Date fields whose schema validators require an order (``SourcesParams._ordered``:
#: start < end, start <= surge <= end; ``RetentionParams._ordered``: start <= end).
ORDERED_DAYS = {
    "00_sources": ("episode_start", "surge_start", "episode_end"),
    "01_retention": ("cohort_start", "cohort_end"),
}
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])
NAMES = sorted(SCHEMAS)


def _bounds(field):
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if isinstance(m, at.Ge):
            lo = m.ge
        elif isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Le):
            hi = m.le
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
    return lo, lo_open, hi, hi_open


def _optional(field) -> bool:
    """``X | None`` (a key that may be left unset, e.g. ``market_column``)."""
    return type(None) in typing.get_args(field.annotation)


def _kind(field) -> str:
    annotation = field.annotation
    if _optional(field):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) is typing.Annotated:  # Day | None
            annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Literal:
        return "choice"
    if typing.get_origin(annotation) is list:
        return "int-list"
    return {int: "int", float: "float", str: "str", dt.date: "day"}[annotation]


DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
               max_size=20)


def valid_value(field):
    """Values the field's type and bounds allow (cross-field rules aside)."""
    if _optional(field):
        return st.one_of(st.none(), _valid_value(field))
    return _valid_value(field)


def _valid_value(field):
    kind = _kind(field)
    lo, lo_open, hi, hi_open = _bounds(field)
    if kind == "choice":
        return st.sampled_from(typing.get_args(field.annotation))
    if kind == "int":
        return st.integers(min_value=lo, max_value=hi if hi is not None else 2**31)
    if kind == "float":
        return st.floats(min_value=lo, max_value=hi, exclude_min=lo_open, exclude_max=hi_open,
                         allow_nan=False, allow_infinity=False)
    if kind == "str":
        return TEXT
    if kind == "day":
        return DAYS
    return st.lists(st.integers(1, 3650), min_size=1, max_size=6)


@st.composite
def valid_parameters(draw, name: str) -> dict:
    """A subset of the schema's keys with valid values; ordered days drawn in order."""
    schema = SCHEMAS[name]
    keys = draw(st.lists(st.sampled_from(list(schema.model_fields)), unique=True))
    values = {k: draw(valid_value(schema.model_fields[k])) for k in keys}
    ordered = ORDERED_DAYS.get(name, ())
    if ordered:
        days = sorted(draw(st.lists(DAYS, min_size=len(ordered), max_size=len(ordered),
                                    unique=True)))
        values.update({k: d for k, d in zip(ordered, days, strict=True) if k in keys})
    return values


def as_yaml_value(value, as_string: bool):
    """A day either as a YAML date or as a quoted ISO string (both are documented)."""
    return value.isoformat() if as_string and isinstance(value, dt.date) else value


@PROPERTY
@given(data=st.data(), name=st.sampled_from(NAMES), days_as_strings=st.booleans())
def test_valid_values_round_trip_unchanged(tmp_path, data, name, days_as_strings):
    values = data.draw(valid_parameters(name), label="values")
    schema = SCHEMAS[name]
    try:  # a cross-field rule (e.g. distinct providers) may still refuse the draw
        expected = schema.model_validate(values)
    except ValueError:
        assume(False)
    text = yaml.safe_dump({k: as_yaml_value(v, days_as_strings) for k, v in values.items()},
                          allow_unicode=True) if values else "{}\n"
    model = load_params(write(tmp_path, text), name)
    assert model == expected
    dumped = model.model_dump()
    for key, value in values.items():  # stored exactly as given: no coercion
        assert dumped[key] == value and type(dumped[key]) is type(value), key


def invalid_value(field):
    """Values of the wrong type, or out of the field's bounds or choices."""
    if _optional(field):
        return _invalid_value(field).filter(lambda v: v is not None)
    return _invalid_value(field)


def _invalid_value(field):
    kind = _kind(field)
    lo, lo_open, hi, hi_open = _bounds(field)
    wrong = {
        "int": st.one_of(TEXT, st.floats(allow_nan=False), st.booleans(), DAYS, st.none(),
                         st.lists(st.integers(), min_size=1, max_size=2)),
        "float": st.one_of(TEXT, st.booleans(), DAYS, st.none(),
                           st.lists(st.floats(), min_size=1, max_size=2)),
        "str": st.one_of(st.integers(), st.floats(), st.booleans(), DAYS, st.none(),
                         st.just("")),
        "day": st.one_of(
            st.integers(-2**40, 2**40),  # Unix times among them
            st.floats(allow_nan=False), st.booleans(), st.none(),
            DAYS.map(lambda d: d.strftime("%d/%m/%Y")),
            DAYS.map(lambda d: d.strftime("%Y%m%d")),
            st.datetimes(min_value=dt.datetime(1900, 1, 1)),
            TEXT.filter(lambda s: not _looks_iso(s)),
        ),
        "choice": TEXT.filter(lambda s: s not in typing.get_args(field.annotation)),
        "int-list": st.one_of(
            st.lists(st.integers(max_value=0), min_size=1, max_size=3),
            st.just([]), TEXT, st.integers(),
            st.lists(st.floats(allow_nan=False), min_size=1, max_size=3),
        ),
    }[kind]
    outside = []
    if kind in ("int", "float"):
        if lo is not None:
            below = st.integers(max_value=math.ceil(lo) - 1) if kind == "int" else \
                st.floats(max_value=lo, exclude_max=not lo_open, allow_nan=False)
            outside.append(below)
        if hi is not None:
            above = st.integers(min_value=math.floor(hi) + 1) if kind == "int" else \
                st.floats(min_value=hi, exclude_min=not hi_open, allow_nan=False)
            outside.append(above)
        if kind == "float":
            outside.append(st.just(math.nan))
    return st.one_of(wrong, *outside)


def _looks_iso(s: str) -> bool:
    try:
        dt.date.fromisoformat(s)
    except ValueError:
        return False
    return True


@PROPERTY
@given(data=st.data(), name=st.sampled_from(NAMES))
def test_invalid_values_are_refused_naming_the_key(tmp_path, data, name):
    schema = SCHEMAS[name]
    key = data.draw(st.sampled_from(list(schema.model_fields)), label="key")
    value = data.draw(invalid_value(schema.model_fields[key]), label="value")
    path = write(tmp_path, yaml.safe_dump({key: value}, allow_unicode=True))
    with pytest.raises(ParameterError) as err:
        load_params(path, name)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert key in message


def test_cohort_period_options_of_notebook_01():
    """``cohort_period`` week/month: only on an observed log, with ``holdout_periods``
    (``holdout_days`` counts days); ``holdout_periods`` is refused with daily cohorts."""
    from analysis.pipeline.params import ParameterError, validate_params

    log = {"source": "log.csv"}
    p = validate_params({**log, "cohort_period": "month", "holdout_periods": 3}, "01_retention")
    assert p.cohort_period == "month" and p.holdout == 3
    assert validate_params(log, "01_retention").holdout == 14  # holdout_days, days
    for values, message in [
        ({"cohort_period": "month", "holdout_periods": 3}, "needs an observed log"),
        ({**log, "cohort_period": "week"}, "give holdout_periods"),
        ({**log, "holdout_periods": 3}, "use holdout_days"),
        ({**log, "cohort_period": "year", "holdout_periods": 3}, "cohort_period"),
    ]:
        with pytest.raises(ParameterError, match=message):
            validate_params(values, "01_retention")
