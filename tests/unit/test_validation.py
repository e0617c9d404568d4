import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from ml.data.demo import generate_demo
from ml.data.validation import (
    DataValidationError,
    as_declared,
    check_feature_columns,
    constant_columns_note,
    labelled_rows,
    unlabelled_note,
    validate_demo_tables,
    validate_training_table,
    with_missing_markers,
)
from ml.features import binary_target, infer_schema
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


def test_a_column_named_with_spaces_around_or_another_case_is_suggested_by_its_exact_name():
    """A CSV header ' Sex ' or 'Churned' against the configured 'sex', 'churned': the error names the
    table's column to write in configs/project.yaml, not only the list where the spaces hide."""
    frame = table().rename(columns={"sex": " Sex ", "churned": "Churned"})
    with pytest.raises(DataValidationError) as caught:
        validate_training_table(frame, CSV)
    assert (
        "missing column(s) ['churned', 'sex'] named in configs/project.yaml (did you mean 'Churned' for "
        in (str(caught.value))
        and "' Sex ' for 'sex'?)" in str(caught.value)
    ), caught.value
    with pytest.raises(DataValidationError, match=r"\['sex'\] named in configs/project.yaml; it has"):
        validate_training_table(table().rename(columns={"sex": "gender"}), CSV)  # nothing close: no guess


def test_valid_table_returns_the_negative_label():
    assert validate_training_table(table(), CSV) == "no"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (table().drop(columns="churned"), r"missing column\(s\) \['churned'\]"),
        (table().drop(columns="sex"), r"missing column\(s\) \['sex'\]"),
        (table().iloc[0:0], "is empty"),
        (table(churned=["yes"] * 4), r"only one class \(\['yes'\]\).*add rows of the other class"),
        (
            table(churned=["no", "no", "maybe", "no"]),
            "no row with the positive label 'yes'.*set data.positive_label",
        ),
        (
            table(churned=["yes", "no", "maybe", "no"]),
            "3 classes .* exactly two: set data.negative_label .* or give the table a two-valued",
        ),
        (table(cid=[1, 1, 2, 3]), r"duplicate values \(e.g. \[1\]\); .*set data.group_column: cid to keep"),
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


def test_rows_without_a_label_are_the_rows_to_score_left_out_of_training_and_counted():
    """star98 with 40 schools not graded yet: training stopped ("has 40 missing values; drop or label
    those rows") on the table the nightly scoring reads, whose unlabelled rows are the ones to score."""
    frame = table(
        cid=[1, 2, 3, 4, 5, 6],
        sex=["f", "m"] * 3,
        x=[1.0] * 6,
        churned=["yes", None, "no", None, "no", "yes"],
    )
    labelled, unlabelled = labelled_rows(frame, CSV, "dataset")
    assert unlabelled == 2 and labelled["cid"].tolist() == [1, 3, 5, 6], labelled
    assert validate_training_table(labelled, CSV) == "no"
    assert unlabelled_note(unlabelled, len(frame), CSV) == (
        "2 of the table's 6 rows have no label in 'churned': left out of training (they are scored, and"
        " judged by monitoring once labelled)"
    )
    whole, none = labelled_rows(table(), CSV, "dataset")
    assert none == 0 and whole.equals(table())
    no_target = table().drop(columns="churned")  # named by validate_training_table, not a KeyError here
    assert labelled_rows(no_target, CSV, "dataset")[1] == 0
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['churned'\]"):
        validate_training_table(labelled_rows(no_target, CSV, "dataset")[0], CSV)
    with pytest.raises(DataValidationError, match=r"has no label in any of the 4 rows of table 'dataset'"):
        labelled_rows(table(churned=[None] * 4), CSV, "dataset")
    with pytest.raises(DataValidationError, match="2 rows without a label in 'churned'"):
        validate_training_table(frame, CSV)  # the steps train on labelled_rows only


def test_a_group_column_must_be_in_the_table_and_give_every_row_its_group():
    grouped = CSV.model_copy(update={"group_column": "household"})
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['household'\]"):
        validate_training_table(table(), grouped)
    with pytest.raises(DataValidationError, match="group column 'household' has 1 missing values; every row"):
        validate_training_table(table(household=["a", "a", None, "b"]), grouped)
    assert validate_training_table(table(household=["a", "a", "c", "b"]), grouped) == "no"


