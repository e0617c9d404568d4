"""The user's own flat table from each kind of source: CSV, Parquet, or a SQL query."""

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from adapters.sources import DataSourceError, check_source, database_url, read_flat_table
from ml.settings import ConfigError, DataSettings

TABLE = pd.DataFrame(
    {"cid": [1, 2, 3], "sex": ["f", "m", None], "income": [10.5, None, 7.0], "churned": ["yes", "no", "no"]}
)
COMMON = {
    "target_column": "churned",
    "positive_label": "yes",
    "id_column": "cid",
    "sensitive_features": ("sex",),
}


def missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV reads a missing text as NaN, SQL as None: the same missing value."""
    return frame.astype(object).where(frame.notna(), None)


def same(frame: pd.DataFrame) -> None:
    """``frame`` holds TABLE's rows; its ids compared as text (a CSV's are read as written)."""
    ids_as_text = frame.reset_index(drop=True).assign(cid=frame["cid"].astype(str).to_numpy())
    pd.testing.assert_frame_equal(
        missing_as_none(ids_as_text),
        missing_as_none(TABLE.assign(cid=TABLE["cid"].astype(str))),
        check_dtype=False,
    )


def written_as(source: str, raw: pd.DataFrame, tmp_path: Path, csv: pd.DataFrame | None = None) -> dict:
    """``raw`` written as ``source`` under ``tmp_path`` (a CSV from ``csv`` when given: its text as
    a user's file holds it); returns the DataSettings fields that name it."""
    (tmp_path / "data").mkdir()
    if source == "csv":
        (raw if csv is None else csv).to_csv(tmp_path / "data/t.csv", index=False)
        return {"path": "data/t.csv"}
    if source == "parquet":
        raw.to_parquet(tmp_path / "data/t.parquet", index=False)
        return {"path": "data/t.parquet"}
    settings = {"sql_url": f"sqlite:///{tmp_path}/db.sqlite", "sql_query": "SELECT * FROM t ORDER BY cid"}
    engine = sa.create_engine(settings["sql_url"])
    raw.to_sql("t", engine, index=False)
    engine.dispose()
    return settings


def test_csv_and_parquet_paths_resolve_against_the_project(tmp_path: Path):
    (tmp_path / "data").mkdir()
    TABLE.to_csv(tmp_path / "data/t.csv", index=False)
    TABLE.to_parquet(tmp_path / "data/t.parquet", index=False)
    same(read_flat_table(DataSettings(source="csv", path="data/t.csv", **COMMON), tmp_path))
    same(read_flat_table(DataSettings(source="parquet", path="data/t.parquet", **COMMON), tmp_path))


def test_sql_query_reads_through_sqlalchemy(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/db.sqlite"
    engine = sa.create_engine(url)
    TABLE.to_sql("customers", engine, index=False)
    engine.dispose()
    settings = DataSettings(
        source="sql", sql_url=url, sql_query="SELECT * FROM customers ORDER BY cid", **COMMON
    )
    same(read_flat_table(settings, tmp_path))


def test_a_query_giving_two_columns_one_name_is_refused_naming_them_and_the_fix(tmp_path: Path):
    """star98 in SQLite, its label derived in the query (SELECT *, CASE ... END AS above_median) from
    a table that already held above_median: training stopped in load_data on "'DataFrame' object has
    no attribute 'dtype'". A join's SELECT * gives the same (two cid columns)."""
    url = f"sqlite:///{tmp_path}/db.sqlite"
    engine = sa.create_engine(url)
    TABLE.to_sql("customers", engine, index=False)
    TABLE[["cid", "income"]].to_sql("spend", engine, index=False)
    engine.dispose()
    derived = "SELECT *, CASE WHEN income > 8 THEN 'yes' ELSE 'no' END AS churned FROM customers"
    joined = "SELECT * FROM customers JOIN spend ON customers.cid = spend.cid"
    for query, shown in ((derived, "'churned' (2 times)"), (joined, "'cid' (2 times), 'income' (2 times)")):
        settings = DataSettings(source="sql", sql_url=url, sql_query=query, **COMMON)
        with pytest.raises(
            DataSourceError, match="data.sql_query returns columns of the same name"
        ) as caught:
            read_flat_table(settings, tmp_path)
        assert shown in str(caught.value) and "list the columns instead of SELECT *" in str(caught.value)
    renamed = (
        "SELECT customers.*, spend.income AS income_2 FROM customers JOIN spend USING (cid) ORDER BY cid"
    )
    read = read_flat_table(DataSettings(source="sql", sql_url=url, sql_query=renamed, **COMMON), tmp_path)
    assert list(read.columns) == [*TABLE.columns, "income_2"], read.columns


def test_the_database_password_comes_from_the_named_environment_variable(monkeypatch):
    url, fields = (
        "postgresql+psycopg://scorer@db.internal/scores",
        ("scoring.database_url", "scoring.database_password_env"),
    )
    assert database_url(url, None, *fields).password is None
    monkeypatch.delenv("SCORES_DB_PASSWORD", raising=False)
    with pytest.raises(
        ConfigError, match=r"scoring.database_password_env names SCORES_DB_PASSWORD .* not set; export"
    ):
        database_url(url, "SCORES_DB_PASSWORD", *fields)
    monkeypatch.setenv("SCORES_DB_PASSWORD", "p@ss:word/1")
    filled = database_url(url, "SCORES_DB_PASSWORD", *fields)
    assert filled.password == "p@ss:word/1" and "p@ss" not in filled.render_as_string(hide_password=True)
    with pytest.raises(
        ConfigError, match=r"scoring.database_url holds a password and .* take the password out"
    ):
        database_url("postgresql+psycopg://scorer:inline@db/scores", "SCORES_DB_PASSWORD", *fields)
    with pytest.raises(ValueError, match="sql_password_env"):  # a variable's name, not a password
        DataSettings(source="sql", sql_url=url, sql_query="SELECT 1", sql_password_env="hunter2", **COMMON)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            DataSettings(source="csv", path="data/missing.csv", **COMMON),
            r"data.path 'data/missing.csv' does not exist",
        ),
        (DataSettings(source="sql", sql_url="nosuch://x", sql_query="SELECT 1", **COMMON), "is not usable"),
        (
            DataSettings(source="sql", sql_url="sqlite://", sql_query="SELECT * FROM nope", **COMMON),
            "data.sql_query failed",
        ),
    ],
    ids=["missing-file", "bad-url", "bad-query"],
)
def test_unreadable_sources_name_the_setting(tmp_path: Path, settings, message):
    with pytest.raises(DataSourceError, match=message):
        read_flat_table(settings, tmp_path)


