"""Typed parameter schemas for the notebooks, checked before any kernel starts.

Each notebook ``notebooks/NN_name.ipynb`` has one cell tagged ``parameters``; its
parameter sets live in ``params/*.yaml``. :func:`load_params` reads a YAML file and
validates it against the notebook's schema (a pydantic model registered in
:data:`SCHEMAS`): an unknown key, a wrong type or an impossible value raises
:class:`ParameterError` naming the file, the key and what was expected. So do an empty
file (write ``{}`` to mean "every default"), a key given twice (both lines named) and a
date written as anything but a YAML date or an ISO string ``YYYY-MM-DD`` (an integer
such as a Unix time ``1735689600`` is refused, not read as a timestamp).

To add a parameter: add a field to the notebook's model here, a default in the
notebook's ``parameters`` cell, and (optionally) a value in its YAML files. The runner
refuses a notebook whose ``parameters`` cell and schema disagree.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

PROVIDERS = Literal["Sensor Tower", "Similarweb", "QuestMobile", "AppGrowing"]
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_EXPECTED = "a YAML date (2025-01-31) or an ISO string 'YYYY-MM-DD'"


def _day(value) -> date:
    """A calendar day from a YAML date or an ISO string "YYYY-MM-DD"; nothing else.

    pydantic's lax date parsing would also take 1735689600 (a Unix time), "20250101",
    2025-01-31T10:00 (a time dropped) and, through ``date.fromisoformat``, "2025-W05-5".
    """
    if isinstance(value, datetime):
        raise PydanticCustomError("day_type", "a date without a time of day: expected "
                                  + _DAY_EXPECTED)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("day_value", "no such calendar day: expected "
                                      + _DAY_EXPECTED) from None
    raise PydanticCustomError("day_type", "expected " + _DAY_EXPECTED)


#: A calendar day: a YAML date or an ISO string "YYYY-MM-DD" (nothing else).
Day = Annotated[date, PlainValidator(_day), PlainSerializer(date.isoformat, when_used="json")]


class ParameterError(ValueError):
    """A parameter file does not match its notebook's schema."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that gives a key twice.

    PyYAML keeps the last value silently; a parameter file that sets ``seed`` twice is
    almost always an edit that went wrong, so both lines are named.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                mark = key_node.start_mark
                try:
                    if key in seen:
                        raise _DuplicateKey(key, seen[key], mark)
                    seen[key] = mark
                except TypeError:  # an unhashable key; the base class reports it
                    continue
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key, first, second):
        super().__init__(key)
        self.key = key
        same_line = first.line == second.line
        self.first, self.second = (
            f"line {m.line + 1}" + (f", column {m.column + 1}" if same_line else "")
            for m in (first, second)
        )