def test_a_target_of_three_classes_is_one_against_the_rest_with_a_negative_label():
    """scikit-learn's wine: three cultivars 0, 1, 2. Refused as it is, naming data.negative_label;
    with it, cultivar 1 against the others, everywhere the table is read (as_declared)."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    data = CSV.model_copy(
        update={"target_column": "target", "positive_label": "1", "id_column": None, "sensitive_features": ()}
    )
    with pytest.raises(
        DataValidationError,
        match=r"3 classes .*set data.negative_label \(e.g. 'other'\) to read every class but '1'",
    ):
        validate_training_table(as_declared(wine, data), data)
    rest = data.model_copy(update={"negative_label": "other"})
    holes = wine.assign(target=wine["target"].where(wine.index > 0))  # a CSV's blank: 0.0, 1.0, NaN
    read = as_declared(holes, rest)["target"]
    assert read.isna().sum() == 1 and read.value_counts().to_dict() == {"other": 106, "1": 71}, read
    assert validate_training_table(as_declared(wine, rest), rest) == "other"
    assert binary_target(as_declared(wine, rest)["target"], "1").sum() == (wine["target"] == 1).sum() == 71


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


def numbers_with_markers(rows: int = 100, markers: tuple[str, ...] = ("?", "unknown", "?")) -> pd.Series:
    values = [str(20 + i % 50) for i in range(rows)]
    for i, marker in enumerate(markers):
        values[i * 7] = marker
    return pd.Series(values, dtype=object)


def test_a_column_of_numbers_with_a_few_text_values_is_refused_naming_those_values():
    frame = pd.DataFrame({"income": numbers_with_markers(), "region": ["n", "s"] * 50})
    with pytest.raises(DataValidationError) as caught:
        check_feature_columns(frame, ["income", "region"], CSV, "dataset_train")
    message = str(caught.value)
    assert "column 'income'" in message and "3 of its 100 values that are not numbers" in message, message
    assert "['?', 'unknown']" in message, f"the sample must be the bad values, most frequent first: {message}"
    assert "data.missing_values" in message and "data.columns: {income: categorical}" in message, message


def test_missing_value_markers_make_the_column_numeric_and_pass():
    frame = pd.DataFrame({"income": numbers_with_markers(), "region": ["n", "s"] * 50})
    cleaned = with_missing_markers(frame, ("?", "unknown"))
    assert pd.api.types.is_numeric_dtype(cleaned["income"]), cleaned.dtypes
    assert int(cleaned["income"].isna().sum()) == 3 and cleaned["income"].iloc[1] == 21, cleaned.head()
    assert cleaned["region"].tolist() == frame["region"].tolist(), "columns without markers are untouched"
    check_feature_columns(cleaned, ["income", "region"], CSV, "dataset_train")


def test_a_number_listed_as_missing_is_missing_in_numeric_columns_but_never_in_the_id():
    """A survey's -1 ("refused") or 999 ("not asked") in a numeric column, "?" in a text one; the id
    keeps its values, and a numeric column holds floats whether or not its partition had a marker."""
    frame = pd.DataFrame(
        {
            "cid": [-1, 2, 3, 999],
            "income": [-1, 20, 999, 40],
            "rate": [0.5, -1.0, 0.25, 0.75],
            "clean": [1, 2, 3, 4],
            "flag": [True, False, True, False],
            "plan": ["-1", "?", "pro", "basic"],
        }
    )
    cleaned = with_missing_markers(frame, ("-1", "999", "?"), keep=("cid",))
    assert cleaned["cid"].tolist() == [-1, 2, 3, 999], "the id is never a missing value"
    assert cleaned["income"].isna().tolist() == [True, False, True, False]
    assert cleaned["rate"].isna().tolist() == [False, True, False, False]
    assert cleaned["clean"].dtype == "float64" and cleaned["clean"].tolist() == [1, 2, 3, 4]
    assert cleaned["flag"].tolist() == [True, False, True, False]
    assert cleaned["plan"].isna().tolist() == [True, True, False, False]
    settings = CSV.model_copy(update={"id_column": "cid", "missing_values": ("-1", "999", "?")})
    assert_frame_equal(as_declared(frame, settings), cleaned)
    voted = settings.model_copy(update={"target_column": "vote", "missing_values": ("0",)})
    vote = as_declared(frame.assign(vote=[0, 1, 1, 0]), voted)
    assert vote["vote"].tolist() == ["0", "1", "1", "0"], "a target's numbers are classes, never markers"
    only_text = with_missing_markers(frame, ("?",))
    assert only_text["income"].tolist() == [-1, 20, 999, 40] and only_text["clean"].dtype == "int64"


def test_a_marker_does_not_turn_a_real_text_column_numeric():
    frame = pd.DataFrame({"plan": ["basic", "?", "pro", "12"] * 5})
    cleaned = with_missing_markers(frame, ("?",))
    assert cleaned["plan"].dtype == object and cleaned["plan"].isna().sum() == 5, cleaned["plan"].tolist()


def test_a_declared_numeric_column_shows_its_bad_values_not_its_good_ones():
    settings = CSV.model_copy(update={"columns": {"x": "numeric"}})
    frame = table(x=["1.5", "n/a", "3", "?"])
    with pytest.raises(DataValidationError) as caught:
        validate_training_table(frame, settings)
    message = str(caught.value)
    assert "2 of its 4 values are not numbers" in message and "'n/a'" in message and "'?'" in message, message
    assert "'1.5'" not in message and "'3'" not in message, f"good values are not examples: {message}"


@pytest.mark.parametrize(
    ("values", "reading"),
    [
        (["3.230,71", "16,99", "1.234.567,5"] * 20, "data.csv: {decimal: ',', thousands: '.'} (1.234,5)"),
        (["1,234.56", "999.5"] * 30, "data.csv: {decimal: '.', thousands: ','} (1,234.5)"),
        (["16,99", "3,5", "7"] * 20, "data.csv: {decimal: ','} (16,99)"),
        (["1 234,5", "12,0"] * 30, "data.csv: {decimal: ',', thousands: ' '} (1 234,5)"),
    ],
    ids=["spanish", "english", "decimal-comma", "french"],
)
def test_numbers_a_csv_writes_with_separators_are_refused_naming_the_csv_setting(values, reading):
    """A spreadsheet's amounts ('3.230,71') read as text became a categorical (or, one per row, were
    taken for an id): the error says which data.csv settings read them as numbers."""
    frame = pd.DataFrame({"importe": values, "plan": ["a", "b"] * (len(values) // 2)})
    with pytest.raises(DataValidationError, match="holds numbers the CSV reader did not read") as caught:
        check_feature_columns(frame, ["importe", "plan"], CSV, "dataset_train")
    assert reading in str(caught.value) and "data.columns: {importe: categorical}" in str(caught.value)
    declared = CSV.model_copy(update={"columns": {"importe": "categorical"}})
    check_feature_columns(frame, ["importe", "plan"], declared, "dataset_train")
    versions = pd.DataFrame({"release": ["1.2.3", "2.0.1"] * 5})
    check_feature_columns(versions, ["release"], CSV, "dataset_train")  # text, not numbers
    parquet = CSV.model_copy(update={"source": "parquet", "path": "t.parquet"})
    check_feature_columns(pd.DataFrame({"importe": ["16,99", "3,5"] * 5}), ["importe"], parquet, "t")


def test_a_categorical_with_about_one_value_per_row_is_refused_unless_declared():
    frame = pd.DataFrame({"email": [f"user{i}@example.org" for i in range(80)], "plan": ["a", "b"] * 40})
    refused = r"column 'email' .* 80 distinct values in 80 rows.*id_column"
    with pytest.raises(DataValidationError, match=refused):
        check_feature_columns(frame, ["email", "plan"], CSV, "dataset_train")
    declared = CSV.model_copy(update={"columns": {"email": "categorical"}})
    check_feature_columns(frame, ["email", "plan"], declared, "dataset_train")


def test_every_column_that_would_make_a_poor_feature_is_named_in_one_error_with_its_fix():
    """titanic as a user exports it: a passenger's name (one per row) and the lifeboat, numbers but
    for 'C', 'D', '5 7'. One run names both, each with its own fix, instead of one per run."""
    frame = pd.DataFrame(
        {
            "name": [f"Passenger {i}, Mr." for i in range(80)],
            "boat": (["13", "C", "4", "15", "5 7"] + ["1", "2", "3", "9", "11"] * 3) * 4,
            "fare": [7.25 + i for i in range(80)],
            "embarked": ["S", "C", "Q", "S"] * 20,
        }
    )
    with pytest.raises(DataValidationError) as caught:
        check_feature_columns(frame, ["name", "boat", "fare", "embarked"], CSV, "dataset_train")
    message = str(caught.value)
    head, *items = message.split("\n")
    assert head == "2 columns of table 'dataset_train' would make poor features; each, with its fix:", message
    assert [item.split(" of table")[0] for item in items] == ["  - column 'name'", "  - column 'boat'"], (
        message
    )
    assert "80 distinct values in 80 rows" in items[0] and "features.drop: [name]" in items[0], items[0]
    assert "missing_values: ['C', '5 7']" in items[1] and "data.columns: {boat: categorical}" in items[1]
    declared = CSV.model_copy(update={"columns": {"boat": "categorical"}})
    with pytest.raises(DataValidationError) as one:
        check_feature_columns(frame, ["name", "boat", "fare", "embarked"], declared, "dataset_train")
    assert str(one.value) == items[0][len("  - ") :], "one column: its message alone"


def test_a_categorical_whose_held_out_values_are_mostly_unknown_to_training_is_refused_naming_the_share():
    """titanic's ticket: 78 % distinct in the training split, under the one-per-row check, yet 66 % of
    the validation and test splits' tickets are ones training never had; a new passenger's always is.
    Named with the share and the fixes; a column whose held-out values training knows passes, and so
    does a declared one."""
    rng = np.random.default_rng(0)
    shared = [f"PC {n}" for n in range(60)]

    def split(rows, offset):
        own = [f"A/5 {offset + n}" for n in range(rows)]  # each split's own tickets
        tickets = np.where(rng.random(rows) < 0.3, rng.choice(shared, rows), own)
        return pd.DataFrame({"ticket": tickets, "embarked": rng.choice(["S", "C", "Q"], rows)})

    train, validation, test = split(400, 0), split(100, 10_000), split(100, 20_000)
    with pytest.raises(DataValidationError) as caught:
        check_feature_columns(train, ["ticket", "embarked"], CSV, "dataset_train", (validation, test))
    message = str(caught.value)
    unknown = int((~pd.concat([validation, test]).ticket.isin(set(train.ticket))).sum())
    assert message.startswith(
        f"column 'ticket' of table 'dataset_train': {unknown} of the 200 values the validation and test"
        f" splits hold ({unknown / 200:.0%}) are categories the training split does not have (e.g. ["
    ), message
    assert "features.drop: [ticket]" in message and "data.columns: {ticket: categorical}" in message, message
    check_feature_columns(train, ["embarked"], CSV, "dataset_train", (validation, test))
    declared = CSV.model_copy(update={"columns": {"ticket": "categorical"}})
    check_feature_columns(train, ["ticket", "embarked"], declared, "dataset_train", (validation, test))
    check_feature_columns(train, ["ticket"], CSV, "dataset_train", (validation.head(10), test.head(10)))


@pytest.mark.parametrize(
    "dates",
    [
        pd.Series(
            pd.date_range("2024-01-01", periods=10).strftime("%Y-%m-%d").tolist() * 8
        ),  # text, recurring
        pd.Series(pd.date_range("2024-01-01", periods=80, freq="h")),  # datetime64 (Parquet, SQL)
        pd.Series(["2024-01-31T08:00:00Z", "2024-02-01 09:30"] * 40),
        pd.Series(["31/01/2024", "1/2/24"] * 40),
    ],
)
def test_a_date_column_is_refused_as_a_category_naming_the_fixes(dates):
    """plotly's tips with a visit date: each new day would be a category the model never saw."""
    frame = pd.DataFrame({"visit_date": dates, "plan": ["a", "b"] * 40})
    with pytest.raises(DataValidationError) as caught:
        check_feature_columns(frame, ["visit_date", "plan"], CSV, "dataset_train")
    message = str(caught.value)
    assert message.startswith("column 'visit_date' of table 'dataset_train' holds dates (e.g. "), message
    assert "features.drop: [visit_date]" in message and "data.columns: {visit_date: categorical}" in message
    declared = CSV.model_copy(update={"columns": {"visit_date": "categorical"}})
    if dates.dtype == object:  # taken as declared
        check_feature_columns(frame, ["visit_date", "plan"], declared, "dataset_train")