@pytest.mark.parametrize("source", ["csv", "parquet", "sql"])
def test_missing_value_markers_are_read_as_missing_from_every_source(tmp_path: Path, source):
    raw = TABLE.assign(income=["10.5", "?", "7"], sex=["f", "m", "unknown"])
    settings = written_as(source, raw, tmp_path)
    data = DataSettings(source=source, missing_values=("?", "unknown"), **settings, **COMMON)
    frame = read_flat_table(data, tmp_path)
    assert pd.api.types.is_numeric_dtype(frame["income"]), f"{source}: income stays text: {frame.dtypes}"
    same(frame)


def test_a_csvs_ids_and_groups_are_read_as_written_on_both_engines(tmp_path: Path):
    """Account '0001234' is not the number 1234: the id and group columns of a CSV keep their text
    (the nightly scores table wrote '1234'), in pandas and in the Dask engines' partitions."""
    import dask

    from adapters.sources import flat_partitions

    (tmp_path / "data").mkdir()
    written = TABLE.assign(cid=["0001234", "0000007", "42"], household=["007", "007", "10"])
    written.to_csv(tmp_path / "data/t.csv", index=False)
    data = DataSettings(source="csv", path="data/t.csv", group_column="household", **COMMON)
    frame = read_flat_table(data, tmp_path)
    assert frame["cid"].tolist() == ["0001234", "0000007", "42"], frame["cid"].tolist()
    assert frame["household"].tolist() == ["007", "007", "10"], frame["household"].tolist()
    parts = dask.compute(*flat_partitions(data, 2, tmp_path, "scoring.engine"), scheduler="sync")
    assert pd.concat(parts)["cid"].tolist() == frame["cid"].tolist()


@pytest.mark.parametrize("written", ["trailing separators", "the row index"])
def test_a_csvs_columns_without_a_header_are_not_read_on_either_engine(tmp_path: Path, caplog, written):
    """A spreadsheet's export ending every line with its separator ("cid;sex;income;churned;") has
    an empty column pandas names 'Unnamed: 4': every run stopped on "hold only missing values". A
    frame saved with `to_csv()` has its row index as a nameless first column: it became a feature.
    Neither is read, by pandas or Dask; the log says which columns and why."""
    import dask

    from adapters.sources import flat_partitions

    (tmp_path / "data").mkdir()
    path = tmp_path / "data/t.csv"
    if written == "the row index":
        TABLE.to_csv(path, sep=";", decimal=",")
        position = 1
    else:
        clean = TABLE.to_csv(index=False, sep=";", decimal=",")
        path.write_text("".join(f"{line};\n" for line in clean.splitlines()))
        position = 5
    csv = {"separator": ";", "decimal": ","}
    data = DataSettings(source="csv", path="data/t.csv", csv=csv, missing_values=["?"], **COMMON)
    with caplog.at_level("WARNING", logger="adapters.sources"):
        frame = read_flat_table(data, tmp_path)
    same(frame)
    assert f"column(s) [{position}] (counting from 1) have no header and are not read" in caplog.text
    parts = dask.compute(*flat_partitions(data, 2, tmp_path, "scoring.engine"), scheduler="sync")
    same(pd.concat(parts))


