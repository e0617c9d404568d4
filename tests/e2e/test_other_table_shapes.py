"""Tables shaped unlike the demo, as users bring them, through `run.py train` (and `score`):

- scikit-learn's `wine`: three cultivars (`negative_label: other` makes cultivar 1 against the
  rest), thirteen measurements and no people (`sensitive_features: []`), 178 rows
  (`promotion.min_test_rows: 30`, `min_metric_support: 10`). Training used to stop in
  `check_fairness`. Some columns are named as spreadsheets name them ('alcohol [% vol]',
  'colour: intensity', 'malic acid, g/l', '{hue}'):
  LightGBM refused them ("special JSON characters in feature name") and every candidate failed.
  Its ids are written with leading zeros (`bottle` '00007'): the scores table wrote '7'. Its
  `notes` column is empty, as an export's often is, and listed under `features.drop`: training
  stopped on "hold only missing values; ... list them under features.drop" all the same. Its
  `cellar` is the same in every row: training says the API asks for it in vain.
- statsmodels' `modechoice` as Parquet: four rows per traveller, one per mode, the chosen one "yes"
  (`group_column: individual`, no id column). A repeated id used to be the only way to name them.
- statsmodels' `fair` in a real PostgreSQL table, typed as a database types it: a `uuid` primary
  key, the survey's `date`, `numeric` ages, a `boolean` feature with NULLs and a `boolean` target.
  Training stopped in `profile_data` on the dates, and once they were dropped, scoring on the UUIDs
  (stored in the step artifacts as raw bytes); the Dask engine asked PostgreSQL for MIN(uuid),
  which it has not. Both engines now write the same rows under the table's own keys.
- statsmodels' `anes96` as a CSV whose `TVnews` holds a survey's -1 for "refused" in one row of
  seven (`missing_values: [-1]`), the vote 0/1 with `positive_label: 1` written as a YAML number.
"""

import datetime
import sys
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import statsmodels.api as sm
import yaml
from sklearn.datasets import load_wine

from adapters.scores_db import read_scores
from ml import names
from tests.e2e import harness
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, must, run_cli, run_json
from tests.e2e.postgres import postgres_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    state = tmp_path_factory.mktemp("shapes")
    env, project = harness.demo_stack(state)
    return state, env, project


def train(state, env, project, table, file, training=None, **roles):
    config = harness.user_table_config(state, project, table, file, **roles)
    args = ["train", "--project", str(config), "--config", training or harness.training_config(state, "one")]
    return config, must(run_cli(PROJECT_ROOT, env, *args))


def learnt(env, number: int, column: str) -> dict:
    command = [sys.executable, "-m", "tests.e2e.split_probe", MODEL_NAME, str(number), column]
    return run_json(command, PROJECT_ROOT, env)


def decision(env, number: int) -> tuple[str, dict]:
    version = next(
        v for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"] if v["number"] == number
    )
    return version["stage"], version["metadata"][names.PROMOTION_DECISION]


ODD_NAMES = {
    "alcohol": "alcohol [% vol]",
    "color_intensity": "colour: intensity",
    "malic_acid": "malic acid, g/l",
    "hue": "{hue}",
}


@pytest.fixture(scope="module")
def wine(state):
    state, env, project = state
    table = load_wine(as_frame=True).frame.rename(columns=ODD_NAMES)
    table.insert(0, "bottle", [f"{row:05d}" for row in range(len(table))])  # ids as a cellar writes them
    table["notes"] = None  # a spreadsheet's empty column, which the config drops
    table["cellar"] = "Bodega Norte"  # one value in every row: the model learns nothing from it
    small = harness.training_config(
        state,
        "small",
        search={"candidates": [{}]},
        features={"use_sensitive_features": False, "drop": ["notes"]},
        promotion__min_test_rows=30,
        promotion__min_metric_support=10,
    )
    roles = {
        "target_column": "target",
        "positive_label": 1,
        "negative_label": "other",
        "sensitive_features": [],
    }
    config, trained = train(state, env, project, table, "wine.csv", small, id_column="bottle", **roles)
    scored = must(run_cli(PROJECT_ROOT, env, "score", "--project", str(config), "--date", "2026-03-01"))
    return env, table, trained, scored


