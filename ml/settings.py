"""Validated settings: YAML files under configs/ parsed into frozen pydantic models.

Unknown keys are rejected (``extra="forbid"``) with the closest valid key suggested, so a typo in
a config file stops the run instead of being silently ignored.
"""

from __future__ import annotations

import contextlib
import difflib
import numbers
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ml import names

MetricName = Literal["precision", "recall", "f1", "roc_auc", "accuracy"]
ModelKind = Literal["lightgbm", "logistic_regression", "random_forest"]


M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid."""


# The name of an environment variable that holds a secret. Settings name the variable, never hold
# the value: they are step parameters, which ZenML records (and it expands ${VAR} in them into its
# records too), so a password in a URL or behind ${VAR} would end up in the ZenML store.
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoSettings(StrictModel):
    """The seeded generator of the demo customers + sales tables."""

    path: str = "data/demo.sqlite"
    customers: int = Field(10_000, ge=50, le=5_000_000)
    seed: int = 42
    drift: float = Field(0.0, ge=0.0, le=1.0, description="0 = training distribution, 1 = shifted")
    bias: float = Field(0.0, ge=0.0, le=1.0, description="share of good labels flipped for women")
    as_of: date = date(2026, 1, 1)


class CsvSettings(StrictModel):
    """How a CSV source is written (pandas' read_csv ``sep``, ``decimal``, ``thousands``,
    ``encoding``): a spreadsheet of a Spanish locale writes `1.234,56` separated by `;`, often in
    cp1252."""

    separator: str = Field(",", min_length=1, max_length=1, description="between fields, e.g. ';' or '\\t'")
    decimal: str = Field(".", min_length=1, max_length=1, description="in numbers, e.g. ',' for 16,99")
    thousands: str | None = Field(
        None, min_length=1, max_length=1, description="between thousands in numbers, e.g. '.' for 1.234,56"
    )
    encoding: str = Field("utf-8", description="of the file's text, e.g. latin-1 or cp1252")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; use e.g. utf-8, latin-1 or cp1252") from None
        return value

    @model_validator(mode="after")
    def _distinct(self) -> CsvSettings:
        if self.separator == self.decimal:
            raise ValueError(
                f"separator and decimal are both {self.separator!r}; a CSV with decimal ',' separates "
                "its fields with ';'"
            )
        if self.thousands is not None and self.thousands == self.decimal:  # as the separator: quoted
            raise ValueError(
                f"thousands and decimal are both {self.thousands!r}; 1.234,56 has thousands '.' and "
                "decimal ',', 1,234.56 thousands ',' and decimal '.'"
            )
        return self

    def read_options(self) -> dict[str, str | None]:
        return {
            "sep": self.separator,
            "decimal": self.decimal,
            "thousands": self.thousands,
            "encoding": self.encoding,
        }


YAML_BOOLEAN = (
    'YAML reads an unquoted yes, no, on, off, true or false as a boolean: write it in quotes, e.g. "yes"'
)


def number_text(value: object) -> str:
    """A number as the text of a category or label: 5, 5.0 and True read "5", "5" and "True"; 2.5
    "2.5" (the shortest text that reads back as the same float). A column of numbers declared
    categorical, a numeric target and a label or marker written as a YAML number all read so."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def _yaml_number_as_text(value: Any, how: str) -> Any:
    """A label or marker written as a YAML number (``1``, ``-1.0``) is its ``number_text``, as a
    column of numbers reads it; a YAML boolean cannot be told from yes, on or true."""
    if isinstance(value, bool):
        raise ValueError(f"{YAML_BOOLEAN}, {how}")
    return number_text(value) if isinstance(value, int | float) else value


