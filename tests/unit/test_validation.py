import pandas as pd
import pytest

from ml.data.demo import generate_demo
from ml.data.validation import DataValidationError, validate_demo_tables, validate_training_table
from ml.settings import DataSettings

CSV = DataSettings(
    source="csv",
    path="x.csv",
    target_column="churned",
    positive_label="yes",
    id_column="cid",
    sensitive_features=("sex",),
)


def table(**overrides):
    base = {
        "cid": [1, 2, 3, 4],
        "sex": ["f", "m", "f", "m"],
        "x": [1.0, 2.0, None, 4.0],
        "churned": ["yes", "no", "no", "yes"],
    }
    return pd.DataFrame({**base, **overrides})


def test_valid_table_returns_the_negative_label():
    assert validate_training_table(table(), CSV) == "no"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (table().drop(columns="churned"), r"missing column\(s\) \['churned'\]"),
        (table().drop(columns="sex"), r"missing column\(s\) \['sex'\]"),
        (table().iloc[0:0], "is empty"),
        (table(churned=["yes"] * 4), r"only one class \(\['yes'\]\)"),
        (table(churned=["no", "no", "maybe", "no"]), "no row with the positive label 'yes'"),
        (table(churned=["yes", "no", "maybe", "no"]), "3 classes"),
        (table(cid=[1, 1, 2, 3]), r"duplicate values \(e.g. \[1\]\)"),
        (table(x=[None] * 4), r"\['x'\] .* only missing values"),
    ],
    ids=[
        "no-target",
        "no-sensitive",
        "empty",
        "one-class",
        "no-positive",
        "three-classes",
        "duplicate-ids",
        "nan-only-column",
    ],
)
def test_bad_tables_are_rejected_naming_the_problem(frame, expected):
    with pytest.raises(DataValidationError, match=expected):
        validate_training_table(frame, CSV)


def test_declared_column_type_is_enforced():
    settings = CSV.model_copy(update={"columns": {"x": "categorical", "sex": "numeric"}})
    with pytest.raises(DataValidationError, match=r"column 'sex' .* should be numeric, but has dtype"):
        validate_training_table(table(), settings)


def test_demo_tables_pass_and_a_wrong_dtype_is_caught():
    tables = generate_demo(customers=100)
    validate_demo_tables(tables.customers, tables.sales)
    broken = tables.sales.assign(amount=tables.sales.amount.astype(str))
    with pytest.raises(DataValidationError, match="column 'amount' of table 'sales' should be numeric"):
        validate_demo_tables(tables.customers, broken)
