"""The scores database (adapters/scores_db.py): one date's rows replaced in one transaction."""

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from adapters.scores_db import (
    clear_left_behind,
    drop_staging,
    left_behind,
    moves_while_staging,
    read_scores,
    replace_as_staged,
    replace_from_staging,
    stage_scores,
    staging_name,
    write_scores,
)
from ml import names

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
    twice = pd.concat([scores(50, version="2"), scores(1, version="2")], ignore_index=True)
    with pytest.raises(sa.exc.IntegrityError):  # one row per customer and date
        write_scores(engine, "s", twice, DAY)
    kept = read_scores(engine, "s", DAY)
    pd.testing.assert_frame_equal(first, kept, obj="rows of a date after a failed rewrite")
    assert len(read_scores(engine, "s")) == 60, "other dates must be untouched"


def test_sqlite_rerun_is_idempotent_and_a_failed_write_keeps_the_previous_rows(engine):
    assert_rerun_is_idempotent_and_failures_keep_rows(engine)


def test_staged_partitions_replace_the_dates_rows_in_one_transaction(engine):
    write_scores(engine, "s", scores(40, version="1"), DAY)
    write_scores(engine, "s", scores(5, day=date(2026, 3, 2)), date(2026, 3, 2))
    new = scores(30, version="2")
    stage_scores(engine, "st", new.iloc[:20], 0, DAY, "2")
    stage_scores(engine, "st", new.iloc[:20], 0, DAY, "2")  # a retried partition replaces its own rows
    stage_scores(engine, "st", new.iloc[20:], 1, DAY, "2")
    staged = [column["name"] for column in sa.inspect(engine).get_columns("st_p0")]
    assert staged == [names.ID, names.TARGET, "probability"], "only what varies by row is staged"
    assert replace_from_staging(engine, "s", "st", DAY, "2") == 30, "the staged rows, each once"
    day = read_scores(engine, "s", DAY)
    expected = new.astype({names.ID: str}).sort_values(names.ID, ignore_index=True)
    pd.testing.assert_frame_equal(
        day, expected, obj="the date's rows: the staged ones with the run's date and version"
    )
    assert len(read_scores(engine, "s")) == 35, "other dates must be untouched"
    stage_scores(engine, "other", new, 0, DAY, "2")  # another run's staging is not this one's
    drop_staging(engine, "st")
    assert sa.inspect(engine).get_table_names() == ["other_p0", "s"], "only this run's tables dropped"


def test_a_failing_replacement_keeps_the_dates_earlier_rows(engine):
    write_scores(engine, "s", scores(40, version="1"), DAY)
    before = read_scores(engine, "s", DAY)
    stage_scores(engine, "st", scores(30, version="2"), 0, DAY, "2")
    stage_scores(engine, "st", scores(1, version="2"), 1, DAY, "2")  # customer 1 in two partitions
    with pytest.raises(sa.exc.IntegrityError):
        replace_from_staging(engine, "s", "st", DAY, "2")
    pd.testing.assert_frame_equal(
        read_scores(engine, "s", DAY), before, obj="the date after a failed replacement"
    )


def test_rows_of_another_date_or_model_version_than_the_runs_are_not_staged(engine):
    """The transaction writes the run's date and version on every staged row, so a partition scored
    for another date or with another version is refused before anything of it is staged."""
    stage_scores(engine, "st", scores(3, version="2"), 1, DAY, "2")
    another_day = scores(5, day=date(2026, 3, 9), version="2")
    message = r"5 rows of partition 1 were scored for \(date, model version\) \[\('2026-03-09', '2'\)\], "
    with pytest.raises(ValueError, match=message + r"not for this run's \('2026-03-01', '2'\); nothing"):
        stage_scores(engine, "st", another_day, 1, DAY, "2")
    with pytest.raises(ValueError, match=r"2 rows of partition 1 .* \[\('2026-03-01', '3'\)\], not for"):
        stage_scores(
            engine, "st", scores(4, version="2").assign(model_version=["2", "3", "2", "3"]), 1, DAY, "2"
        )
    kept = pd.read_sql("SELECT * FROM st_p1", engine)
    assert kept[names.ID].tolist() == ["1", "2", "3"], "the partition's earlier staging is kept"