class DataSettings(StrictModel):
    """Where the data comes from and which columns play which role."""

    source: Literal["demo", "csv", "parquet", "sql"] = "demo"
    path: str | None = None
    sql_url: str | None = None
    sql_query: str | None = None
    sql_password_env: str | None = Field(
        None, pattern=ENV_NAME, description="environment variable holding the password for sql_url"
    )
    target_column: str = names.TARGET
    positive_label: str = names.GOOD
    negative_label: str | None = Field(
        None,
        description="a target of more than two classes: every class but positive_label reads as this one "
        "(one against the rest); empty: the target has exactly two classes",
    )
    id_column: str | None = names.ID
    group_column: str | None = Field(
        None,
        description="rows sharing its value belong together (one person over years): kept in one split; "
        "never a feature",
    )
    sensitive_features: tuple[str, ...] = ("gender", "age")
    columns: dict[str, Literal["numeric", "categorical"]] = Field(
        default_factory=dict,
        description="optional declared feature types; a column that does not match stops the run",
    )
    missing_values: tuple[str, ...] = Field(
        (),
        description='values of the table that mean "not known", read as missing: text (e.g. "?", '
        '"unknown") in any column, a number (e.g. -1, 999) in numeric columns as well',
    )
    csv: CsvSettings = CsvSettings()
    demo: DemoSettings = DemoSettings()

    @field_validator("id_column", "group_column", "positive_label", "negative_label", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("positive_label", "negative_label", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        return _yaml_number_as_text(value, 'as the target column writes it (a column of booleans: "True")')

    @field_validator("missing_values", mode="before")
    @classmethod
    def _markers_as_text(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [_yaml_number_as_text(item, "as the table writes it") for item in value]
        return value

    @model_validator(mode="after")
    def _source_needs_its_fields(self) -> DataSettings:
        if self.source in ("csv", "parquet") and not self.path:
            raise ValueError(f"data.path is required when data.source is {self.source!r}")
        if self.source == "sql" and not (self.sql_url and self.sql_query):
            raise ValueError("data.sql_url and data.sql_query are required when data.source is 'sql'")
        if self.source == "demo" and (self.target_column, self.id_column) != (names.TARGET, names.ID):
            raise ValueError(
                f"the demo data has target column {names.TARGET!r} and id column {names.ID!r}; "
                f"got target_column={self.target_column!r}, id_column={self.id_column!r}"
            )
        if self.target_column in self.sensitive_features:
            raise ValueError(f"target column {self.target_column!r} cannot be a sensitive feature")
        if self.id_column and self.id_column in self.sensitive_features:
            raise ValueError(
                f"id column {self.id_column!r} cannot be a sensitive feature: it names one row, and the "
                "fairness gate compares groups of rows; name the columns that describe people (e.g. sex, age)"
            )
        if self.id_column in names.SCORE_VALUES:
            raise ValueError(
                f"id column {self.id_column!r} is also a column the scores table writes next to it "
                f"({', '.join(names.SCORE_VALUES)}), which keys its rows by the id column's name; rename "
                "the column in the table (or alias it in data.sql_query)"
            )
        if self.negative_label == self.positive_label:
            raise ValueError(
                f"negative_label {self.negative_label!r} is the positive_label: name the class every other "
                "reads as (e.g. 'other'), or leave it empty for a two-class target"
            )
        if self.group_column is not None and self.group_column == self.target_column:
            raise ValueError(f"target column {self.target_column!r} cannot be the group_column")
        return self


class CardSettings(StrictModel):
    """What the team writes on every model card (``python run.py card``); empty: "not provided"."""

    intended_use: str | None = None
    out_of_scope_uses: str | None = None
    limitations: str | None = None
    data_period: str | None = Field(None, description="the period the training data covers")


class ProjectSettings(StrictModel):
    """What the project is: rendered from the Copier answers into configs/project.yaml."""

    project_name: str = Field(min_length=1)
    model_name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,62}$")
    data: DataSettings = DataSettings()
    card: CardSettings = CardSettings()


class SplitSettings(StrictModel):
    test_size: float = Field(0.2, gt=0.0, lt=0.5)
    validation_size: float = Field(0.2, gt=0.0, lt=0.5)


class FeatureSettings(StrictModel):
    use_sensitive_features: bool = Field(
        False, description="feed the sensitive columns to the model (they are always used for fairness)"
    )
    drop: tuple[str, ...] = ()


class ModelSettings(StrictModel):
    kind: ModelKind = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)


class SearchSettings(StrictModel):
    """Hyperparameter candidates, each trained in its own step (side by side on a distributed
    orchestrator); the best on the validation split by the primary metric wins."""

    candidates: tuple[dict[str, Any], ...] = Field(
        default=({},),
        min_length=1,
        description="each: overrides of model.params, or another estimator ({kind: ..., its params})",
    )
    cv_below_rows: int = Field(
        5000,
        ge=0,
        description="train + validation rows below which candidates are compared by cross-validation",
    )
    cv_folds: int = Field(5, ge=2, le=20, description="stratified folds of that cross-validation")


class FairnessSettings(StrictModel):
    min_demographic_parity_ratio: float = Field(0.8, ge=0.0, le=1.0)
    max_equalized_odds_difference: float = Field(0.1, ge=0.0, le=1.0)
    min_group_size: int = Field(50, ge=1, description="smaller groups are reported, not judged")
    bins: dict[str, tuple[float, ...]] = Field(
        default_factory=lambda: {"age": (35.0, 50.0)},
        description="inner band edges of numeric sensitive columns; unlisted ones are cut in quartiles",
    )
    max_equal_opportunity_difference: float | None = Field(
        None, ge=0.0, le=1.0, description="optional: largest gap in true positive rate between groups"
    )
    bootstrap_samples: int = Field(
        1000,
        ge=0,
        le=100_000,
        description="resamples of the test split per disparity; 0: judge point estimates",
    )
    confidence: float = Field(0.9, gt=0.5, lt=1.0, description="level of each disparity's bootstrap interval")
    parity_when_unreachable: Literal["report", "judge"] = Field(
        "report",
        description="demographic parity when the groups' base rates already break it: report or block",
    )
    when_not_judged: Literal["report", "block"] = Field(
        "report",
        description="a sensitive column with fewer than two groups of min_group_size rows, or a disparity "
        "whose interval holds its limit: report it, or block promotion until the gate can judge it",
    )
    judge_intersection: bool = False
    mitigation: Literal["none", "threshold_optimizer"] = "threshold_optimizer"
    mitigation_constraint: Literal["demographic_parity", "equalized_odds"] = "equalized_odds"

    def disparity_limits(self) -> dict[str, float]:
        """The disparities the gate judges and each one's limit: the demographic parity ratio (a
        floor), the equalized odds difference and, when set, the equal opportunity difference
        (ceilings)."""
        limits = {
            "demographic_parity_ratio": self.min_demographic_parity_ratio,
            "equalized_odds_difference": self.max_equalized_odds_difference,
        }
        if self.max_equal_opportunity_difference is not None:
            limits["equal_opportunity_difference"] = self.max_equal_opportunity_difference
        return limits


class PromotionSettings(StrictModel):
    """The quality gates read what transfers from one table to another: how much better than always
    answering positive the primary metric is (lift; for precision that baseline is the base rate),
    and ROC AUC (0.5 is chance whatever the base rate). An absolute floor is optional."""

    min_test_rows: int | None = Field(
        100, ge=1, description="fewest test-split rows a model's metrics may be measured on to pass"
    )
    min_metric_support: int | None = Field(
        30,
        ge=1,
        description="fewest test rows the primary metric may rest on to pass (precision: positive decisions)",
    )
    min_lift: float | None = Field(
        1.1, ge=1.0, description="primary metric / the always-positive baseline's on the test split"
    )
    min_roc_auc: float | None = Field(0.6, ge=0.5, le=1.0, description="ranking quality on the test split")
    min_primary_metric: float | None = Field(
        None, ge=0.0, le=1.0, description="optional absolute floor on the test split (tuned to one table)"
    )
    max_single_feature_roc_auc: float | None = Field(
        0.999,
        gt=0.5,
        le=1.0,
        description="one feature alone ranking the test split this well stops promotion: target leakage?",
    )
    max_mitigation_loss: float | None = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="share of the plain model's primary metric a fairness-mitigated model may lose",
    )
    tolerance: float = Field(
        0.005, ge=0.0, le=1.0, description="a candidate may trail production by this much and still win"
    )