@pytest.mark.parametrize("late", ["a blank and a fraction", "a missing-value marker"])
def test_a_csv_column_of_whole_numbers_with_something_else_past_dasks_sample_reads_as_pandas_reads_it(
    tmp_path: Path, late
):
    """Dask infers a CSV's dtypes from its first 256 kB: an age of whole numbers there, and further
    down a blank and a 17.5, or a "?" listed in data.missing_values, stopped the Dask engines with
    "Mismatched dtypes" where pandas reads the column whole."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    (tmp_path / "data").mkdir()
    rows = 40_000  # ~550 kB
    table = pd.DataFrame(
        {
            "cid": range(rows),
            "sex": ["f", "m"] * (rows // 2),
            "age": [str(20 + i % 50) for i in range(rows)],
            "churned": ["yes", "no"] * (rows // 2),
        }
    )
    table.loc[rows - 3, "age"], table.loc[rows - 2, "age"] = ("", "17.5") if "blank" in late else ("?", "33")
    table.to_csv(tmp_path / "data/t.csv", index=False)
    assert "\n3,m,23,no\n" in (tmp_path / "data/t.csv").read_text()[:100], "whole numbers in the sample"
    data = DataSettings(source="csv", path="data/t.csv", missing_values=["?", -1], **COMMON)
    whole = read_flat_table(data, tmp_path)
    parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    on_dask = pd.concat([as_declared(part, data) for part in parts], ignore_index=True)
    pd.testing.assert_frame_equal(on_dask, whole, check_dtype=False)
    assert whole["age"].dtype == float and pd.isna(whole["age"].iloc[-3]), whole["age"].tail(3)


def test_text_past_dasks_sample_in_a_column_of_numbers_names_the_declaration_that_reads_it(tmp_path: Path):
    """A product code written 7, 12, ... for 550 kB, then 'X12': Dask's engines stopped with its own
    "Mismatched dtypes" table and its advice to pass dtype= to read_csv, which a project cannot. The
    error names the column and the declaration, which then reads the file as pandas does."""
    import dask

    from adapters.sources import encoding_named, flat_partitions

    @encoding_named
    def read_on_dask(data):  # as the Dask engines' entry points are wrapped
        return pd.concat(
            dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
        )

    (tmp_path / "data").mkdir()
    rows = 40_000
    table = pd.DataFrame(
        {
            "cid": range(rows),
            "sex": ["f", "m"] * (rows // 2),
            "product": [str(i % 50) for i in range(rows)],
            "churned": ["yes", "no"] * (rows // 2),
        }
    )
    table.loc[rows - 2, "product"] = "X12"
    table.to_csv(tmp_path / "data/t.csv", index=False)
    data = DataSettings(source="csv", path="data/t.csv", **COMMON)
    with pytest.raises(DataSourceError) as caught:
        read_on_dask(data)
    message = str(caught.value)
    assert message.startswith("data.path 'data/t.csv': column(s) ['product'] hold text further down than"), (
        message
    )
    assert "(numbers there, then 'X12')" in message and "data.columns: {product: categorical}" in message
    declared = data.model_copy(update={"columns": {"product": "categorical"}})
    on_dask = read_on_dask(declared)
    assert on_dask["product"].tolist() == read_flat_table(declared, tmp_path)["product"].tolist()
    assert on_dask["product"].iloc[-2] == "X12"


def test_a_parquet_of_pandas_nullable_arrow_and_categorical_dtypes_reads_as_its_csv_does(tmp_path: Path):
    """A Parquet file saved after ``convert_dtypes()`` (Int64, Float64, boolean, string), or with
    Arrow strings and categories, keeps those dtypes when read back: training stopped on their
    pd.NA (Evidently: "boolean value of NA is ambiguous"). Both engines read what the CSV reads."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    (tmp_path / "data").mkdir()
    table = pd.DataFrame(
        {
            "cid": [1, 2, 3, 4],
            "sex": ["f", "m", None, "f"],
            "age": [31, None, 45, 52],
            "income": [10.5, None, 7.0, 3.25],
            "vip": [True, None, False, True],
            "plan": ["a", "b", None, "a"],
            "churned": ["yes", "no", "no", "yes"],
        }
    )
    table.to_csv(tmp_path / "data/t.csv", index=False)
    nullable = table.convert_dtypes().astype({"plan": "category", "sex": "string[pyarrow]"})
    assert str(nullable["age"].dtype) == "Int64" and str(nullable["vip"].dtype) == "boolean"
    nullable.to_parquet(tmp_path / "data/t.parquet", index=False)
    csv = read_flat_table(DataSettings(source="csv", path="data/t.csv", **COMMON), tmp_path)
    data = DataSettings(source="parquet", path="data/t.parquet", **COMMON)
    parquet = read_flat_table(data, tmp_path)
    pd.testing.assert_frame_equal(parquet.drop(columns="cid"), csv.drop(columns="cid"))
    (part,) = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    pd.testing.assert_frame_equal(as_declared(part, data).reset_index(drop=True), parquet)