def test_a_partition_table_missing_or_short_of_its_reported_rows_refuses_the_replacement(engine):
    write_scores(engine, "s", scores(40, version="1"), DAY)
    before = read_scores(engine, "s", DAY)
    new = scores(30, version="2")
    stage_scores(engine, "st", new.iloc[:20], 0, DAY, "2")
    stage_scores(engine, "st", new.iloc[20:], 2, DAY, "2")
    reported = {0: 20, 1: 0, 2: 10}  # partition 1 had no rows: no table of its own
    with pytest.raises(ValueError, match=r"missing: \[3\], unexpected: \[\]") as caught:
        replace_from_staging(engine, "s", "st", DAY, "2", {**reported, 3: 5})
    assert "another run of 2026-03-01" in str(caught.value) and "score 2026-03-01 again" in str(caught.value)
    with pytest.raises(ValueError, match="st_p2 holds 10 rows, but its partition staged 12"):
        replace_from_staging(engine, "s", "st", DAY, "2", {**reported, 2: 12})
    pd.testing.assert_frame_equal(read_scores(engine, "s", DAY), before, obj="the date after refusals")
    assert replace_from_staging(engine, "s", "st", DAY, "2", reported) == 30
    assert set(read_scores(engine, "s", DAY)["model_version"]) == {"2"}


def test_moving_partitions_as_they_are_staged_checks_each_and_a_failure_keeps_the_date(engine):
    """replace_as_staged (the path of databases with concurrent writers, never SQLite's: one writer)
    refuses what replace_from_staging refuses, and a partition failing after others were moved
    rolls the moved ones back with the delete."""
    assert not moves_while_staging(engine), "SQLite's one writer would hold the workers' staging"
    write_scores(engine, "s", scores(40, version="1"), DAY)
    before = read_scores(engine, "s", DAY)
    new = scores(30, version="2")
    stage_scores(engine, "st", new.iloc[:20], 0, DAY, "2")
    stage_scores(engine, "st", new.iloc[20:], 2, DAY, "2")

    def failing_after_one():
        yield 0, 20
        raise RuntimeError("partition 2's worker died and no other could run it")

    with pytest.raises(RuntimeError, match="partition 2's worker died"):
        replace_as_staged(engine, "s", "st", DAY, "2", failing_after_one())
    with pytest.raises(ValueError, match=r"missing: \[3\], unexpected: \[\]"):
        replace_as_staged(engine, "s", "st", DAY, "2", iter([(0, 20), (3, 5)]))
    with pytest.raises(ValueError, match="st_p2 holds 10 rows, but its partition staged 12"):
        replace_as_staged(engine, "s", "st", DAY, "2", iter([(0, 20), (1, 0), (2, 12)]))
    with pytest.raises(ValueError, match=r"missing: \[\], unexpected: \[2\]"):  # staged, never reported
        replace_as_staged(engine, "s", "st", DAY, "2", iter([(0, 20)]))
    pd.testing.assert_frame_equal(read_scores(engine, "s", DAY), before, obj="the date after refusals")
    assert replace_as_staged(engine, "s", "st", DAY, "2", iter([(2, 10), (1, 0), (0, 20)])) == 30
    expected = new.astype({names.ID: str}).sort_values(names.ID, ignore_index=True)
    pd.testing.assert_frame_equal(read_scores(engine, "s", DAY), expected, obj="moved in finishing order")


def test_staging_left_by_a_killed_run_is_found_and_dropped_by_the_next_run_of_its_date_only(engine, caplog):
    table = "customer_scores_of_a_long_named_team_table"  # cut to stay under PostgreSQL's 63 characters
    killed, other_day, this = (
        staging_name(table, DAY, "0123456789abcdef"),
        staging_name(table, date(2026, 3, 2), "aaaaaaaa"),
        staging_name(table, DAY, "bbbbbbbb"),
    )
    assert killed == "customer_scores_of_a_long_na_staging_20260301_01234567", killed
    for staging in (killed, other_day, this):
        stage_scores(engine, staging, scores(3), 12345, DAY, "1")
    stage_scores(engine, killed, scores(3), 0, DAY, "1")
    assert max(len(name) for name in sa.inspect(engine).get_table_names()) <= 63
    assert left_behind(engine, table, DAY, this) == [killed], "another date's run is not this date's"
    assert left_behind(engine, "customer_scores", DAY, this) == [], "nor another table's"
    with caplog.at_level("WARNING", logger="adapters.scores_db"):
        assert clear_left_behind(engine, table, DAY) == [killed, this], "a pandas run keeps no staging"
    assert sorted(sa.inspect(engine).get_table_names()) == [f"{other_day}_p12345"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        f"dropping the staging tables {name}_p*" for name in (killed, this)
    ]