def test_month_and_day_names_and_codes_are_categories_not_dates():
    frame = pd.DataFrame(
        {"month": ["March", "April"] * 40, "day": ["Sun", "Sat"] * 40, "quarter": ["2024Q1", "2024Q2"] * 40}
    )
    check_feature_columns(frame, ["month", "day", "quarter"], CSV, "dataset_train")


def test_codes_declared_categorical_read_alike_whatever_type_stored_them():
    """Occupation codes stored as int64, as float64 beside a missing value (a CSV block or SQL
    partition with a NULL) or as pandas' Int64: declared categorical, each reads the same text, so
    every source, partition and request names a category alike; undeclared columns stay as read."""
    settings = CSV.model_copy(update={"columns": {"occupation": "categorical", "visits": "numeric"}})
    stored = {
        "int64": pd.Series([1, 2, 6, 2]),
        "float64": pd.Series([1.0, 2.0, 6.0, None]),
        "Int64": pd.Series([1, 2, None, 2], dtype="Int64"),
    }
    read = {}
    for name, codes in stored.items():
        frame = as_declared(table(occupation=codes, visits=["3", " 4 ", None, "10"]), settings)
        assert frame["occupation"].dtype == object, (name, frame.dtypes)
        read[name] = frame["occupation"].tolist()
        assert frame["visits"].tolist()[:2] == [3, 4] and frame["visits"].isna().sum() == 1, frame["visits"]
        pd.testing.assert_series_equal(frame["x"], table()["x"])  # undeclared: untouched
        check_feature_columns(frame, ["occupation", "visits", "x"], settings, "dataset_train")
    assert read["int64"] == ["1", "2", "6", "2"], read
    assert read["float64"][:3] == ["1", "2", "6"] and pd.isna(read["float64"][3]), read
    assert read["Int64"][:2] == ["1", "2"] and pd.isna(read["Int64"][2]), read
    spec = infer_schema(
        as_declared(table(occupation=stored["int64"]), settings), ["occupation"], settings, "no"
    )
    assert spec.categorical == ["occupation"] and spec.features[0].categories == ("1", "2", "6"), spec