def test_a_folder_of_parquet_files_is_read_by_the_pandas_engine_as_the_dask_engines_read_it(tmp_path: Path):
    """configs/scoring.yaml says data.path may name a folder of Parquet files (one Dask partition each);
    training and the pandas engines said such a folder "does not exist"."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    (tmp_path / "data/table").mkdir(parents=True)
    for i, rows in enumerate((slice(0, 2), slice(2, 3))):
        TABLE.iloc[rows].to_parquet(tmp_path / f"data/table/part-{i}.parquet", index=False)
    data = DataSettings(source="parquet", path="data/table", **COMMON)
    check_source(data, tmp_path)
    whole = read_flat_table(data, tmp_path)
    same(whole)
    parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    pd.testing.assert_frame_equal(as_declared(pd.concat(parts, ignore_index=True), data), whole)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match=r"data.path 'empty' is a folder without a .parquet file"):
        check_source(DataSettings(source="parquet", path="empty", **COMMON), tmp_path)
    with pytest.raises(
        DataSourceError, match=r"data.path 'data/table' is a folder .*a CSV source is one file"
    ):
        check_source(DataSettings(source="csv", path="data/table", **COMMON), tmp_path)


def test_a_hive_partitioned_parquet_folder_reads_its_partition_columns_as_values_on_both_engines(tmp_path):
    """Spark, Hive and pandas' partition_cols write a table as folders named column=value, a missing
    value as column=__HIVE_DEFAULT_PARTITION__. Arrow read such columns as categories, and with that
    folder neither engine read the table: "Cannot yet unify dictionaries with nulls" (pandas), "No
    non-null segments were available for field 'sex'" (Dask)."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    TABLE.assign(year=[2024, 2025, 2025]).to_parquet(tmp_path / "data", partition_cols=["sex", "year"])
    assert {path.name for path in (tmp_path / "data").iterdir()} == {
        "sex=f",
        "sex=m",
        "sex=__HIVE_DEFAULT_PARTITION__",
    }
    data = DataSettings(source="parquet", path="data", **COMMON)
    whole = read_flat_table(data, tmp_path)
    assert whole["year"].tolist() == [2025, 2024, 2025] and whole["sex"].dtype == object, whole
    same(whole.sort_values("cid")[list(TABLE.columns)])
    parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    assert len(parts) == 1, parts  # three small files, read together
    pd.testing.assert_frame_equal(as_declared(parts[0], data), whole)


def test_a_compressed_csv_reads_on_both_engines_the_dask_one_whole_without_a_warning(tmp_path: Path):
    """Dask cannot cut a .csv.gz into blocks: it read it whole after warning the user to pass
    ``blocksize=None``, a keyword they cannot reach."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    (tmp_path / "data").mkdir()
    TABLE.to_csv(tmp_path / "data/t.csv.gz", index=False)
    data = DataSettings(source="csv", path="data/t.csv.gz", **COMMON)
    whole = read_flat_table(data, tmp_path)
    same(whole)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    assert len(parts) == 1, parts
    pd.testing.assert_frame_equal(as_declared(parts[0], data), whole)


def test_a_parquet_of_decimals_reads_numbers_on_both_engines_and_trains_them_as_numbers(tmp_path: Path):
    """A warehouse exports amounts as DECIMAL(10, 2) and ids as DECIMAL(10, 0); pandas and Dask read
    them as Python Decimal objects, and training made each amount a category."""
    from decimal import Decimal

    import dask
    import pyarrow as pa
    import pyarrow.parquet as pq

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared
    from ml.features import infer_schema

    amounts = [Decimal("10.50"), None, Decimal("7.25"), Decimal("3.00")] * 3
    table = pa.table(
        {
            "cid": pa.array([Decimal(i) for i in range(1, 13)], pa.decimal128(10, 0)),
            "amount": pa.array(amounts, pa.decimal128(10, 2)),
            "visits": pa.array([Decimal(v % 4) for v in range(12)], pa.decimal128(10, 0)),
            "churned": ["yes", "no", "no"] * 4,
        }
    )
    (tmp_path / "data").mkdir()
    pq.write_table(table.slice(0, 6), tmp_path / "data/a.parquet")
    pq.write_table(table.slice(6), tmp_path / "data/b.parquet")
    data = DataSettings(source="parquet", path="data", **{**COMMON, "sensitive_features": ()})
    whole = read_flat_table(data, tmp_path)
    assert whole.dtypes.astype(str).to_dict() == {
        "cid": "int64",
        "amount": "float64",
        "visits": "int64",
        "churned": "object",
    }, whole.dtypes
    assert whole["amount"].tolist()[:3] == [10.5, pytest.approx(float("nan"), nan_ok=True), 7.25], whole
    assert whole["cid"].tolist() == list(range(1, 13)), "whole decimals are whole numbers: ids 1, not 1.0"
    parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    on_dask = pd.concat([as_declared(part, data) for part in parts], ignore_index=True)
    pd.testing.assert_frame_equal(on_dask, whole)
    schema = infer_schema(whole, ["amount", "visits"], data, "no")
    assert schema.numeric == ["amount", "visits"] and not schema.categorical, schema


def test_parquet_lists_and_structs_read_as_json_text_on_both_engines(tmp_path: Path):
    """A Spark export's list and struct columns: pandas and Dask read NumPy arrays and dicts, which
    stopped training in load_data ("unhashable type: 'numpy.ndarray'")."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    (tmp_path / "data").mkdir()
    raw = TABLE.assign(tags=[["a", "ñ"], [], None])
    raw["home"] = [{"city": "Lugo", "floors": [1, 2]}, None, {"city": None, "floors": []}]
    raw.iloc[:2].to_parquet(tmp_path / "data/a.parquet", index=False)
    raw.iloc[2:].to_parquet(tmp_path / "data/b.parquet", index=False)
    data = DataSettings(source="parquet", path="data", **COMMON)
    whole = read_flat_table(data, tmp_path)
    assert whole["tags"].tolist()[:2] == ['["a", "ñ"]', "[]"] and pd.isna(whole["tags"][2]), whole["tags"]
    assert whole["home"].tolist()[::2] == [
        '{"city": "Lugo", "floors": [1, 2]}',
        '{"city": null, "floors": []}',
    ]
    same(whole.drop(columns=["tags", "home"]))
    parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    pd.testing.assert_frame_equal(pd.concat([as_declared(p, data) for p in parts], ignore_index=True), whole)


