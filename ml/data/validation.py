"""Schema checks on entry: stop early with the column, the value and what was expected."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml import names
from ml.features import is_numeric, marker_numbers
from ml.settings import DataSettings, number_text

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


# A text column whose values are numbers but for at most this share is numeric with stray markers.
STRAY_TEXT_SHARE = 0.2
# A categorical column with at least this share of distinct values (in a table of at least
# NEAR_UNIQUE_MIN_ROWS rows) names rows instead of describing them.
NEAR_UNIQUE_SHARE = 0.9
NEAR_UNIQUE_MIN_ROWS = 50
SHOWN = 5  # sample values in an error
# A categorical more than this share of whose values in the validation and test splits (at least
# HELD_OUT_MIN_VALUES of them) are categories the training split lacks is refused as a feature.
HELD_OUT_UNKNOWN_SHARE = 0.5
HELD_OUT_MIN_VALUES = 30
# Text that is a date or a time stamp: ISO (2024-01-31, 2024-01-31 08:00[:00[.000]], with T or a
# zone) or day/month/year with slashes. Month or day names are categories, not matched.
DATE_TEXT = (
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}"
)

# How spreadsheets write numbers, as (thousands, decimal): 1.234,56 · 1,234.56 · 1 234,56 · 1'234.56
NUMBER_WRITINGS = ((".", ","), (",", "."), (" ", ","), ("\u00a0", ","), ("'", "."))


def _number_text(thousands: str, decimal: str) -> str:
    t, d = re.escape(thousands), re.escape(decimal)
    return rf"[+-]?(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{d}\d+)?"


class DataValidationError(ValueError):
    """Input data does not match what the pipeline expects."""


def _not_numbers(series: pd.Series) -> pd.Series:
    """The non-missing values of ``series`` that do not read as numbers (as text, stripped)."""
    text = series.dropna().astype(str).str.strip()
    return text[pd.to_numeric(text, errors="coerce").isna()]


def _sample(values: pd.Series) -> list:
    return values.value_counts().head(SHOWN).index.tolist()


def with_missing_markers(
    frame: pd.DataFrame, markers: tuple[str, ...], keep: tuple = (), label: str | None = None
) -> pd.DataFrame:
    """Read the values listed in ``data.missing_values`` as missing, in every column but ``keep``
    (the id): text (e.g. "?", "unknown") where it is written, and the markers that are numbers (-1,
    999) in numeric columns too, which then hold floats whether or not a marker was found (the same
    type in every partition), but for the ``label`` column (the target), whose numbers are classes.
    A text column that held markers and holds only numbers otherwise becomes numeric."""
    if not markers:
        return frame
    numbers = marker_numbers(markers)
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if column in keep or pd.api.types.is_bool_dtype(series):
            continue
        if is_numeric(series):
            if column == label:
                continue
            if numbers:
                out[column] = series.astype("float64").mask(series.isin(numbers))
            continue
        found = series.astype(str).str.strip().isin(markers) & series.notna()
        if not found.any():
            continue
        cleaned = series.mask(found)
        out[column] = pd.to_numeric(cleaned) if _not_numbers(cleaned).empty else cleaned
    return out


def _numbers_as_text(series: pd.Series) -> bool:
    """Text (or objects) every one of whose values reads as a number, e.g. a SQL column of digits."""
    if is_numeric(series) or pd.api.types.is_bool_dtype(series) or not series.notna().any():
        return False
    return _not_numbers(series).empty


def numpy_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with pandas' nullable, Arrow and categorical dtypes (a Parquet file saved after
    ``convert_dtypes()``: Int64, Float64, boolean, string; or ``int64[pyarrow]``, ``category``) as
    the NumPy ones a CSV reads into: whole numbers int64 (float64 with a missing one), numbers
    float64, booleans bool (objects with a missing one), text objects with NaN. Training stopped on
    them (Evidently's profile: "boolean value of NA is ambiguous"; model selection: isnan). A column
    of Python ``Decimal`` values (a Parquet DECIMAL(10, 2) as a warehouse exports amounts, which
    pandas and Dask read as objects) holds its numbers too: it was a categorical feature, every
    amount a category."""
    changes = {}
    for column in frame.columns:
        series, dtype = frame[column], frame[column].dtype
        if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(series, skipna=True) == "decimal":
            changes[column] = _decimals_as_numbers(series)
            continue
        if isinstance(dtype, np.dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            continue
        if isinstance(dtype, pd.CategoricalDtype):
            numeric = pd.api.types.is_numeric_dtype(dtype.categories.dtype)
            series = series.astype("float64" if numeric else object)
            dtype = series.dtype
        missing = series.isna()
        if pd.api.types.is_bool_dtype(dtype):
            series = (
                series.astype(bool) if not missing.any() else series.astype(object).where(~missing, np.nan)
            )
        elif pd.api.types.is_numeric_dtype(dtype):
            whole = pd.api.types.is_integer_dtype(dtype) and not missing.any()
            series = series.astype("int64" if whole else "float64")
        else:
            series = series.astype(object).where(~missing, np.nan)
        changes[column] = series
    return frame.assign(**changes) if changes else frame


def _decimals_as_numbers(series: pd.Series) -> pd.Series:
    """Decimals as int64 when every one is whole (a DECIMAL(10, 0) id or count: 1234, not 1234.0),
    else float64, a missing one NaN."""
    numbers = pd.to_numeric(series).astype("float64")
    whole = numbers.notna().all() and bool((numbers == np.floor(numbers)).all())
    return numbers.astype("int64") if whole else numbers


def as_declared(frame: pd.DataFrame, data: DataSettings) -> pd.DataFrame:
    """The table as configs/project.yaml describes it: the values of ``data.missing_values`` read
    as missing, then each column declared under ``data.columns`` holding its kind of value. A
    column declared categorical that holds numbers (codes, zip codes, ratings) holds them as text,
    the same text whatever the source or partition stored (an integral 5.0 and 5 both read "5"), so
    the model learns categories, not an order; one declared numeric that holds text reading as
    numbers holds the numbers. Anything else is left for ``check_columns`` to name. The target is a
    category whatever stored it: a vote of 0.0/1.0 (SQL REAL, a CSV with a blank) has the labels
    "0" and "1", as ``positive_label: "1"`` names them; with ``negative_label`` every other class
    reads as that one."""
    frame = numpy_dtypes(frame)
    frame = with_missing_markers(frame, data.missing_values, keep=(data.id_column,), label=data.target_column)
    changes = {}
    for column, kind in {**data.columns, data.target_column: "categorical"}.items():
        if column not in frame.columns:
            continue
        series = frame[column]
        if kind == "categorical" and (is_numeric(series) or pd.api.types.is_bool_dtype(series)):
            values = series.astype(object)
            changes[column] = values.map(number_text, na_action="ignore").where(values.notna(), np.nan)
        elif kind == "numeric" and _numbers_as_text(series):
            changes[column] = pd.to_numeric(series.astype(object).where(series.notna()))
    return _one_against_the_rest(frame.assign(**changes) if changes else frame, data)


def _one_against_the_rest(frame: pd.DataFrame, data: DataSettings) -> pd.DataFrame:
    """With ``data.negative_label``, every class of the target but ``positive_label`` reads as it
    (wine cultivar 0 against the others); a missing label stays missing."""
    target = data.target_column
    if data.negative_label is None or target not in frame.columns:
        return frame
    labels = frame[target]
    rest = labels.notna() & (labels.astype(str) != data.positive_label)
    return frame.assign(**{target: labels.astype(object).mask(rest, data.negative_label)})


def _kind_matches(series: pd.Series, kind: str) -> bool:
    if kind == "numeric":
        return is_numeric(series)
    if kind == "datetime":
        return pd.api.types.is_datetime64_any_dtype(series)
    if kind == "boolean":
        return pd.api.types.is_bool_dtype(series) or set(series.dropna().unique()) <= {0, 1}
    return not is_numeric(series) or series.dropna().nunique() <= 50


def did_you_mean(missing: list[str], columns) -> str:
    """' (did you mean ' Age ' for 'Age'?)' for the missing names a column of the table differs from
    by case or surrounding spaces (a CSV header's ' Age '), or nearly matches (difflib); '' if none."""
    texts = [str(column) for column in columns]
    folded = {text.strip().casefold(): text for text in texts}
    hints = []
    for name in missing:
        match = folded.get(str(name).strip().casefold())
        close = [match] if match is not None else difflib.get_close_matches(str(name), texts, n=1, cutoff=0.8)
        hints += [f"{close[0]!r} for {name!r}"] if close else []
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


def check_columns(frame: pd.DataFrame, expected: dict[str, str], table: str) -> None:
    """Raise when a column is missing or holds the wrong kind of values."""
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise DataValidationError(
            f"table {table!r} is missing column(s) {missing}{did_you_mean(missing, frame.columns)}; "
            f"it has {list(frame.columns)}"
        )
    for column, kind in expected.items():
        if _kind_matches(frame[column], kind):
            continue
        bad = _not_numbers(frame[column]) if kind == "numeric" else pd.Series(dtype=object)
        if len(bad):
            raise DataValidationError(
                f"column {column!r} of table {table!r} should be numeric, but has dtype "
                f"{frame[column].dtype}: {len(bad)} of its {int(frame[column].notna().sum())} values are not "
                f"numbers, e.g. {_sample(bad)}; if they mean 'not known', list them under "
                "data.missing_values in configs/project.yaml, otherwise correct them in the table"
            )
        raise DataValidationError(
            f"column {column!r} of table {table!r} should be {kind}, "
            f"but has dtype {frame[column].dtype} (e.g. {frame[column].dropna().head(3).tolist()})"
        )


def check_feature_columns(
    frame: pd.DataFrame,
    columns: list[str],
    data: DataSettings,
    table: str,
    others: tuple[pd.DataFrame, ...] = (),
) -> None:
    """Refuse what would silently make a poor feature: a column of numbers with a few text values
    (it would become a categorical with one category per number), a categorical with about one
    value per row, and one most of whose values in ``others`` (the validation and test splits) are
    categories ``frame`` (the training split) lacks: a new row's would most often be unknown to the
    model. Columns declared in ``data.columns`` are taken as declared. Every such column is named in
    one error, each with its fix, so that one run finds them all."""
    problems = []
    for column in columns:
        held_out = [other[column] for other in others if column in other]
        problem = _feature_problem(frame[column], data, table)
        problem = problem or _held_out_problem(frame[column], held_out, data, table)
        problems += [problem] if problem else []
    if len(problems) == 1:
        raise DataValidationError(problems[0])
    if problems:
        raise DataValidationError(
            f"{len(problems)} columns of table {table!r} would make poor features; each, with its fix:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def _taken_as_read(series: pd.Series, data: DataSettings) -> bool:
    """A declared column, numbers or booleans: not checked as a category."""
    return series.name in data.columns or is_numeric(series) or pd.api.types.is_bool_dtype(series)


def _feature_problem(series: pd.Series, data: DataSettings, table: str) -> str | None:
    """What makes ``series`` a poor feature, with the fix; None when nothing does."""
    column = series.name
    if _taken_as_read(series, data):
        return None
    values = series.dropna()
    if pd.api.types.is_timedelta64_dtype(series):  # a SQL interval
        return (
            f"column {column!r} of table {table!r} holds durations (e.g. {_sample(values.astype(str))}): "
            "as a category each duration the model has not seen would be unknown to it, and their order "
            "lost. Derive a number from it in the query or the table (e.g. hours: EXTRACT(EPOCH FROM "
            f"{column}) / 3600 AS {column}_hours), or drop it (features.drop: [{column}] in "
            "configs/training.yaml)"
        )
    readings = _csv_number_settings(values) if data.source == "csv" else []
    if readings:
        return (
            f"column {column!r} of table {table!r} holds numbers the CSV reader did not read as "
            f"numbers (e.g. {_sample(values.astype(str))}): as it is, it would become a categorical "
            f"feature with {values.nunique()} categories. Say how the file writes numbers, in "
            f"configs/project.yaml: {' or '.join(readings)}; a code written with digits is declared "
            f"instead: data.columns: {{{column}: categorical}}"
        )
    bad = _not_numbers(values)
    if 0 < len(bad) <= STRAY_TEXT_SHARE * len(values):
        return (
            f"column {column!r} of table {table!r} holds numbers, except {len(bad)} of its {len(values)} "
            f"values that are not numbers, e.g. {_sample(bad)}; as it is, it would become a categorical "
            f"feature with {values.nunique()} categories. If those values mean 'not known', list them "
            f"under data.missing_values in configs/project.yaml (missing_values: {_sample(bad)}); if the "
            f"column is a category, declare it: data.columns: {{{column}: categorical}}"
        )
    if _holds_dates(values):
        return (
            f"column {column!r} of table {table!r} holds dates (e.g. {_sample(values.astype(str))}): "
            "as a category every date the model has not seen would be unknown to it (the API refuses "
            "it, batch scoring reads it as missing). Derive a number from it in the table or the query "
            f"(e.g. days since it), drop it (features.drop: [{column}] in configs/training.yaml), "
            f"or, if its values recur as categories, declare it: data.columns: {{{column}: categorical}}"
        )
    distinct = values.nunique()
    if len(values) >= NEAR_UNIQUE_MIN_ROWS and distinct >= NEAR_UNIQUE_SHARE * len(values):
        return (
            f"column {column!r} of table {table!r} has {distinct} distinct values in {len(values)} rows "
            f"(e.g. {values.head(3).tolist()}): as a category it names rows instead of describing them. "
            f"If it identifies rows, set data.id_column: {column} in configs/project.yaml; otherwise "
            f"drop it (features.drop: [{column}] in configs/training.yaml), or declare it under data.columns"
        )
    return None


def _held_out_problem(
    train: pd.Series, held_out: list[pd.Series], data: DataSettings, table: str
) -> str | None:
    """When most of the held-out splits' values of a categorical are categories the training split
    lacks (titanic's tickets: 66 %): what a new row's value would most often be to the model."""
    column = train.name
    if _taken_as_read(train, data) or not held_out:
        return None
    values = pd.concat(held_out).dropna().astype(str)
    if len(values) < HELD_OUT_MIN_VALUES:
        return None
    unknown = values[~values.isin(set(train.dropna().astype(str)))]
    if len(unknown) <= HELD_OUT_UNKNOWN_SHARE * len(values):
        return None
    return (
        f"column {column!r} of table {table!r}: {len(unknown)} of the {len(values)} values the validation"
        f" and test splits hold ({len(unknown) / len(values):.0%}) are categories the training split does"
        f" not have (e.g. {_sample(unknown)}): a new row's value would most often be one the model never"
        " learnt (the API refuses a value the table never held, batch scoring reads it as missing). Drop"
        f" it (features.drop: [{column}] in configs/training.yaml) or derive a coarser column from it in"
        " the table or the query (a ticket's prefix, a cabin's deck); if new rows will repeat its values,"
        f" declare it: data.columns: {{{column}: categorical}}"
    )


def _csv_number_settings(values: pd.Series) -> list[str]:
    """The ``data.csv`` settings under which every value of a CSV's text column reads as a number,
    when it is text only for how its numbers are written (a spreadsheet's '1.234,56', '16,99');
    none for other text (a version '1.2.3', words, digits alone)."""
    text = values.astype(str).str.strip()
    if not len(text) or text.str.fullmatch(r"[+-]?\d+").all():
        return []
    readings = []
    for thousands, decimal in NUMBER_WRITINGS:
        if not text.str.fullmatch(_number_text(thousands, decimal)).all():
            continue
        if text.str.contains(re.escape(thousands)).any():
            reading = (
                f"data.csv: {{decimal: {decimal!r}, thousands: {thousands!r}}} (1{thousands}234{decimal}5)"
            )
        else:
            reading = (
                f"data.csv: {{decimal: {decimal!r}}} ({text[text.str.contains(re.escape(decimal))].iloc[0]})"
            )
        readings += [reading] if reading not in readings else []
    return readings


def _holds_dates(values: pd.Series) -> bool:
    """Datetime values, or text that is all dates (``DATE_TEXT``)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    text = values.astype(str).str.strip()
    return bool(len(text)) and bool(text.str.fullmatch(DATE_TEXT).all())


def validate_demo_tables(customers: pd.DataFrame, sales: pd.DataFrame) -> None:
    for table, frame in ((names.CUSTOMERS_TABLE, customers), (names.SALES_TABLE, sales)):
        if frame.empty:
            raise DataValidationError(f"table {table!r} is empty; regenerate the demo data")
        check_columns(frame, DEMO_SCHEMA[table], table)


def validate_training_table(
    frame: pd.DataFrame, data: DataSettings, table: str = "input", dropped: tuple[str, ...] = ()
) -> str:
    """Check the flat training table; return the negative label (the target's other class).
    ``dropped``: the columns training.yaml's features.drop names, which the model never takes (one
    may hold only missing values: an export's empty column)."""
    check_training_rows(frame, data, table)
    empty = [column for column in frame.columns if column not in dropped and frame[column].isna().all()]
    if empty:
        raise DataValidationError(
            f"column(s) {empty} of table {table!r} hold only missing values; "
            "fill them or list them under features.drop in configs/training.yaml"
        )
    target = frame[data.target_column]
    if target.isna().any():  # the rows to score, whose outcome is not known yet: never trained on
        raise DataValidationError(
            f"table {table!r} has {int(target.isna().sum())} rows without a label in "
            f"{data.target_column!r}; train on labelled_rows(...) of it"
        )
    return check_target_classes(target.astype(str).value_counts().to_dict(), data, table)


def labelled_rows(frame: pd.DataFrame, data: DataSettings, table: str) -> tuple[pd.DataFrame, int]:
    """The rows of ``frame`` with a label in the target column, and how many have none. A table
    that is scored nightly holds rows whose outcome is not known yet (new customers): they are
    scored and, once labelled, judged by monitoring, never trained on. DataValidationError when
    no row has a label; a table without the target column is left to ``validate_training_table``
    to name it."""
    if data.target_column not in frame.columns:
        return frame, 0
    known = frame[data.target_column].notna()
    if len(frame) and not known.any():
        raise no_label(len(frame), data, table)
    return (frame if known.all() else frame[known]), int((~known).sum())


def no_label(rows: int, data: DataSettings, table: str) -> DataValidationError:
    """The error of a table none of whose ``rows`` has a label."""
    return DataValidationError(
        f"target column {data.target_column!r} has no label in any of the {rows} rows of table {table!r}:"
        " training needs labelled rows; check data.target_column, or the join or query that fills it"
    )


def unlabelled_note(unlabelled: int, rows: int, data: DataSettings) -> str:
    """What training says of the rows it left out for their missing label."""
    return (
        f"{unlabelled} of the table's {rows} rows have no label in {data.target_column!r}: left out of "
        "training (they are scored, and judged by monitoring once labelled)"
    )


def constant_columns_note(parts: Sequence[pd.DataFrame], columns: list[str]) -> str | None:
    """What training says of the feature ``columns`` that hold one value in every row of ``parts``
    (the splits; a missing value counts as one): the model learns nothing from them, and the
    service asks every request for them. None when there are none."""
    alike = [column for column in columns if all(part[column].nunique(dropna=False) <= 1 for part in parts)]
    constant = [c for c in alike if pd.concat([part[c].head(1) for part in parts]).nunique(dropna=False) == 1]
    if not constant:
        return None
    value = parts[0][constant[0]].iloc[0]
    return (
        f"feature column(s) {constant} hold one value in all {sum(map(len, parts))} rows (e.g. "
        f"{constant[0]!r}: {value!r}): the model learns nothing from them, yet the API asks every "
        "request for them; list them under features.drop in configs/training.yaml, unless new rows "
        "will hold other values"
    )


def check_training_rows(frame: pd.DataFrame, data: DataSettings, table: str) -> None:
    """The checks any part of the training table passes on its own: not empty, the named columns
    there with their declared kinds, ids unique (``validate_training_table``'s other checks need
    the whole table: a part may hold one class, or a column missing only there)."""
    if frame.empty:
        raise DataValidationError(f"table {table!r} is empty: no rows to train on")
    required = [data.target_column, *data.sensitive_features]
    required += [column for column in (data.id_column, data.group_column) if column]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise DataValidationError(
            f"table {table!r} is missing column(s) {missing} named in configs/project.yaml"
            f"{did_you_mean(missing, frame.columns)}; "
            f"it has {list(frame.columns)}"
        )
    check_columns(frame, dict(data.columns), table)
    if data.id_column and frame[data.id_column].duplicated().any():
        dupes = frame.loc[frame[data.id_column].duplicated(), data.id_column].head(3).tolist()
        raise DataValidationError(
            f"id column {data.id_column!r} has duplicate values (e.g. {dupes}); ids must be unique: if "
            f"rows sharing an id belong together (one person over years), set data.group_column: "
            f"{data.id_column} to keep them in one split, and data.id_column to a column unique per row "
            "or empty (the row number identifies a row)"
        )
    if data.group_column and frame[data.group_column].isna().any():
        raise DataValidationError(
            f"group column {data.group_column!r} has {int(frame[data.group_column].isna().sum())} missing "
            "values; every row needs its group: fill them, or drop those rows"
        )


def as_number_text(label: str, classes: list[str]) -> list[str]:
    """[the class ``label`` names as a number] when it is one written otherwise: a target of 0.0/1.0
    reads "0" and "1" (``number_text``), and `positive_label: "1.0"` matched no row."""
    try:
        text = number_text(float(label))
    except ValueError:
        return []
    return [text] if text in classes else []


def check_target_classes(counts: dict[str, int], data: DataSettings, table: str) -> str:
    """The target of a whole table, from its labelled rows per class (as text): exactly two classes,
    one the positive label. Returns the negative label."""
    classes = sorted(label for label, rows in counts.items() if rows)
    target, positive = data.target_column, str(data.positive_label)
    listed = f"{classes[:SHOWN]}" + (f" and {len(classes) - SHOWN} more" if len(classes) > SHOWN else "")
    if positive not in classes:
        # a column of booleans reads 'True' (PostgreSQL's boolean, pandas' bool): not YAML's 'true'
        alike = [c for c in classes if c.casefold() == positive.casefold()]
        said = "labels are compared as the column writes them"
        if not alike and (alike := as_number_text(positive, classes)):
            said = "a column of numbers has the labels 0, 1 or 2.5 whatever wrote them (1.0, 1)"
        meant = "".join(f" (did you mean {c!r}? {said})" for c in alike[:1])
        raise DataValidationError(
            f"target column {target!r} has no row with the positive label {positive!r}{meant}; its values "
            f"are {listed}: set data.positive_label to the class the model should find, or "
            "data.target_column to another column"
        )
    if len(classes) == 1:
        raise DataValidationError(
            f"target column {target!r} has only one class ({listed}); a binary classifier needs rows of "
            "two: add rows of the other class, or pick another data.target_column"
        )
    if len(classes) != 2:
        raise DataValidationError(
            f"target column {target!r} has {len(classes)} classes ({listed}); a binary classifier needs "
            f"exactly two: set data.negative_label (e.g. 'other') to read every class but {positive!r} as "
            "it, or give the table a two-valued target"
        )
    return next(c for c in classes if c != str(data.positive_label))