def test_a_declared_numeric_column_of_text_with_words_is_left_to_be_named():
    settings = CSV.model_copy(update={"columns": {"x": "numeric"}})
    frame = as_declared(table(x=["1.5", "n/a", "3", "4"]), settings)
    assert frame["x"].tolist() == ["1.5", "n/a", "3", "4"], "not numbers: the check names 'n/a'"
    with pytest.raises(DataValidationError, match=r"1 of its 4 values are not numbers, e.g. \['n/a'\]"):
        validate_training_table(frame, settings)


@pytest.mark.parametrize("stored", [[1.0, 0.0, 0.0, 1.0], [1, 0, 0, 1], [True, False, False, True]])
def test_a_target_stored_as_numbers_has_the_labels_positive_label_names(stored):
    """A vote stored as 0.0/1.0 (SQL REAL, a CSV with a blank cell), 0/1 or booleans: its labels
    are "0"/"1" ("False"/"True"), so positive_label "1" names one and the other is the negative."""
    positive = "True" if isinstance(stored[0], bool) else "1"
    settings = CSV.model_copy(update={"target_column": "vote", "positive_label": positive})
    frame = as_declared(table(churned=["a", "b", "c", "d"]).assign(vote=stored), settings)
    negative = validate_training_table(frame, settings)
    assert negative == ("False" if positive == "True" else "0"), negative
    assert binary_target(frame["vote"], positive).tolist() == [1, 0, 0, 1]