def test_a_three_class_table_about_no_people_is_released_one_against_the_rest_fairness_not_judged(wine):
    env, table, trained, scored = wine
    stage, record = decision(env, 1)
    assert (stage, record["stage"]) == ("production", "production"), record
    assert any("fairness not judged: data.sensitive_features is empty" in r for r in record["reasons"]), (
        record
    )
    engine = sa.create_engine(f"sqlite:///{env['PROJECT_STATE_DIR']}/scores.sqlite")
    scores = read_scores(engine, "customer_scores", key="bottle")  # keyed by the table's own id column
    engine.dispose()
    assert len(scores) == len(table) == 178 and set(scores[names.TARGET]) == {"1", "other"}, scores.head()
    assert list(scores.columns) == ["bottle", *names.SCORE_VALUES], scores.columns
    assert sorted(scores["bottle"]) == table["bottle"].tolist(), "the CSV's ids as written: '00007'"
    in_order = scores.sort_values("bottle")  # ids: row numbers written with five digits
    agree = (in_order[names.TARGET].to_numpy() == "1") == (table["target"] == 1).to_numpy()
    assert agree.mean() > 0.9, f"cultivar 1 against the others, scored on its own table: {agree.mean():.3f}"
    schema = learnt(env, 1, "target")["schema"]
    assert set(ODD_NAMES.values()) <= {f["name"] for f in schema["features"]}, "the table's own names"
    assert "notes" not in {f["name"] for f in schema["features"]} and "notes" in schema["unused_columns"]
    said = trained.stdout + trained.stderr
    assert "feature column(s) ['cellar'] hold one value in all 178 rows (e.g. 'cellar': 'Bodega" in said
    versions = harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"]
    release = next(v for v in versions if v["number"] == 1)["metadata"][names.RELEASE]
    assert release["model_kind"] == "lightgbm", release  # the booster took the names


