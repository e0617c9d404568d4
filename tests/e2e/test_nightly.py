"""Nightly batch scoring (and monitoring) as `run.py` runs them, on a temporary local stack with a
trained production model."""

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from ml import names
from ml.scoring import read_scores
from tests.e2e.harness import PROJECT_ROOT, isolated_env, must, project_config_copy, run_cli
from tests.e2e.postgres import postgres_server

pytestmark = pytest.mark.e2e
DEMO = {
    "source": "demo",
    "target_column": names.TARGET,
    "positive_label": names.GOOD,
    "id_column": names.ID,
    "sensitive_features": ["gender", "age"],
}
CUSTOMERS = 3000


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    state = tmp_path_factory.mktemp("nightly")
    env = isolated_env(state)
    must(run_cli(PROJECT_ROOT, env, "stack", "apply", "local"))
    project = project_config_copy(PROJECT_ROOT, state)
    raw = yaml.safe_load(project.read_text())
    raw["data"] = {**DEMO, "demo": {"path": str(state / "demo.sqlite")}}
    project.write_text(yaml.safe_dump(raw))
    training = yaml.safe_load((PROJECT_ROOT / "configs/training.yaml").read_text())
    training["search"] = {"candidates": [{}]}
    config = state / "training.yaml"
    config.write_text(yaml.safe_dump(training))
    must(run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", str(config)))
    return {"state": state, "env": env, "project": project}


def scoring_config(state, name, **values):
    path = state / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"customers": CUSTOMERS, **values}))
    return str(path)


def score(nightly, day, config):
    return must(
        run_cli(
            PROJECT_ROOT,
            nightly["env"],
            "score",
            "--project",
            str(nightly["project"]),
            "--config",
            config,
            "--date",
            day,
        )
    ).stdout


def test_scores_are_written_per_date_and_a_rerun_replaces_them(nightly):
    config = scoring_config(nightly["state"], "sqlite")
    out = score(nightly, "2026-03-01", config)
    assert f"Scored {CUSTOMERS} customers for 2026-03-01 with model version 1" in out, out
    engine = sa.create_engine(f"sqlite:///{nightly['state'] / 'project' / 'scores.sqlite'}")
    first = read_scores(engine, "customer_scores")
    score(nightly, "2026-03-01", config)
    again = read_scores(engine, "customer_scores")
    pd.testing.assert_frame_equal(first, again, obj="a rerun of 2026-03-01")
    score(nightly, "2026-03-02", config)
    both = read_scores(engine, "customer_scores")
    engine.dispose()
    assert both.groupby("scoring_date").size().to_dict() == {"2026-03-01": CUSTOMERS, "2026-03-02": CUSTOMERS}
    assert not both.duplicated([names.ID, "scoring_date"]).any(), "one row per customer and date"
    assert set(both[names.TARGET]) == {names.GOOD, names.BAD} and both.probability.between(0, 1).all()
    assert (both.model_version == "1").all()


def test_scores_are_written_to_a_real_postgresql_server(nightly):
    with postgres_server() as url:
        config = scoring_config(nightly["state"], "postgres", database_url=url)
        out = score(nightly, "2026-03-01", config)
        assert "postgresql+psycopg://andamio@127.0.0.1" in out, out
        engine = sa.create_engine(url)
        rows = read_scores(engine, "customer_scores", pd.Timestamp("2026-03-01").date())
        engine.dispose()
    assert len(rows) == CUSTOMERS and rows[names.ID].is_unique, rows.head()


def test_a_bad_date_is_refused(nightly):
    result = run_cli(
        PROJECT_ROOT, nightly["env"], "score", "--project", str(nightly["project"]), "--date", "yesterday"
    )
    assert result.returncode == 2 and "--date 'yesterday' is not a date; use YYYY-MM-DD" in result.stderr