@pytest.mark.filterwarnings("error::FutureWarning")
def test_daily_parquet_files_whose_column_types_drift_read_as_one_table_on_both_engines(tmp_path: Path):
    """A folder of one pandas-written file a day: a count of whole numbers (int64) one day and with
    a blank the next (double), a column missing all day (null), a category saved as pandas'
    category dtype. Dask stopped on "Unable to merge: Field visits has incompatible types: double vs
    int64"; pandas on a fraction in a file after one of whole numbers. Dask's neighbouring files,
    one with the category and one without a city, read as one partition without pandas' warning
    that it will type them otherwise (the file's category is the dataset's text)."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    (tmp_path / "data").mkdir()
    day1 = TABLE.assign(visits=[1, 2, 3], city=pd.Categorical(["a", "b", "a"]))
    day2 = TABLE.assign(cid=[4, 5, 6], visits=[1.5, None, 3.0], city=None, sex=None)
    for day, frame in enumerate((day1, day2), 1):
        frame.to_parquet(tmp_path / f"data/day{day}.parquet", index=False)
    data = DataSettings(source="parquet", path="data", **COMMON)
    whole = read_flat_table(data, tmp_path)
    assert (
        whole["visits"].tolist()[:5] == [1.0, 2.0, 3.0, 1.5, 1.0]
        or whole["visits"].iloc[4] != whole["visits"].iloc[4]
    )
    assert whole["visits"].iloc[3] == 1.5 and whole["city"].tolist()[:3] == ["a", "b", "a"], whole
    parts = dask.compute(*flat_partitions(data, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    pd.testing.assert_frame_equal(pd.concat([as_declared(p, data) for p in parts], ignore_index=True), whole)
    TABLE.assign(visits=["many"] * 3).to_parquet(tmp_path / "data/day3.parquet", index=False)
    with pytest.raises(DataSourceError, match=r"disagree on a column's type .*Field visits has incompatible"):
        read_flat_table(data, tmp_path)


def test_a_numeric_sql_id_is_a_whole_number_id_and_numeric_amounts_numbers(tmp_path: Path, monkeypatch):
    """psycopg reads PostgreSQL NUMERIC as Decimals, which pandas made floats: a NUMERIC(12, 0) id
    1234 became 1234.0, written '1234.0' in the scores table and the API's answers. Here SQLite
    answers Decimals for its columns declared DEC, as such a driver does."""
    import sqlite3
    from decimal import Decimal

    import adapters.sources

    sqlite3.register_converter("DEC", lambda raw: Decimal(raw.decode()))
    url = f"sqlite:///{tmp_path}/db.sqlite"
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        conn.execute("CREATE TABLE t (cid DEC, amount DEC, churned TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [("1234", "10.50", "yes"), ("1235", None, "no")])
    typed = {"connect_args": {"detect_types": sqlite3.PARSE_DECLTYPES}}
    monkeypatch.setattr(adapters.sources, "_sql_engine", lambda url, what: sa.create_engine(url, **typed))
    data = DataSettings(
        source="sql", sql_url=url, sql_query="SELECT * FROM t", **{**COMMON, "sensitive_features": ()}
    )
    frame = read_flat_table(data, tmp_path)
    assert frame["cid"].tolist() == [1234, 1235] and frame["cid"].dtype == "int64", frame
    assert frame["amount"].dtype == "float64" and frame["amount"][0] == 10.5, frame


def test_a_missing_file_is_found_before_a_run_with_the_path_and_the_fix(tmp_path: Path):
    data = DataSettings(source="csv", path="data/customers.csv", **COMMON)
    with pytest.raises(DataSourceError, match=r"data.path 'data/customers.csv' does not exist.*put your CSV"):
        check_source(data, tmp_path)
    check_source(
        DataSettings(source="sql", sql_url="sqlite:///x.db", sql_query="SELECT 1", **COMMON), tmp_path
    )


@pytest.mark.parametrize("source", ["csv", "parquet", "sql"])
def test_codes_declared_categorical_are_categories_from_every_source_and_partition(tmp_path: Path, source):
    """Zip codes stored as numbers (Parquet, SQL) or written with a leading zero (CSV), declared
    categorical: text categories, a CSV's as written; the Dask engines' partitions read alike."""
    import dask

    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    raw = TABLE.assign(zip=[7030, 10001, None], rating=[1.0, 2.0, 2.0])
    settings = written_as(source, raw, tmp_path, csv=raw.assign(zip=["07030", "10001", None]))
    data = DataSettings(
        source=source, columns={"zip": "categorical", "rating": "categorical"}, **settings, **COMMON
    )
    frame = read_flat_table(data, tmp_path)
    written = {"csv": ["07030", "10001"], "parquet": ["7030", "10001"], "sql": ["7030", "10001"]}[source]
    assert frame["zip"].tolist()[:2] == written and pd.isna(frame["zip"].iloc[2]), frame["zip"].tolist()
    assert frame["rating"].tolist() == (["1.0", "2.0", "2.0"] if source == "csv" else ["1", "2", "2"])
    same(frame.drop(columns=["zip", "rating"]))
    parts = dask.compute(*flat_partitions(data, 2, tmp_path, "scoring.engine"), scheduler="sync")
    on_dask = pd.concat([as_declared(part, data) for part in parts]).sort_values("cid", ignore_index=True)
    pd.testing.assert_frame_equal(on_dask, frame.sort_values("cid", ignore_index=True), check_dtype=False)


SPANISH = pd.DataFrame(
    {
        "cid": [1, 2, 3],
        "región": ["Cádiz", "Logroño", None],
        "importe": [16.99, 1234.5, None],
        "baja": ["sí", "no", "no"],
    }
)
SPANISH_ROLES = {
    "target_column": "baja",
    "positive_label": "sí",
    "id_column": "cid",
    "sensitive_features": (),
}


def test_numbers_written_with_thousands_separators_read_as_numbers_on_both_engines(tmp_path: Path):
    """A Spanish spreadsheet writes 1234.5 as `1.234,5` (an English one `1,234.5`): with
    data.csv.thousands the column is numbers, as the file means them, in pandas and on Dask."""
    import dask

    from adapters.sources import flat_partitions

    (tmp_path / "data").mkdir()
    text = "cid;región;importe;baja\n1;Cádiz;16,99;sí\n2;Logroño;1.234,5;no\n3;;;no\n"
    (tmp_path / "data/t.csv").write_text(text, encoding="cp1252")
    csv = {"separator": ";", "decimal": ",", "thousands": ".", "encoding": "cp1252"}
    settings = DataSettings(source="csv", path="data/t.csv", csv=csv, **SPANISH_ROLES)
    read = read_flat_table(settings, tmp_path)
    assert read["importe"].dtype == float and read["importe"].tolist()[:2] == [16.99, 1234.5], read
    (part,) = dask.compute(*flat_partitions(settings, 1000, tmp_path, "scoring.engine"), scheduler="sync")
    pd.testing.assert_frame_equal(part.reset_index(drop=True), read)
    english = tmp_path / "data/en.csv"  # a comma CSV quotes its thousands: "1,234.5"
    english.write_text('cid,región,importe,baja\n1,Cádiz,16.99,sí\n2,Logroño,"1,234.5",no\n3,,,no\n')
    comma = DataSettings(source="csv", path="data/en.csv", csv={"thousands": ","}, **SPANISH_ROLES)
    assert read_flat_table(comma, tmp_path)["importe"].tolist()[:2] == [16.99, 1234.5]
    unsaid = read_flat_table(
        settings.model_copy(update={"csv": settings.csv.model_copy(update={"thousands": None})}), tmp_path
    )
    assert unsaid["importe"].tolist()[:2] == ["16,99", "1.234,5"], "without it: text"


def test_a_spanish_locale_csv_reads_as_written_with_its_csv_settings(tmp_path: Path):
    """A spreadsheet of a Spanish locale saves `16,99` separated by `;` in cp1252 (ñ, á as one byte):
    data.csv says so, and both engines read the table the comma CSV holds."""
    from adapters.sources import flat_partitions

    (tmp_path / "data").mkdir()
    SPANISH.to_csv(tmp_path / "data/t.csv", index=False, sep=";", decimal=",", encoding="cp1252")
    settings = DataSettings(
        source="csv",
        path="data/t.csv",
        csv={"separator": ";", "decimal": ",", "encoding": "cp1252"},
        **SPANISH_ROLES,
    )
    read = read_flat_table(settings, tmp_path)
    expected = missing_as_none(SPANISH.assign(cid=SPANISH["cid"].astype(str)))  # ids: text as written
    pd.testing.assert_frame_equal(missing_as_none(read), expected)
    assert read["importe"].dtype == float, "16,99 is a number"
    (part,) = flat_partitions(settings, 1000, tmp_path, "scoring.engine")
    pd.testing.assert_frame_equal(missing_as_none(part.compute().reset_index(drop=True)), expected)


def test_a_csv_read_with_the_wrong_separator_or_encoding_names_the_setting(tmp_path: Path):
    (tmp_path / "data").mkdir()
    SPANISH.to_csv(tmp_path / "data/t.csv", index=False, sep=";", decimal=",", encoding="utf-8")
    plain = DataSettings(source="csv", path="data/t.csv", **SPANISH_ROLES)
    with pytest.raises(DataSourceError) as caught:
        read_flat_table(plain, tmp_path)
    assert str(caught.value) == (
        "data.path 'data/t.csv' read as one column named 'cid;región;importe;baja': its fields seem "
        "separated by ';', not ','; set data.csv.separator: ';' in configs/project.yaml (and "
        "data.csv.decimal: ',' if its numbers are written 16,99)"
    )
    SPANISH.to_csv(tmp_path / "data/t.csv", index=False, encoding="cp1252")
    with pytest.raises(
        DataSourceError, match=r"is not utf-8 text \(byte 0xf3 at position \d+\); set data.csv.encoding"
    ):
        read_flat_table(plain, tmp_path)


@pytest.mark.parametrize(
    ("csv", "error"),
    [
        ({"separator": ",", "decimal": ","}, "separator and decimal are both ','"),
        (
            {"separator": ";", "decimal": ",", "thousands": ","},
            "thousands and decimal are both ','; 1.234,56",
        ),
        ({"encoding": "klingon"}, "unknown encoding 'klingon'; use e.g. utf-8, latin-1 or cp1252"),
        ({"separator": ";;"}, "data.csv.separator"),
    ],
)
def test_csv_settings_that_cannot_be_read_are_refused_by_name(tmp_path: Path, csv, error):
    from ml.settings import ProjectSettings, load_settings

    config = tmp_path / "project.yaml"
    data = {"source": "csv", "path": "t.csv", "csv": csv, **SPANISH_ROLES, "sensitive_features": []}
    config.write_text(yaml.safe_dump({"project_name": "p", "model_name": "m1", "data": data}))
    with pytest.raises(ConfigError, match=re.escape(error)):
        load_settings(config, ProjectSettings)


def test_uuids_json_addresses_and_bytes_from_a_driver_become_text_and_a_parquet_uuid_too(tmp_path):
    """A PostgreSQL `uuid` primary key reads (psycopg) as `uuid.UUID` objects, which the step
    artifacts (Parquet) stored as 16 raw bytes: scoring stopped on "'utf-8' codec can't decode byte
    0x87" and the deployment's smoke test on "Unterminated UTF-8 sequence". A Parquet file of UUIDs
    reads as those bytes too. Both now read as the UUIDs' text; text, numbers, booleans, dates and
    missing values are kept as they are."""
    import datetime
    import ipaddress
    import uuid

    import dask

    from adapters.sources import flat_partitions, plain_values, read_parquet_file

    ids = [uuid.UUID(int=(7 << 120) + n) for n in range(3)]
    driver = pd.DataFrame(
        {
            "respondent": ids,
            "answers": [{"q1": "sí"}, None, [1, 2]],
            "address": [ipaddress.ip_address("10.0.0.1"), None, ipaddress.ip_address("::1")],
            "photo": [b"\x87\x01", None, b""],
            "name": ["Ana", None, "Luis"],
            "happy": [True, None, False],
            "surveyed_on": [datetime.date(1974, 1, 10), None, datetime.date(1974, 2, 11)],
            "age": [32.0, None, 22.0],
            "called_at": [datetime.time(8, 30), None, datetime.time(17, 5, 9)],  # Evidently failed on them
        }
    )
    read = plain_values(driver.copy())
    assert read["called_at"].tolist()[::2] == ["08:30:00", "17:05:09"], "times of day as a CSV reads them"
    assert (
        read["respondent"].tolist()
        == [str(i) for i in ids]
        == [f"07000000-0000-0000-0000-00000000000{n}" for n in range(3)]
    )
    assert read["answers"].tolist()[::2] == ['{"q1": "sí"}', "[1, 2]"] and pd.isna(read["answers"][1])
    assert read["address"].tolist()[::2] == ["10.0.0.1", "::1"] and read["photo"].tolist()[::2] == [
        "8701",
        "",
    ]
    pd.testing.assert_frame_equal(
        read[["name", "happy", "surveyed_on", "age"]], driver[["name", "happy", "surveyed_on", "age"]]
    )
    driver[["respondent", "name"]].to_parquet(tmp_path / "t.parquet")
    assert pd.read_parquet(tmp_path / "t.parquet")["respondent"][0] == ids[0].bytes  # pandas' own read
    stored = read_parquet_file(tmp_path / "t.parquet")
    assert stored["respondent"].tolist() == [str(i) for i in ids] and stored["name"][0] == "Ana", stored
    folder = tmp_path / "folder"  # the Dask engine's partitions: one per file, read the same way
    folder.mkdir()
    for part in (0, 1):
        driver[["respondent", "age"]].iloc[part * 2 : part * 2 + 2].to_parquet(folder / f"{part}.parquet")
    data = DataSettings(
        source="parquet", path=str(folder), target_column="age", id_column="respondent", sensitive_features=()
    )
    parts = dask.compute(*flat_partitions(data, 100, tmp_path, "scoring.engine"), scheduler="sync")
    assert [key for part in parts for key in part["respondent"]] == [str(i) for i in ids], parts


def test_a_folder_of_small_daily_parquet_files_is_read_in_partitions_of_neighbouring_files(
    tmp_path: Path, monkeypatch
):
    """A Parquet folder was one Dask partition per file: 1,095 daily files of fair's 6,366 rows cost
    a task and a staged write each (scoring on Dask took 3x the pandas engine's time). Neighbouring
    files are read together, as many as fit in ``partition_rows`` rows and BLOCKSIZE bytes
    (uncompressed) whatever their sizes; a file larger than either stays a partition of its own.
    Every row once, in the files' order, the rows pandas reads. (statsmodels' fair, 60 daily files
    of 10 rows.)"""
    import dask
    import statsmodels.api as sm

    from adapters import sources
    from adapters.sources import flat_partitions
    from ml.data.validation import as_declared

    fair = sm.datasets.fair.load_pandas().data.head(600)
    fair = fair.assign(had_affair=(fair.pop("affairs") > 0).map({True: "yes", False: "no"}))
    fair.insert(0, "respondent", range(1, len(fair) + 1))
    (tmp_path / "data").mkdir()
    for day, start in enumerate(range(0, len(fair), 10)):
        fair.iloc[start : start + 10].to_parquet(
            tmp_path / f"data/2026-10-{day + 1:02d}.parquet", index=False
        )
    data = DataSettings(
        source="parquet",
        path="data",
        target_column="had_affair",
        positive_label="yes",
        id_column="respondent",
        sensitive_features=["religious"],
    )
    whole = read_flat_table(data, tmp_path)
    _, sizes = sources.parquet_dataset(tmp_path / "data")
    largest = max(size for _, size in sizes)

    def read(partition_rows: int, blocksize: int = sources.BLOCKSIZE) -> list[pd.DataFrame]:
        monkeypatch.setattr(sources, "BLOCKSIZE", blocksize)
        parts = flat_partitions(data, partition_rows, tmp_path, "scoring.engine")
        return [as_declared(part, data) for part in dask.compute(*parts, scheduler="sync")]

    (together,) = read(100_000)
    pd.testing.assert_frame_equal(together, whole)
    by_rows = read(25)  # two files of 10 rows a partition
    assert [len(part) for part in by_rows] == [20] * 30
    by_bytes = read(100_000, 7 * largest + 1)  # seven files a partition, the last the rest: 60 = 8 x 7 + 4
    assert [len(part) for part in by_bytes] == [70] * 8 + [40]
    for parts in (by_rows, by_bytes):
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert len(read(9)) == len(read(100_000, largest - 1)) == 60  # a file larger than either: alone

    # a day without a value of a column: pandas saved it as object; read in the other days' type, the
    # partitions concatenated without pandas' FutureWarning about all-missing columns
    fair.iloc[:10].assign(children=None, occupation=None).to_parquet(tmp_path / "data/2026-10-01.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        (together,) = read(100_000)
        one_per_file = [part.compute(scheduler="sync") for part in flat_partitions(data, 9, tmp_path, "x")]
    assert together[["children", "occupation"]].iloc[:10].isna().all().all()
    assert together.dtypes.equals(whole.dtypes) and len(together) == 600, together.dtypes
    assert all(part.dtypes.equals(one_per_file[1].dtypes) for part in one_per_file), one_per_file[0].dtypes