class RetrySettings(StrictModel):
    """How often a failing step is run again (ZenML StepRetryConfig) before the run fails."""

    max_retries: int = Field(0, ge=0, le=10, description="0: a failing step fails the run at once")
    delay_seconds: int = Field(5, ge=0, le=3600, description="wait before the first retry")
    backoff: int = Field(2, ge=1, le=10, description="the wait is multiplied by this after each retry")


class DaskSettings(StrictModel):
    """Where `engine: dask` runs: an existing Dask scheduler, or a LocalCluster started per run."""

    scheduler_address: str | None = Field(
        None,
        description="tcp://host:port of a running Dask scheduler; empty: DASK_SCHEDULER_ADDRESS, else a "
        "LocalCluster on 127.0.0.1",
    )
    workers: int = Field(2, ge=1, le=256, description="LocalCluster only: single-threaded worker processes")
    partition_rows: int = Field(
        100_000,
        ge=1,
        description="demo and SQL sources, training matrix: rows per partition; a Parquet folder: "
        "neighbouring small files read together up to this many rows (and 64 MB)",
    )
    connect_timeout_seconds: float = Field(10.0, gt=0.0, le=600.0, description="wait for the scheduler")
    dashboard_address: str | None = Field(
        None,
        description="LocalCluster only: serve Dask's dashboard at host:port (e.g. 127.0.0.1:8787) while "
        "the run lasts; empty: no dashboard, and the workers do not sample their own profiles for it",
    )


