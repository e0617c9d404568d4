"""A data profile of a table: Evidently's data summary report plus a small JSON-ready summary.

Column roles are declared, never guessed by Evidently: numeric columns (numbers, not booleans) as
numerical, the target and every other non-numeric, non-datetime column as categorical, the id column
as the id; the group column (``data.group_column``: which rows belong together, never a feature) for
its missing values only, as the id, and so a column that holds only missing values (an export's empty
column, which training.yaml's features.drop keeps from the model): it has nothing else to profile.
Large tables are profiled on a seeded sample whose size the summary states.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.features import is_numeric


@dataclass(frozen=True)
class DataProfile:
    """``html``: Evidently's standalone report; ``summary``: JSON-serializable key figures."""

    html: str
    summary: dict


def _column_roles(
    frame: pd.DataFrame, target: str, id_column: str | None, group_column: str | None = None
) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {
        "numeric": [],
        "categorical": [],
        "datetime": [],
        "empty": [],
        "duration": [],
    }
    for column in frame.columns:
        if column in (target, id_column, group_column):
            continue
        if frame[column].isna().all():
            roles["empty"].append(column)
        elif pd.api.types.is_timedelta64_dtype(frame[column]):  # a SQL interval: never a category
            roles["duration"].append(column)
        elif _holds_dates(frame[column]):
            roles["datetime"].append(column)
        elif is_numeric(frame[column]):
            roles["numeric"].append(column)
        else:
            roles["categorical"].append(column)
    roles["categorical"].append(target)
    return roles


def _holds_dates(series: pd.Series) -> bool:
    """Datetimes, or Python dates and datetimes (a SQL DATE column reads as ``datetime.date``
    objects: as a category Evidently failed on them, "ufunc 'isnan' not supported")."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("date", "datetime")


def _check_inputs(
    frame: pd.DataFrame, target: str, id_column: str | None, sample_rows: int, group_column: str | None = None
) -> None:
    missing = [c for c in (target, id_column, group_column) if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(
            f"cannot profile: column(s) {missing} not in the table (it has {list(frame.columns)}); "
            "pass the target, id and group column names of this table (None when it has none)"
        )
    if frame.empty:
        raise ValueError("cannot profile an empty table: it has no rows")
    if sample_rows < 1:
        raise ValueError(f"sample_rows must be a positive number of rows, got {sample_rows}")
    not_text = [c for c in frame.columns if not isinstance(c, str)]
    if not_text:
        raise ValueError(f"Evidently needs text column names; rename column(s) {not_text} to strings")


def _metric_values(snapshot_dict: dict, metric_type: str) -> dict[str | None, object]:
    """The values of every metric of ``metric_type`` (e.g. "MissingValueCount"), by column."""
    values: dict[str | None, object] = {}
    for metric in snapshot_dict["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").rsplit(":", 1)[-1] == metric_type:
            values[config.get("column")] = metric["value"]
    if not values:
        found = sorted({m.get("config", {}).get("type", "?") for m in snapshot_dict["metrics"]})
        raise RuntimeError(f"the Evidently report has no {metric_type} result; it has {found}")
    return values


def profile_dataset(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None,
    sample_rows: int = 50_000,
    seed: int = 0,
    group_column: str | None = None,
) -> DataProfile:
    """Profile ``frame`` with Evidently's ``DataSummaryPreset`` (on a seeded sample of at most
    ``sample_rows`` rows).

    ``summary`` holds ``rows`` and ``columns`` of the whole table, ``sampled_rows`` (rows profiled),
    ``missing_share`` per column, ``target_distribution`` (label -> share among rows with a label;
    labels as Evidently writes them in JSON), and the ``numeric_columns`` and
    ``categorical_columns`` declared to Evidently (the target is categorical; ``datetime_columns``
    and ``empty_columns``, those holding only missing values in the sample, and ``duration_columns``
    (a SQL interval) are profiled for missing values only, as the id and the ``group_column``).
    """
    _check_inputs(frame, target, id_column, sample_rows, group_column)
    # Imported here: importing evidently takes seconds, and only profiling needs it.
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MissingValueCount
    from evidently.presets import DataSummaryPreset

    sample = frame.sample(n=sample_rows, random_state=seed) if len(frame) > sample_rows else frame
    roles = _column_roles(sample, target, id_column, group_column)
    definition = DataDefinition(
        id_column=id_column,
        numerical_columns=roles["numeric"],
        categorical_columns=roles["categorical"],
        datetime_columns=roles["datetime"],
    )
    # The preset covers numeric and categorical columns; the id, group, datetime and empty columns get
    # their missing-value count on their own (the preset's min/max of a datetime fails in evidently
    # 0.7; of a column without values it divides by zero).
    only_missing = (id_column, group_column, *roles["datetime"], *roles["empty"], *roles["duration"])
    others = [c for c in dict.fromkeys(only_missing) if c is not None]
    report = Report([DataSummaryPreset(), *(MissingValueCount(column=c) for c in others)])
    snapshot = report.run(current_data=Dataset.from_pandas(sample, data_definition=definition))
    results = snapshot.dict()

    missing = _metric_values(results, "MissingValueCount")
    label_counts = _metric_values(results, "UniqueValueCount")[target]["counts"]
    # Evidently lists a missing label with count 0 and divides by all rows: keep the labels seen and
    # give each its share of the labelled rows.
    seen = {str(label): float(count) for label, count in label_counts.items() if count > 0}
    labelled = sum(seen.values())
    summary = {
        "rows": int(len(frame)),
        "columns": int(frame.shape[1]),
        "sampled_rows": int(_metric_values(results, "RowCount")[None]),
        "missing_share": {column: float(missing[column]["share"]) for column in frame.columns},
        "target_distribution": {label: count / labelled for label, count in seen.items()} if labelled else {},
        "numeric_columns": roles["numeric"],
        "categorical_columns": roles["categorical"],
        "datetime_columns": roles["datetime"],
        "empty_columns": roles["empty"],
        "duration_columns": roles["duration"],
    }
    return DataProfile(html=snapshot.get_html_str(as_iframe=False), summary=summary)