def test_an_empty_column_listed_under_features_drop_does_not_stop_training_one_not_listed_does():
    """statsmodels' `fertility` (births per woman by country, a column per year): its '2012' and
    '2013' columns hold no value, as an export's empty columns do. The error said to list them
    under features.drop, and training stopped on them all the same once they were."""
    import statsmodels.api as sm

    table = sm.datasets.fertility.load_pandas().data
    table["high"] = np.where(table["2011"] > 2.1, "yes", "no")
    data = CSV.model_copy(
        update={"target_column": "high", "id_column": "Country Code", "sensitive_features": ()}
    )
    with pytest.raises(DataValidationError, match=r"column\(s\) \['2012', '2013'\] of table 'input' hold"):
        validate_training_table(table, data)
    with pytest.raises(DataValidationError, match=r"column\(s\) \['2013'\] of table 'input' hold only"):
        validate_training_table(table, data, dropped=("2012",))
    assert validate_training_table(table, data, dropped=("2012", "2013")) == "no"


def test_feature_columns_that_hold_one_value_everywhere_are_named_with_the_fix():
    """statsmodels' `fertility`: every row's 'Indicator Name' is "Fertility rate, total (births per
    woman)". The model learns nothing from such a column, yet the API asked every request for it,
    and nothing said so. A column constant in one split only, or whose other value is a missing
    one, is not named."""
    import statsmodels.api as sm

    table = sm.datasets.fertility.load_pandas().data
    parts = (table.iloc[:150], table.iloc[150:190], table.iloc[190:])
    columns = ["Indicator Name", "Indicator Code", "1960", "2010"]
    note = constant_columns_note(parts, columns)
    assert note is not None and note.startswith(
        "feature column(s) ['Indicator Name', 'Indicator Code'] hold one value in all 219 rows (e.g. "
        "'Indicator Name': 'Fertility rate, total (births per woman)'): the model learns nothing"
    ), note
    assert "list them under features.drop in configs/training.yaml" in note, note
    split = (table.iloc[:150], table.iloc[150:].assign(**{"Indicator Code": "other"}))
    assert "'Indicator Code'" not in constant_columns_note(split, columns)
    holed = table.assign(**{"Indicator Name": table["Indicator Name"].where(table.index != 5)})
    assert "'Indicator Name'" not in constant_columns_note((holed,), columns)
    assert constant_columns_note(parts, ["1960", "2010"]) is None


