from datetime import date

import pandas as pd
import pytest

from adapters.scores_db import read_scores, write_scores
from ml import names
from ml.data.demo import generate_demo
from ml.data.validation import DataValidationError
from ml.scoring import (
    demo_customers,
    missing_untrained,
    missing_untrained_lines,
    resolve_day,
    score,
    unseen_categories,
    unseen_lines,
)
from ml.settings import DataSettings, DemoSettings, ScoringSettings
from tests.unit import test_scores_db

DAY = date(2026, 3, 1)
engine = test_scores_db.engine  # the fixture: a SQLite scores database
scores = test_scores_db.scores


def test_demo_customers_are_deterministic_per_day_and_differ_between_days():
    data = DataSettings(demo=DemoSettings(customers=300))
    one = demo_customers(data, ScoringSettings(), DAY)
    assert one.equals(demo_customers(data, ScoringSettings(), DAY)), "same day, same customers"
    assert not one.equals(demo_customers(data, ScoringSettings(), date(2026, 3, 2))), "a new day"
    drifted = demo_customers(data, ScoringSettings(drift=1.0), DAY)
    assert drifted["avg_amount"].median() > one["avg_amount"].median() * 1.2, "drift knob shifts amounts"


@pytest.fixture(scope="module")
def trained():
    """A small LightGBM pipeline on demo features, its schema and a batch of customers to score."""
    from ml.features import build_customer_features, feature_columns, infer_schema
    from ml.settings import FeatureSettings, ModelSettings
    from ml.training import train_model

    tables = generate_demo(customers=800, seed=5)
    frame = build_customer_features(tables.customers, tables.sales)
    data = DataSettings()
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    model = train_model(frame, schema, ModelSettings(kind="lightgbm"), seed=0)
    return model, schema, frame.head(40).reset_index(drop=True)


def run_score(trained, frame):
    model, schema, _ = trained
    return score(model, frame, schema, 0.5, "1", DAY, names.ID)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda f: f.iloc[0:0], "has no rows"),
        (lambda f: f.drop(columns="region"), r"lacks the model's feature column\(s\) \['region'\]"),
        (
            lambda f: f.rename(columns={"region": "Region "}),
            r"lacks the model's feature column\(s\) \['region'\] \(did you mean 'Region ' for 'region'\?\)",
        ),
        (
            lambda f: f.assign(tenure_months="twelve"),
            "'tenure_months' should be numeric, but has dtype object .* or, if data.columns .* declares "
            "'tenure_months' categorical since this model was trained, train a new one",
        ),
        (lambda f: f.assign(annual_income=float("nan")), r"\['annual_income'\] .* only missing values"),
    ],
    ids=["empty-table", "missing-column", "renamed-column", "wrong-dtype", "nan-only-column"],
)
def test_unscorable_batches_are_refused_naming_the_column(trained, mutate, expected):
    with pytest.raises(DataValidationError, match=expected):
        run_score(trained, mutate(trained[2]))


def test_an_unseen_category_is_scored_as_missing_and_reported(trained):
    _, schema, frame = trained
    novel = frame.assign(region=["atlantis"] * 5 + list(frame.region[5:]))
    assert unseen_categories(novel, schema) == {"region": ["atlantis"]}, "the new value is reported"
    assert unseen_categories(frame, schema) == {}, "training categories are not reported"
    assert unseen_lines({"region": ["atlantis"]}) == [
        "region: ['atlantis'] unseen in training, scored as missing values (retraining learns them)"
    ]
    as_missing = frame.assign(region=[None] * 5 + list(frame.region[5:]))
    got, expected = run_score(trained, novel), run_score(trained, as_missing)
    pd.testing.assert_series_equal(got.probability, expected.probability, obj="unseen vs missing")
    assert got.probability.between(0, 1).all() and len(got) == len(frame), got


def test_a_value_missing_where_training_never_lacked_one_is_scored_as_the_model_reads_it_and_counted(trained):
    """tips' `size`, never missing in training, blank in tonight's rows: the API refuses its null, and
    batch scoring, which has no client to ask, scores the row as the model does and says how many."""
    _, schema, frame = trained
    assert not next(spec for spec in schema.features if spec.name == "tenure_months").nullable
    assert next(spec for spec in schema.features if spec.name == "annual_income").nullable
    holes = frame.copy()
    holes.loc[:2, "tenure_months"] = float("nan")
    holes.loc[3:4, "region"] = None
    holes.loc[5:9, "annual_income"] = float("nan")  # missing in training too: the model learnt it
    assert missing_untrained(holes, schema) == {"region": 2, "tenure_months": 3}
    assert missing_untrained(frame, schema) == {}
    how = (
        "never missing in training: scored as the model scores a missing value it never learnt (LightGBM:"
        " a number as 0, a category as one it never saw); fix the source, or retrain on a table where it"
        " can be missing"
    )
    assert missing_untrained_lines({"tenure_months": 3, "region": 1}) == [
        f"tenure_months: 3 rows without a value, {how}",
        f"region: 1 row without a value, {how}",
    ]
    got = run_score(trained, holes)
    as_zero = run_score(trained, holes.assign(tenure_months=holes.tenure_months.fillna(0)))
    pd.testing.assert_series_equal(got.probability, as_zero.probability, obj="missing tenure vs 0")
    assert len(got) == len(frame) and got.probability.between(0, 1).all(), got


def test_a_refused_batch_writes_nothing_and_keeps_the_dates_rows(engine, trained):
    write_scores(engine, "s", scores(50), DAY)
    before = read_scores(engine, "s", DAY)
    with pytest.raises(DataValidationError):
        write_scores(engine, "s", run_score(trained, trained[2].iloc[0:0]), DAY)
    pd.testing.assert_frame_equal(before, read_scores(engine, "s", DAY), obj="rows after a refused batch")