class NotebookParams(BaseModel):
    """Base of every notebook's parameters: unknown keys and type coercion refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourcesParams(NotebookParams):
    """``00_sources``: the published figures, the episode timeline, provider gaps."""

    entity: str = Field("RedNote", min_length=1, description="entity of the timeline")
    market: str = Field("US", min_length=1, description="market code of the timeline")
    episode_start: Day = Field(date(2025, 1, 1), description="first day of the timeline")
    episode_end: Day = Field(date(2025, 3, 31), description="last day of the timeline")
    surge_start: Day = Field(date(2025, 1, 13), description="first day of the influx")
    reference_provider: PROVIDERS = "Sensor Tower"
    other_provider: PROVIDERS = "Similarweb"
    figure_dpi: int = Field(150, ge=50, le=600, description="resolution of figures")

    @model_validator(mode="after")
    def _ordered(self):
        if self.episode_end <= self.episode_start:
            raise ValueError("episode_end must be after episode_start")
        if not self.episode_start <= self.surge_start <= self.episode_end:
            raise ValueError("surge_start must lie between episode_start and episode_end")
        if self.reference_provider == self.other_provider:
            raise ValueError("reference_provider and other_provider must differ")
        return self


class PanelParams(NotebookParams):
    """Parameters shared by notebooks that read the simulated activity panel."""

    market: str = Field("US", min_length=1, description="market of the panel")
    scale: float = Field(0.01, gt=0, le=1, description="fraction of the real user base")
    seed: int = Field(20250119, ge=0, description="seed of the simulated panel")
    figure_dpi: int = Field(150, ge=50, le=600, description="resolution of figures")


class LogParams(NotebookParams):
    """Where the activity log comes from: the simulated panel or an analyst's own log.

    ``source: simulated`` (the default) is the calibrated panel; anything else is a path,
    glob or directory of Parquet or CSV files, or a DuckDB database file with ``table``,
    read by :func:`analysis.data.events.read_event_log` with the column mapping below
    (relative paths are relative to the working directory of the run). ``scale`` and
    ``seed`` only apply to the simulated panel.
    """

    source: str = Field("simulated", min_length=1,
                        description="'simulated' or a path / glob / directory of the log")
    user_column: str = Field("user_id", min_length=1, description="column of user ids")
    time_column: str = Field("event_date", min_length=1, description="column of event times")
    market_column: str | None = Field(None, min_length=1, description="column of markets (optional)")
    install_column: str | None = Field(None, min_length=1, description="column of install times (optional)")
    time_format: str | None = Field(None, min_length=1, description="strptime codes or epoch_* for times")
    timezone: str | None = Field(None, min_length=1, description="IANA zone in which days are counted")
    table: str | None = Field(None, min_length=1, description="table of a DuckDB database source")
    as_of: Day | None = Field(None, description="end of the observation window")

    @property
    def observed(self) -> bool:
        return self.source != "simulated"

    @model_validator(mode="after")
    def _log_options(self):
        if not self.observed:
            mapped = [k for k in ("market_column", "install_column", "time_format", "timezone",
                                  "table", "as_of") if getattr(self, k) is not None]
            if mapped:
                raise ValueError(f"{', '.join(mapped)} only apply to an observed log; set "
                                 f"source to its path (source is 'simulated')")
        return self


class RetentionParams(PanelParams, LogParams):
    """``01_retention``: retention curves of the January arrivals (or of an observed log)."""

    cohort_start: Day = Field(date(2025, 1, 13), description="first arrival day studied")
    cohort_end: Day = Field(date(2025, 1, 19), description="last arrival day studied")
    definition: Literal["classic", "unbounded"] = "unbounded"
    holdout_days: int = Field(14, ge=1, le=120, description="days held out for model choice")
    horizons: list[int] = Field([30, 90, 180, 365], min_length=1,
                                description="ages at which retention is projected, in "
                                "cohort_period units (days by default)")
    cohort_period: Literal["day", "week", "month"] = Field(
        "day", description="cohorts of an observed log by day, week (from Monday) or month; "
        "ages, holdout and horizons are counted in that unit")
    holdout_periods: int | None = Field(None, ge=1, le=120, description="weeks or months "
                                        "held out for model choice (cohort_period week/month)")

    @model_validator(mode="after")
    def _ordered(self):
        if self.cohort_end < self.cohort_start:
            raise ValueError("cohort_end must not be before cohort_start")
        if any(h <= 0 for h in self.horizons):
            raise ValueError(f"horizons must be positive numbers of {self.cohort_period}s")
        if self.cohort_period != "day":
            if not self.observed:
                raise ValueError(f"cohort_period {self.cohort_period!r} needs an observed log "
                                 "(the simulated panel is studied in daily cohorts); set "
                                 "source to its path, or cohort_period to 'day'")
            if self.holdout_periods is None:
                raise ValueError(f"with cohort_period {self.cohort_period!r} give "
                                 f"holdout_periods, the {self.cohort_period}s held out for "
                                 f"model choice (holdout_days counts days)")
        elif self.holdout_periods is not None:
            raise ValueError("holdout_periods applies to cohort_period week or month; with "
                             "daily cohorts use holdout_days")
        return self

    @property
    def holdout(self) -> int:
        """Periods held out: ``holdout_days`` for daily cohorts, else ``holdout_periods``."""
        return self.holdout_days if self.cohort_period == "day" else self.holdout_periods


class ForecastParams(PanelParams, LogParams):
    """``02_dau_forecast``: DAU forecasts under scenarios, with backtests (or, on an
    observed log, the statistical forecasts and their backtests)."""

    forecast_start: Day = Field(date(2025, 3, 1), description="first forecast day")
    horizon_days: int = Field(180, ge=1, le=730, description="days forecast")
    scenario: Literal["fading", "renewed_shock", "no_influx"] = "fading"
    interval_level: float = Field(0.8, gt=0, lt=1, description="prediction interval level")
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="engine counting an observed log's DAU: 'spark' reads source "
        "as a table of the Spark session's catalog or a Parquet/CSV path Spark reads")

    @model_validator(mode="after")
    def _spark_source(self):
        if self.engine == "spark":
            if not self.observed:
                raise ValueError("engine 'spark' needs an observed log: set source to a "
                                 "Spark table name or a path Spark can read")
            unsupported = [k for k in ("install_column", "time_format", "timezone", "table")
                           if getattr(self, k) is not None]
            if unsupported:
                raise ValueError(
                    f"{', '.join(unsupported)} not supported with engine 'spark': give the "
                    "table a DATE or TIMESTAMP time column (a view in the Spark catalog "
                    "can cast it) and map the columns with user_column, time_column and "
                    "market_column")
        return self


class AdoptionParams(NotebookParams):
    """``03_merchant_adoption``: diffusion of merchants into the cross-border programme
    (or of the adoptions in an analyst's own table).

    ``merchant_source: simulated`` (the default) is the simulated programme; anything
    else is a path, glob or directory of Parquet or CSV files, or a DuckDB database file
    with ``table``, holding one row per merchant opt-in, read by
    :func:`analysis.data.adoptions.read_opt_ins` with the column mapping below (a
    merchant's earliest row is its adoption). ``effort_source`` (optional, observed
    data only) is an effort series -- ad spend per day or period -- for the Generalized
    Bass model. ``effort_scenario`` only applies to the simulation; ``seed`` seeds the
    simulation and the bootstraps.
    """

    market: str = Field("all", min_length=1, description="'all' or one market")
    period_unit: Literal["week", "month"] = "week"
    holdout_periods: int = Field(4, ge=1, le=52, description="periods held out")
    effort_scenario: Literal["continue", "stop_ads"] = "stop_ads"
    seed: int = Field(20250301, ge=0, description="seed of the simulated merchants")
    bootstrap_draws: int = Field(200, ge=0, le=10000, description="bootstrap replicates")
    figure_dpi: int = Field(150, ge=50, le=600, description="resolution of figures")
    merchant_source: str = Field("simulated", min_length=1,
                                 description="'simulated' or a path / glob / directory of opt-ins")
    merchant_column: str = Field("merchant_id", min_length=1, description="column of merchant ids")
    time_column: str = Field("opt_in_date", min_length=1, description="column of opt-in times")
    market_column: str | None = Field(None, min_length=1, description="column of markets (optional)")
    time_format: str | None = Field(None, min_length=1, description="strptime codes or epoch_* for times")
    timezone: str | None = Field(None, min_length=1, description="IANA zone in which days are counted")
    table: str | None = Field(None, min_length=1, description="table of a DuckDB database source")
    as_of: Day | None = Field(None, description="end of the observation window")
    adoption_label: str | None = Field(None, min_length=1,
                                       description="what the adoption events are, for sentences")
    effort_source: str | None = Field(None, min_length=1,
                                      description="path of an effort series (ad spend per period)")
    effort_time_column: str = Field("date", min_length=1, description="column of effort times")
    effort_column: str = Field("effort", min_length=1, description="column of effort values")
    effort_time_format: str | None = Field(None, min_length=1, description="strptime codes of effort times")
    effort_table: str | None = Field(None, min_length=1, description="table of a DuckDB effort source")

    _OBSERVED_ONLY = ("merchant_column", "time_column", "market_column", "time_format",
                      "timezone", "table", "as_of", "adoption_label", "effort_source",
                      "effort_time_column", "effort_column", "effort_time_format",
                      "effort_table")
    _EFFORT_ONLY = ("effort_time_column", "effort_column", "effort_time_format", "effort_table")

    @property
    def observed(self) -> bool:
        return self.merchant_source != "simulated"

    @model_validator(mode="after")
    def _source_options(self):
        given = self.model_fields_set
        if not self.observed:
            mapped = [k for k in self._OBSERVED_ONLY if k in given]
            if mapped:
                raise ValueError(f"{', '.join(mapped)} only apply to an observed opt-in "
                                 f"table; set merchant_source to its path (merchant_source "
                                 f"is 'simulated')")
            if self.market not in ("US", "HK", "MO", "all"):
                raise ValueError(f"market {self.market!r}: the simulated markets are 'US', "
                                 f"'HK', 'MO' or 'all'")
        else:
            if "effort_scenario" in given:
                raise ValueError("effort_scenario only applies to the simulated merchants "
                                 "(merchant_source is an observed table); give observed ad "
                                 "spend as effort_source")
            if self.effort_source is None:
                extra = [k for k in self._EFFORT_ONLY if k in given]
                if extra:
                    raise ValueError(f"{', '.join(extra)} only apply to an effort series; "
                                     f"set effort_source to its path")
        return self


#: Notebook name (file stem) → its parameter schema.
SCHEMAS: dict[str, type[NotebookParams]] = {
    "00_sources": SourcesParams,
    "01_retention": RetentionParams,
    "02_dau_forecast": ForecastParams,
    "03_merchant_adoption": AdoptionParams,
}


def schema_for(notebook: str | Path) -> type[NotebookParams]:
    name = Path(notebook).stem
    try:
        return SCHEMAS[name]
    except KeyError:
        raise ParameterError(
            f"no parameter schema is registered for notebook {name!r}; "
            f"add one to analysis.pipeline.params.SCHEMAS (known: {', '.join(sorted(SCHEMAS))})"
        ) from None


def _describe(error: dict, schema: type[NotebookParams]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(file)"
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(schema.model_fields)
        return f"key '{key}': unknown key (allowed keys: {allowed})"
    if not error["loc"]:
        return f"{error['msg'].removeprefix('Value error, ')}"
    field = schema.model_fields.get(str(error["loc"][0]))
    expected = ""
    if error["type"].startswith("day_"):  # the message already says what is expected
        pass
    elif field is not None and field.annotation is not None:
        expected = f"; expected {getattr(field.annotation, '__name__', field.annotation)}"
    return f"key '{key}': {error['msg']}{expected} (got {error['input']!r})"


def validate_params(values: dict, notebook: str | Path, source: str = "<parameters>"):
    """Validate a mapping of parameters for a notebook; returns the model instance."""
    schema = schema_for(notebook)
    if not isinstance(values, dict):
        raise ParameterError(f"{source}: expected a mapping of key: value pairs, "
                             f"got {type(values).__name__}")
    try:
        return schema.model_validate(values)
    except ValidationError as err:
        problems = "\n".join(f"  - {_describe(e, schema)}" for e in err.errors())
        raise ParameterError(f"{source}: invalid parameters for notebook "
                             f"{Path(notebook).stem!r}\n{problems}") from None


def load_params(path: str | Path, notebook: str | Path) -> NotebookParams:
    """Read a YAML parameter file and validate it against the notebook's schema."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: no such parameter file")
    try:
        # A SafeLoader subclass: only plain YAML types are built, as with safe_load.
        values = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except _DuplicateKey as dup:
        raise ParameterError(f"{path}: key '{dup.key}' is given twice, at {dup.first} "
                             f"and at {dup.second}; keep one of them") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParameterError(f"{path}: not valid YAML{where}: "
                             f"{getattr(err, 'problem', err)}") from None
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise ParameterError(f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02X} "
                             f"at line {line}); save the file as UTF-8") from None
    if values is None:
        raise ParameterError(f"{path}: the parameter file is empty (or only comments); "
                             f"give the parameters as 'key: value' lines, or write {{}} "
                             f"to use every default of notebook {Path(notebook).stem!r}")
    return validate_params(values, notebook, source=str(path))
