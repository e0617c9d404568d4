"""Schema checks on entry: stop early with the column, the value and what was expected."""

from __future__ import annotations

import pandas as pd

from ml import names
from ml.features import is_numeric
from ml.settings import DataSettings

# The demo tables' contract: column -> "numeric" | "categorical" | "datetime" | "boolean".
DEMO_SCHEMA: dict[str, dict[str, str]] = {
    names.CUSTOMERS_TABLE: {
        names.ID: "numeric",
        "gender": "categorical",
        "age": "numeric",
        "region": "categorical",
        "segment": "categorical",
        "signup_channel": "categorical",
        "tenure_months": "numeric",
        "annual_income": "numeric",
        names.TARGET: "categorical",
    },
    names.SALES_TABLE: {
        "sale_id": "numeric",
        names.ID: "numeric",
        "sale_date": "datetime",
        "amount": "numeric",
        "channel": "categorical",
        "returned": "boolean",
        "days_late": "numeric",
    },
}


class DataValidationError(ValueError):
    """Input data does not match what the pipeline expects."""


def _kind_matches(series: pd.Series, kind: str) -> bool:
    if kind == "numeric":
        return is_numeric(series)
    if kind == "datetime":
        return pd.api.types.is_datetime64_any_dtype(series)
    if kind == "boolean":
        return pd.api.types.is_bool_dtype(series) or set(series.dropna().unique()) <= {0, 1}
    return not is_numeric(series) or series.dropna().nunique() <= 50


def check_columns(frame: pd.DataFrame, expected: dict[str, str], table: str) -> None:
    """Raise when a column is missing or holds the wrong kind of values."""
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise DataValidationError(
            f"table {table!r} is missing column(s) {missing}; it has {list(frame.columns)}"
        )
    for column, kind in expected.items():
        if not _kind_matches(frame[column], kind):
            raise DataValidationError(
                f"column {column!r} of table {table!r} should be {kind}, "
                f"but has dtype {frame[column].dtype} (e.g. {frame[column].dropna().head(3).tolist()})"
            )


def validate_demo_tables(customers: pd.DataFrame, sales: pd.DataFrame) -> None:
    for table, frame in ((names.CUSTOMERS_TABLE, customers), (names.SALES_TABLE, sales)):
        if frame.empty:
            raise DataValidationError(f"table {table!r} is empty; regenerate the demo data")
        check_columns(frame, DEMO_SCHEMA[table], table)


def validate_training_table(frame: pd.DataFrame, data: DataSettings, table: str = "input") -> str:
    """Check the flat training table; return the negative label (the target's other class)."""
    if frame.empty:
        raise DataValidationError(f"table {table!r} is empty: no rows to train on")
    required = [data.target_column, *data.sensitive_features]
    if data.id_column:
        required.append(data.id_column)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise DataValidationError(
            f"table {table!r} is missing column(s) {missing} named in configs/project.yaml; "
            f"it has {list(frame.columns)}"
        )
    check_columns(frame, dict(data.columns), table)
    empty = [column for column in frame.columns if frame[column].isna().all()]
    if empty:
        raise DataValidationError(
            f"column(s) {empty} of table {table!r} hold only missing values; "
            "fill them or list them under features.drop in configs/training.yaml"
        )
    if data.id_column and frame[data.id_column].duplicated().any():
        dupes = frame.loc[frame[data.id_column].duplicated(), data.id_column].head(3).tolist()
        raise DataValidationError(
            f"id column {data.id_column!r} has duplicate values (e.g. {dupes}); ids must be unique"
        )
    classes = sorted(frame[data.target_column].dropna().astype(str).unique())
    if str(data.positive_label) not in classes:
        raise DataValidationError(
            f"target column {data.target_column!r} has no row with the positive label "
            f"{data.positive_label!r}; its values are {classes}"
        )
    if len(classes) != 2:
        what = "only one class" if len(classes) == 1 else f"{len(classes)} classes"
        raise DataValidationError(
            f"target column {data.target_column!r} has {what} ({classes}); "
            "a binary classifier needs exactly two"
        )
    if frame[data.target_column].isna().any():
        raise DataValidationError(
            f"target column {data.target_column!r} has {int(frame[data.target_column].isna().sum())} "
            "missing values; drop or label those rows"
        )
    return next(c for c in classes if c != str(data.positive_label))