def test_a_travellers_rows_stay_in_one_split_and_never_feed_the_model(state):
    state, env, project = state
    table = sm.datasets.modechoice.load_pandas().data
    table["mode"] = table["mode"].map({1.0: "air", 2.0: "train", 3.0: "bus", 4.0: "car"})
    table["choice"] = np.where(table["choice"] == 1, "yes", "no")
    roles = {"target_column": "choice", "positive_label": "yes", "sensitive_features": ["psize"]}
    train(state, env, project, table, "modechoice.parquet", id_column="", group_column="individual", **roles)
    number = max(v["number"] for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"])
    seen = learnt(env, number, "individual")
    travellers = [
        set(seen["splits"][name]) for name in ("dataset_train", "dataset_validation", "dataset_test")
    ]
    assert sum(map(len, travellers)) == len(set.union(*travellers)) == 210, "a traveller in two splits"
    assert "individual" not in [f["name"] for f in seen["schema"]["features"]]


def test_a_surveys_minus_one_is_missing_and_a_yaml_number_names_the_positive_vote(state):
    state, env, project = state
    table = sm.datasets.anes96.load_pandas().data.drop(columns=["logpopul"])
    table["TVnews"] = table["TVnews"].astype(int).where(table.index % 7 > 0, -1)
    roles = {
        "target_column": "vote",
        "positive_label": 1,
        "sensitive_features": ["age"],
        "missing_values": [-1],
    }
    _, trained = train(state, env, project, table, "anes96.csv", id_column="", **roles)
    number = max(v["number"] for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"])
    schema = learnt(env, number, "vote")["schema"]
    tv = next(f for f in schema["features"] if f["name"] == "TVnews")
    assert tv["minimum"] == 0 and tv["nullable"] and tv["missing_markers"] == [-1.0], tv
    assert schema["positive_label"] == "1" and schema["negative_label"] == "0", schema
    numeric = [f for f in schema["features"] if f["kind"] == "numeric"]
    assert all(f["minimum"] >= 0 and f["missing_markers"] == [-1.0] for f in numeric), "no -1 learnt"


def test_a_gate_that_must_judge_rejects_a_survey_whose_age_bands_are_too_small_to_compare(state):
    """anes96 with age cut in the training split's quartiles (no `fairness.bins`) leaves ~47 test rows
    per band, below `min_group_size` 60 (ties make one band larger, still below): the gate judges
    nothing for age. With
    `when_not_judged: block` the version is rejected, the decision naming the column, the band sizes
    and the setting, not a passing note."""
    state, env, project = state
    table = sm.datasets.anes96.load_pandas().data.drop(columns=["logpopul"])
    roles = {"target_column": "vote", "positive_label": 1, "sensitive_features": ["age"]}
    strict = harness.training_config(
        state,
        "must-judge",
        search={"candidates": [{}]},
        fairness__bins={},
        fairness__min_group_size=60,
        fairness__when_not_judged="block",
    )
    train(state, env, project, table, "anes96-strict.csv", strict, id_column="", **roles)
    number = max(v["number"] for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"])
    stage, record = decision(env, number)
    assert (stage, record["stage"]) != ("production", "production") and record["stage"] == "rejected", record
    blocked = [r for r in record["reasons"] if r.startswith("fairness gate: model 'age' not judged: ")]
    assert len(blocked) == 1 and "of its 4 groups" in blocked[0], record["reasons"]
    assert "fairness.when_not_judged: block" in blocked[0], blocked
    assert not any(r.startswith("fairness note:") and "'age' not judged" in r for r in record["reasons"])
    # the bands were cut once, on the training split, and the gate and the mitigated model used them
    metadata = next(
        v for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"] if v["number"] == number
    )["metadata"]
    edges = metadata[names.FAIRNESS][names.GROUP_EDGES]
    assert list(edges) == ["age"] and len(edges["age"]) == 3 and edges["age"] == sorted(edges["age"]), edges
    mitigated = metadata[names.MITIGATED_EVALUATION]
    assert mitigated["available"] and mitigated[names.FAIRNESS][names.GROUP_EDGES] == edges, mitigated


def test_a_table_that_keeps_the_column_its_label_was_derived_from_is_rejected_naming_it(state):
    """statsmodels' `fair` labelled 'had an affair' (`affairs > 0`) with `affairs` left in the
    table, as a user exporting every column would: the model scores the test split perfectly. The
    version is rejected as target leakage, the decision naming the column and the fix; the metrics
    keep each feature's own figure."""
    state, env, project = state
    table = sm.datasets.fair.load_pandas().data
    table["affair"] = np.where(table["affairs"] > 0, "yes", "no")
    roles = {"target_column": "affair", "positive_label": "yes", "sensitive_features": []}
    quick = harness.training_config(state, "leak", search={"candidates": [{}]}, fairness__mitigation="none")
    train(state, env, project, table, "fair-leak.csv", quick, id_column="", **roles)
    number = max(v["number"] for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"])
    stage, record = decision(env, number)
    assert stage != "production" and record["stage"] == "rejected", record
    (leak,) = [r for r in record["reasons"] if "promotion.max_single_feature_roc_auc" in r]
    assert leak.startswith(
        "quality gate: model's feature(s) alone rank the test split with ROC AUC 'affairs' 1.0000; not"
    ), leak
    assert "target leakage" in leak and "features.drop: ['affairs']" in leak, leak
    metadata = next(
        v for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"] if v["number"] == number
    )["metadata"]
    alone = metadata[names.METRICS][names.SINGLE_FEATURE_ROC_AUC]
    assert list(alone)[0] == "affairs" and alone["affairs"] == 1.0, alone
    assert all(value < 0.8 for column, value in alone.items() if column != "affairs"), alone


SURVEY = """CREATE TABLE survey (
    respondent uuid PRIMARY KEY, surveyed_on date, rate_marriage smallint, age numeric(4,1),
    yrs_married numeric(4,1), children numeric(3,1), religious integer, educ integer,
    occupation integer, occupation_husb integer, married_happily boolean, had_affair boolean)"""


def test_a_postgresql_table_with_uuid_keys_dates_and_booleans_trains_and_scores_under_its_own_ids(
    state, wine
):
    """(After the wine table, whose scores table, keyed by bottle, this state directory holds.) The
    server asks for a password, which the project reads from data.sql_password_env, never its URL:
    training, pandas scoring and the Dask workers' id-range reads all connect with it."""
    state, env, project = state
    password = "survey-" + uuid.uuid4().hex[:12]
    env = {**env, "SURVEY_DB_PASSWORD": password}
    table = sm.datasets.fair.load_pandas().data
    ids = [str(uuid.UUID(int=(0x5187F5E7 << 96) + row)) for row in range(len(table))]
    rows = table.assign(
        respondent=[uuid.UUID(key) for key in ids],
        surveyed_on=[datetime.date(1974, 1 + row % 9, 10 + row % 9) for row in range(len(table))],
        married_happily=[
            None if row % 17 == 0 else bool(r >= 4) for row, r in enumerate(table["rate_marriage"])
        ],
        had_affair=table["affairs"] > 0,
    ).drop(columns="affairs")
    with postgres_server(password=password) as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(SURVEY))
            rows.to_sql("survey", conn, if_exists="append", index=False, dtype={"respondent": sa.Uuid()})
        engine.dispose()
        without = url.replace(f":{password}@", "@")
        assert password not in without
        sql = {"source": "sql", "path": None, "sql_url": without, "sql_query": "SELECT * FROM survey",
               "sql_password_env": "SURVEY_DB_PASSWORD"}  # fmt: skip
        roles = {"target_column": "had_affair", "positive_label": "True", "sensitive_features": []}
        quick = harness.training_config(
            state,
            "survey",
            search={"candidates": [{}]},
            fairness__mitigation="none",
            features={"use_sensitive_features": False, "drop": ["surveyed_on"]},
        )
        config, trained = train(
            state, env, project, rows, "survey.csv", quick, id_column="respondent", **sql, **roles
        )
        said = trained.stdout + trained.stderr
        assert "Failed to validate serving input example" not in said, said[-3000:]
        assert password not in config.read_text() + said, "the password stays in the environment"
        number = max(v["number"] for v in harness.probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"])
        schema = learnt(env, number, "married_happily")["schema"]
        kinds = {f["name"]: f["kind"] for f in schema["features"]}
        assert kinds["married_happily"] == "categorical" and kinds["age"] == "numeric", kinds
        assert "surveyed_on" in schema["unused_columns"], schema
        stage, record = decision(env, number)
        if stage != "production":  # production is the wine model (run first here): it cannot score this table
            assert stage == "staging" and "could not score this data" in " ".join(record["reasons"]), record
            must(run_cli(PROJECT_ROOT, env, "rollback", "--to", str(number), "--project", str(config)))
        # the wine project's table of this state directory is keyed by bottle: refused, naming the
        # rename, by the first step, before the table is read and scored (on either engine)
        shared_dask = state / "shared-dask.yaml"
        # (on Dask, a scheduler that does not answer: the table is refused before any connection)
        nobody = {"scheduler_address": "tcp://127.0.0.1:9", "connect_timeout_seconds": 1}
        shared_dask.write_text(yaml.safe_dump({"engine": "dask", "dask": nobody}))
        for step, engine in (("load_current", ()), ("score_on_dask", ("--config", str(shared_dask)))):
            shared = run_cli(
                PROJECT_ROOT, env, "score", "--project", str(config), *engine, "--date", "2026-04-01"
            )
            said = shared.stdout + shared.stderr
            assert shared.returncode != 0, shared.stdout[-2000:]
            assert f"step '{step}': the scores table 'customer_scores'" in said, said[-3000:]
            assert "ALTER TABLE customer_scores RENAME COLUMN bottle TO respondent" in said
            assert "score_customers has started" not in said, "refused before the batch is scored"
            assert "no Dask scheduler answered" not in said, "refused before the cluster is asked"
        own = state / "survey-scoring.yaml"
        own.write_text(yaml.safe_dump({"table": "survey_scores"}))
        args = ("score", "--project", str(config), "--config", str(own), "--date", "2026-04-01")
        must(run_cli(PROJECT_ROOT, env, *args))
        on_dask = state / "survey-dask.yaml"  # PostgreSQL has no MIN(uuid): sliced in id order
        on_dask.write_text(
            yaml.safe_dump(
                {"table": "survey_scores", "engine": "dask", "dask": {"partition_rows": 2500, "workers": 1}}
            )
        )
        args = ("score", "--project", str(config), "--config", str(on_dask), "--date", "2026-04-02")
        assert "engine dask: 3 partitions" in must(run_cli(PROJECT_ROOT, env, *args)).stdout
    scores_db = sa.create_engine(f"sqlite:///{env['PROJECT_STATE_DIR']}/scores.sqlite")
    scored = read_scores(scores_db, "survey_scores", datetime.date(2026, 4, 1), key="respondent")
    by_dask = read_scores(scores_db, "survey_scores", datetime.date(2026, 4, 2), key="respondent")
    scores_db.dispose()
    pd.testing.assert_frame_equal(
        by_dask.drop(columns="scoring_date"), scored.drop(columns="scoring_date"), obj="dask vs pandas"
    )
    assert sorted(scored["respondent"]) == sorted(ids), scored.head()  # as the table has them, under its name
    assert set(scored[names.TARGET]) == {"True", "False"}, set(scored[names.TARGET])