class TrainingDaskSettings(DaskSettings):
    """``training.dask``: the cluster, and how much of the table comes back to the pipeline."""

    holdout_rows: int = Field(
        50_000,
        ge=100,
        description="rows of each split brought back from the cluster: the validation and test holdouts "
        "the pipeline evaluates, judges and explains on, and the train sample the preprocessing is "
        "fitted on; each a seeded uniform sample of its split (all of it when smaller)",
    )


class TrainingSettings(StrictModel):
    """configs/training.yaml: everything the training pipeline may vary."""

    seed: int = 42
    enable_cache: bool = True
    primary_metric: MetricName = "precision"
    decision_threshold: float | Literal["max_f1"] = Field(
        0.5,
        description="a row is labelled positive when its probability is at least this; max_f1: the "
        "threshold of each candidate with the best F1 on the rows it is selected on (the validation "
        "split, or its cross-validation folds), recorded in the release",
    )
    split: SplitSettings = SplitSettings()
    features: FeatureSettings = FeatureSettings()
    model: ModelSettings = ModelSettings()
    search: SearchSettings = SearchSettings()
    fairness: FairnessSettings = FairnessSettings()
    promotion: PromotionSettings = PromotionSettings()
    retry: RetrySettings = RetrySettings()
    engine: Literal["pandas", "dask"] = Field(
        "pandas",
        description="pandas: load, split and fit in the steps' processes; dask: the table read, split and "
        "LightGBM fitted (lightgbm.dask) on a Dask cluster (training.dask), partition by partition, "
        "registered as the ordinary LGBMClassifier it gives back",
    )
    dask: TrainingDaskSettings = TrainingDaskSettings()

    @field_validator("decision_threshold", mode="before")
    @classmethod
    def _threshold_or_max_f1(cls, value: object) -> object:
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if value == "max_f1" or (number and 0.0 < float(value) < 1.0):
            return value
        raise ValueError(
            f"decision_threshold must be a probability between 0 and 1 (exclusive), e.g. 0.5, or max_f1 "
            f"(the threshold with the best F1 on the validation split, chosen per model); got {value!r}"
        )

    @field_validator("engine")
    @classmethod
    def _dask_trains_lightgbm(cls, engine: str, info: ValidationInfo) -> str:
        model = info.data.get("model")
        if engine == "dask" and model is not None and model.kind != "lightgbm":
            raise ValueError(
                f"engine 'dask' trains LightGBM only (lightgbm.dask), but model.kind is {model.kind!r}; "
                "set engine: pandas to train it in one process, or model.kind: lightgbm"
            )
        search = info.data.get("search")
        others = [
            f"search.candidates[{i}] (kind {c['kind']!r})"
            for i, c in enumerate(search.candidates if search is not None else ())
            if c.get("kind", "lightgbm") != "lightgbm"
        ]
        if engine == "dask" and others:
            raise ValueError(
                f"engine 'dask' trains LightGBM only (lightgbm.dask), but {', '.join(others)} name another "
                "estimator; remove those candidates (the shipped linear baseline is for tables one process "
                "holds) or set engine: pandas"
            )
        return engine