def test_a_positive_label_written_in_another_case_than_the_columns_is_suggested_as_written():
    """A PostgreSQL boolean target (`had_affair`) reads as 'True'/'False'; the answer `true` stopped
    training on "no row with the positive label 'true'; its values are ['False', 'True']" without
    saying which one was meant."""
    frame = table(churned=[True, False, False, True])
    settings = CSV.model_copy(update={"positive_label": "true"})
    with pytest.raises(
        DataValidationError, match=r"label 'true' \(did you mean 'True'\? labels are compared"
    ):
        validate_training_table(frame, settings)
    assert validate_training_table(frame, CSV.model_copy(update={"positive_label": "True"})) == "False"


def test_a_positive_label_written_as_the_csv_writes_a_whole_number_is_suggested_as_the_label_it_reads():
    """A 0/1 target with a blank reads from a CSV as 0.0/1.0, whose labels are "0" and "1"; the
    answer `positive_label: "1.0"`, as the file writes it, matched no row and was not told which."""
    settings = CSV.model_copy(update={"positive_label": "1.0"})
    frame = as_declared(table(churned=[1.0, 0.0, 0.0, 1.0]), settings)  # as the CSV loads
    with pytest.raises(DataValidationError, match=r"label '1.0' \(did you mean '1'\? a column of numbers"):
        validate_training_table(frame, settings)
    assert validate_training_table(frame, CSV.model_copy(update={"positive_label": "1"})) == "0"


def test_a_sql_interval_column_is_refused_as_a_feature_with_the_query_that_makes_it_a_number():
    """statsmodels' `strikes` with each strike's length as a PostgreSQL `interval` reads it
    (pandas timedelta64). It was taken as a category ("7 days 00:00:00"): each length the model
    had not seen unknown to it, their order lost, the API asking for the text. It is refused,
    naming the values and the query that turns it into a number; the profile counts its gaps only."""
    import statsmodels.api as sm

    from ml.profile import profile_dataset

    strikes = sm.datasets.strikes.load_pandas().data
    table = strikes.assign(
        length=pd.to_timedelta(strikes["duration"], unit="D"),
        long=np.where(strikes["duration"] > 30, "yes", "no"),
        strike=range(len(strikes)),
    ).drop(columns="duration")
    data = DataSettings(
        source="sql", sql_url="sqlite://", sql_query="SELECT 1", target_column="long", positive_label="yes",
        id_column="strike", sensitive_features=(),
    )  # fmt: skip
    with pytest.raises(DataValidationError) as caught:
        check_feature_columns(table, ["iprod", "length"], data, "dataset_train")
    assert str(caught.value).startswith(
        "column 'length' of table 'dataset_train' holds durations (e.g. ['3 days', '2 days',"
    ), caught.value
    assert "EXTRACT(EPOCH FROM length) / 3600 AS length_hours), or drop it (features.drop: [length]" in str(
        caught.value
    )
    summary = profile_dataset(table, "long", "strike").summary
    assert summary["duration_columns"] == ["length"] and summary["numeric_columns"] == ["iprod"], summary
