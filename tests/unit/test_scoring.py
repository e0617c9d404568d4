from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from ml import names
from ml.scoring import demo_customers, read_scores, write_scores
from ml.settings import DataSettings, DemoSettings, ScoringSettings

DAY = date(2026, 3, 1)


def scores(n, day=DAY, version="1", bad_row=None):
    frame = pd.DataFrame(
        {
            names.ID: range(1, n + 1),
            names.TARGET: "good",
            "probability": 0.7,
            "model_version": version,
            "scoring_date": day.isoformat(),
        }
    )
    if bad_row is not None:
        frame.loc[bad_row, "probability"] = 2.0  # violates the table's range check mid-write
    return frame


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/scores.sqlite")
    yield engine
    engine.dispose()


def assert_rerun_is_idempotent_and_failures_keep_rows(engine):
    assert write_scores(engine, "s", scores(50), DAY) == 50
    first = read_scores(engine, "s", DAY)
    write_scores(engine, "s", scores(50), DAY)
    again = read_scores(engine, "s", DAY)
    pd.testing.assert_frame_equal(first, again, obj="a rerun of the same date")
    write_scores(engine, "s", scores(10, day=date(2026, 3, 2)), date(2026, 3, 2))
    with pytest.raises(sa.exc.IntegrityError):
        write_scores(engine, "s", scores(50, version="2", bad_row=30), DAY)
    kept = read_scores(engine, "s", DAY)
    pd.testing.assert_frame_equal(first, kept, obj="rows of a date after a failed rewrite")
    assert len(read_scores(engine, "s")) == 60, "other dates must be untouched"


def test_sqlite_rerun_is_idempotent_and_a_failed_write_keeps_the_previous_rows(engine):
    assert_rerun_is_idempotent_and_failures_keep_rows(engine)


def test_demo_customers_are_deterministic_per_day_and_differ_between_days():
    data = DataSettings(demo=DemoSettings(customers=300))
    one = demo_customers(data, ScoringSettings(), DAY)
    assert one.equals(demo_customers(data, ScoringSettings(), DAY)), "same day, same customers"
    assert not one.equals(demo_customers(data, ScoringSettings(), date(2026, 3, 2))), "a new day"
    drifted = demo_customers(data, ScoringSettings(drift=1.0), DAY)
    assert drifted["avg_amount"].median() > one["avg_amount"].median() * 1.2, "drift knob shifts amounts"