def _closest(key: str, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Suggest the valid key nearest to an unknown one (walks the model along ``loc``)."""
    fields: dict[str, Any] = model.model_fields
    for part in loc[:-1]:
        annotation = fields.get(part).annotation if part in fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        fields = annotation.model_fields
    match = difflib.get_close_matches(key, list(fields), n=1)
    return f"; did you mean {match[0]!r}?" if match else f"; valid keys: {', '.join(fields)}"


def format_validation_error(source: str, error: ValidationError, model: type[BaseModel]) -> str:
    lines = [f"{source} is invalid:"]
    for item in error.errors():
        loc = tuple(item["loc"])
        where = ".".join(str(part) for part in loc) or "<root>"
        if item["type"] == "extra_forbidden":
            hint = _closest(str(loc[-1]), model, loc)
            lines.append(f"  - {where}: unknown key{hint}")
        else:
            got = item.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"  - {where}: {item['msg']}{shown}{_quoting_hint(item['type'], got)}")
    return "\n".join(lines)


def _quoting_hint(kind: str, got: Any) -> str:
    """Text that YAML read as another type (``yes``, ``on``, ``1``, ``2024-01-31``): quote it."""
    if kind != "string_type" or isinstance(got, dict | list | type(None)):
        return ""
    if isinstance(got, bool):
        return f"; {YAML_BOOLEAN}"
    kind = "a number" if isinstance(got, int | float) else f"a {type(got).__name__}"
    return f'; YAML read it as {kind}: write it in quotes for text, e.g. "{got}"'


def check_engine(data: DataSettings, engine: str, field: str) -> None:
    """A Dask engine (``field`` names the setting) over the user's own table needs its id column:
    the partitions' rows have no other common id. Checked before any run or cluster starts."""
    if engine == "dask" and data.source != "demo" and not data.id_column:
        raise ConfigError(
            f"{field} 'dask' needs data.id_column: rows of different partitions have no other common id;"
            " name the table's id column in configs/project.yaml, or set"
            f" {field}: pandas to read the table in one process"
        )


def load_settings(path: str | Path, model: type[M]) -> M:
    """Read a YAML file into ``model``; raise ConfigError naming the file, key and value."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; create it or pass an existing path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc, model)) from None


class CanarySettings(StrictModel):
    version: int | None = Field(None, ge=1, description="ZenML model version answering a share of requests")
    share: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _share_needs_a_version(self) -> CanarySettings:
        if self.share > 0 and self.version is None:
            raise ValueError(f"canary.share is {self.share} but canary.version is not set")
        return self


class ContainerSettings(StrictModel):
    """How `runtime: container` builds and runs the Bento's image."""

    engine: Literal["podman", "docker"] = Field(
        "podman",
        description="podman (the project's own engine: stacks/containers.py) or docker (DOCKER_HOST)",
    )
    base_image: str | None = Field(
        None,
        description="the image the Bento's image starts from (Python 3.11 with pip); empty: BentoML's "
        "default (python:3.11-slim)",
    )


HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = rf"(?=.{{1,253}}$){HOST_LABEL}(\.{HOST_LABEL})*"  # RFC 1123


class ServingSettings(StrictModel):
    """configs/serving.yaml: the deployment pipeline and the Bento HTTP server."""

    runtime: Literal["process", "container"] = Field(
        "process", description="process: `bentoml serve` here; container: the Bento's image, host network"
    )
    container: ContainerSettings = ContainerSettings()

    host: str = Field(
        "127.0.0.1", description="the address it listens on: 127.0.0.1 this machine only, 0.0.0.0 or :: all"
    )
    port: int = Field(3000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    timeout_seconds: float = Field(30, ge=1, le=3600, description="per request; a slower one gets HTTP 504")
    max_batch_size: int = Field(1000, ge=1, le=100_000)
    max_request_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, le=1 << 30, description="larger request bodies get HTTP 413"
    )
    ready_timeout_seconds: float = Field(120, gt=0, le=3600)
    smoke_rows: int = Field(20, ge=1, le=10_000)
    range_margin: float = Field(
        0.5, ge=0, le=1000, description="numbers accepted beyond their training range, in multiples of it"
    )
    canary: CanarySettings = CanarySettings()

    @field_validator("host")
    @classmethod
    def _an_address_or_a_name(cls, value: str) -> str:
        import ipaddress

        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(value))
        if re.fullmatch(HOST_NAME, value):
            return value
        raise ValueError(
            f"host must be an IP address or a host name to listen on: 127.0.0.1 (this machine only), "
            f"0.0.0.0 or :: (every interface), ::1, localhost; got {value!r} (no scheme, no port: that is "
            "`port`)"
        )


CRON_FIELD = r"[0-9A-Za-z*/,?-]+"


class ScheduleSettings(StrictModel):
    """When a nightly pipeline runs on an orchestrator that schedules (`run.py score --schedule`)."""

    cron: str = Field(
        ...,
        pattern=rf"^{CRON_FIELD}( {CRON_FIELD}){{4}}$",
        description="five-field cron expression (minute hour day-of-month month day-of-week), UTC",
    )


TABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,62}"  # unquoted in SQLite and PostgreSQL (63: its limit)