def test_a_scheduled_run_scores_its_own_day_and_a_bad_day_is_named():
    assert resolve_day("today", today=date(2026, 3, 9)) == "2026-03-09"
    assert resolve_day("2026-03-05") == "2026-03-05"
    with pytest.raises(ValueError, match="day 'yesterday' is not a date; use YYYY-MM-DD or 'today'"):
        resolve_day("yesterday")


def test_hundreds_of_unseen_categories_are_counted_with_ten_examples_not_printed_whole():
    """titanic scored nightly: 342 tickets and 110 destinations the model never saw. A line each,
    the count and ten of them; the run's record keeps them all."""
    tickets = [f"{n}" for n in range(110_000, 110_342)]
    (ticket, region) = unseen_lines({"ticket": tickets, "region": ["atlantis", "lemuria"]})
    assert ticket == (
        f"ticket: 342 values unseen in training, e.g. {tickets[:10]} (all of them in the version's"
        " last_batch_scoring.unseen_categories), scored as missing values (retraining learns them)"
    ), ticket
    assert region.startswith("region: ['atlantis', 'lemuria'] unseen in training"), region


def test_the_scores_table_is_keyed_by_the_tables_own_id_column_and_one_keyed_otherwise_is_refused(
    engine, trained
):
    """A table of patients (or of rows without an id) scored into a `customer_id` column: the scores
    table is keyed by the project's id column as the table names it ("id paciente"), or by
    `row_index`; both engines' writers (one transaction, or staged partitions) take that key. A table
    an earlier release keyed by customer_id is refused naming the rename that keeps its rows, and
    after it the date's rows are replaced and the others kept."""
    from adapters.scores_db import replace_from_staging, stage_scores
    from ml.scoring import score_key

    model, schema, frame = trained
    patients = frame.rename(columns={names.ID: "id paciente"}).assign(
        **{"id paciente": lambda f: "P-" + f.index.astype(str)}
    )
    by_patient = score(model, patients, schema, 0.5, "1", DAY, "id paciente")
    assert list(by_patient.columns) == ["id paciente", *names.SCORE_VALUES]
    assert (
        list(score(model, frame.drop(columns=names.ID), schema, 0.5, "1", DAY, None).columns)[0]
        == "row_index"
    )
    assert (
        score_key(None) == names.SCORES_ROW_KEY == "row_index" and score_key("id paciente") == "id paciente"
    )

    key = "id paciente"
    assert write_scores(engine, "patients", by_patient, DAY, key) == len(frame)
    later = date(2026, 3, 2)
    staged = by_patient.assign(scoring_date=later.isoformat())
    stage_scores(engine, "patients_staging_x", staged.iloc[:25], 0, later, "1", key)
    stage_scores(engine, "patients_staging_x", staged.iloc[25:], 1, later, "1", key)
    assert (
        replace_from_staging(engine, "patients", "patients_staging_x", later, "1", {0: 25, 1: 15}, key) == 40
    )
    both = read_scores(engine, "patients", key=key)
    assert list(both.columns) == ["id paciente", *names.SCORE_VALUES]
    assert both.groupby("scoring_date")[key].apply(sorted).tolist() == [sorted(patients[key])] * 2

    write_scores(engine, "s", scores(50), DAY)  # keyed by customer_id, as every table was before
    write_scores(engine, "s", scores(10, day=later), later)
    with pytest.raises(
        ValueError,
        match=r"the scores table 's' \(sqlite:///.*\) is keyed by 'customer_id', but this project scores by "
        r"'id paciente' \(data.id_column; 'row_index' when empty\): rename its column to keep its rows "
        r"\(ALTER TABLE s RENAME COLUMN customer_id TO \"id paciente\"\), or set scoring.table",
    ):
        write_scores(engine, "s", by_patient, DAY, key)
    with pytest.raises(ValueError, match="is keyed by 'customer_id'"):
        replace_from_staging(engine, "s", "patients_staging_x", later, "1", None, key)
    with engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE s RENAME COLUMN customer_id TO "id paciente"')
    write_scores(engine, "s", by_patient, DAY, key)
    kept = read_scores(engine, "s", key=key)
    assert sorted(kept[key][kept.scoring_date == DAY.isoformat()]) == sorted(patients[key])
    assert sorted(kept[key][kept.scoring_date == later.isoformat()], key=int) == [
        str(i) for i in range(1, 11)
    ]


def test_an_id_column_named_as_a_column_the_scores_table_writes_is_refused():
    with pytest.raises(ValueError, match=r"id column 'probability' is also a column the scores table writes"):
        DataSettings(
            source="csv", path="t.csv", target_column="y", positive_label="1", id_column="probability"
        )


def test_a_key_with_spaces_and_brackets_is_written_by_drivers_that_take_named_parameters(tmp_path):
    """Drivers with named parameters (psycopg2, pymysql's pyformat) get each row as a dict keyed as
    the compiled statement names its parameters: "id paciente (ñ)" is escaped there."""
    import sqlalchemy as sa

    named = sa.create_engine(f"sqlite:///{tmp_path}/named.sqlite", paramstyle="named")
    try:
        assert not named.dialect.positional
        frame = scores(3).rename(columns={names.ID: "id paciente (ñ)"})
        assert write_scores(named, "s", frame, DAY, "id paciente (ñ)") == 3
        back = read_scores(named, "s", DAY, "id paciente (ñ)")
    finally:
        named.dispose()
    assert back["id paciente (ñ)"].tolist() == ["1", "2", "3"] and back.probability.tolist() == [0.7] * 3