class ScoringSettings(StrictModel):
    """configs/scoring.yaml: the nightly batch scoring pipeline."""

    engine: Literal["pandas", "dask"] = Field(
        "pandas", description="pandas: one process holds the batch; dask: partitions on a Dask cluster"
    )
    dask: DaskSettings = DaskSettings()

    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the scores database; empty: SQLite in the state dir"
    )
    database_password_env: str | None = Field(
        None, pattern=ENV_NAME, description="environment variable holding the password for database_url"
    )
    table: str = Field(
        "customer_scores",
        description="the scores table: one name, in the database's default schema",
        json_schema_extra={"pattern": TABLE_NAME},
    )
    drift: float = Field(0.0, ge=0.0, le=1.0, description="demo source only: shift of the scored customers")
    customers: int | None = Field(None, ge=1, description="demo source only: how many customers to score")
    schedule: ScheduleSettings = ScheduleSettings(cron="0 2 * * *")

    @field_validator("table")
    @classmethod
    def _one_table_name(cls, value: str) -> str:
        if re.fullmatch(TABLE_NAME, value):
            return value
        schema, dot, table = value.partition(".")
        if dot and re.fullmatch(TABLE_NAME, schema) and re.fullmatch(TABLE_NAME, table):
            raise ValueError(
                f"table {value!r} names a schema: table is the table's name alone ({table!r}); put the"
                f" schema in database_url, PostgreSQL's search path: ...?options=-csearch_path%3D{schema}"
                " (create the schema first; the scores table and its staging tables go there)"
            )
        raise ValueError(
            f"table {value!r} is not a table name this project writes: letters, digits and _, starting"
            " with a letter or _, at most 63 characters (e.g. customer_scores)"
        )


class MonitoringThresholds(StrictModel):
    drift_share: float = Field(0.3, ge=0.0, le=1.0, description="share of drifted feature columns")
    fairness: bool = Field(
        True,
        description="alert when the release's fairness gate, judged on the window's live labelled rows, "
        "finds a disparity beyond its limit (false: reported, not judged)",
    )
    prediction_drift: bool = Field(True, description="alert when the prediction distribution drifted")
    max_metric_drop: float | None = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="the release's primary metric on live labelled rows may fall this far below its "
        "test-split value (any table)",
    )
    min_metric: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="optional absolute floor on the live primary metric (tuned to one table)",
    )
    min_metric_support: int | None = Field(
        30,
        ge=1,
        description="fewest rows the live metric must rest on to be judged (precision: positive decisions)",
    )
    p99_latency_ms: float = Field(250.0, gt=0.0, description="serving latency, 99th percentile")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, raw: Any) -> Any:
        renamed = {"max_precision_drop": "max_metric_drop", "min_precision": "min_metric"}
        old = [key for key in renamed if isinstance(raw, dict) and key in raw]
        if old:
            keys = ", ".join(f"{key}: {raw[key]!r} -> {renamed[key]}" for key in old)
            raise ValueError(
                f"{keys}: renamed, because the live check now judges the release's primary "
                "metric (training.primary_metric when it was trained, precision by default), not always "
                "precision; rename the key(s) in configs/monitoring.yaml"
            )
        return raw


class WebhookSettings(StrictModel):
    format: Literal["slack", "teams"] = "slack"
    env: str = Field("ALERT_WEBHOOK_URL", pattern=ENV_NAME, description="env var with the URL")
    secret: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="ZenML secret whose key 'url' holds the URL; used when the env var is unset",
    )
    dry_run: bool = Field(False, description="write payloads to <state>/alerts/ instead of posting")
    attempts: int = Field(3, ge=1, le=10)


class MonitoringSettings(StrictModel):
    """configs/monitoring.yaml: drift and decay checks, alerts, the retraining loop."""

    engine: Literal["pandas", "dask"] = Field(
        "pandas",
        description="pandas: one process reads and scores the window; dask: partitions on the scoring "
        "cluster (configs/scoring.yaml dask), a seeded sample drawn across them",
    )
    sample_rows: int = Field(
        20_000, ge=100, description="rows of each window given to Evidently and to the live fairness check"
    )
    thresholds: MonitoringThresholds = MonitoringThresholds()
    retention_days: int = Field(90, ge=1, description="inference-log rows older than this are purged")
    price_per_cpu_hour: float = Field(0.05, ge=0.0, description="for the cost per 1,000 predictions")
    webhook: WebhookSettings = WebhookSettings()
    retrain: bool = Field(True, description="launch the training pipeline when a threshold is breached")
    schedule: ScheduleSettings = ScheduleSettings(cron="30 2 * * *")
