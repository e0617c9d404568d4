"""The scores table on a real PostgreSQL server (started on 127.0.0.1 by the test)."""

import pytest
import sqlalchemy as sa

from tests.e2e.postgres import postgres_server
from tests.unit.test_scores_db import assert_rerun_is_idempotent_and_failures_keep_rows

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


def test_postgres_rerun_is_idempotent_and_a_failed_write_keeps_the_previous_rows(postgres_url):
    engine = sa.create_engine(postgres_url)
    try:
        assert_rerun_is_idempotent_and_failures_keep_rows(engine)
    finally:
        engine.dispose()


def test_postgres_keeps_every_id_and_probability_exactly_as_sqlite_does(postgres_url, tmp_path):
    """The rows are streamed to PostgreSQL by COPY (binary): ids that text formats escape (tab,
    newline, backslash, quotes, ``\\N``, non-ASCII) and probabilities at float64's edges come back
    as SQLite stores them; an id longer than the column's 64 characters is refused with
    SQLAlchemy's DataError naming the column type, and the date keeps its rows. The table is keyed by
    a project's own id column as its table names it, quoted wherever it is written: "id paciente (ñ)"."""
    import numpy as np
    import pandas as pd

    from adapters.scores_db import read_scores, replace_from_staging, stage_scores, write_scores
    from ml import names
    from tests.unit.test_scores_db import DAY

    ids = ["plain", "tab\there", "new\nline", "back\\slash", "\\N", 'quo"te', "ap'os", "ñandú-客户", " "]
    rng = np.random.default_rng(5)
    probability = [0.0, 1.0, 5e-324, 1 - 2**-53, 0.1, 1 / 3, *rng.random(3)]
    key = "id paciente (ñ)"
    frame = pd.DataFrame(
        {
            key: ids,
            names.TARGET: ["good", "bad"] * 4 + ["good"],
            "probability": probability,
            "model_version": "4",
            "scoring_date": DAY.isoformat(),
        }
    )
    stored = {}
    for name, url in (("postgresql", postgres_url), ("sqlite", f"sqlite:///{tmp_path}/scores.sqlite")):
        engine = sa.create_engine(url)
        try:
            write_scores(engine, "direct", frame, DAY, key)
            stage_scores(engine, "direct_staging_x", frame, 0, DAY, "4", key)
            replace_from_staging(engine, "moved", "direct_staging_x", DAY, "4", key=key)
            stored[name] = (read_scores(engine, "direct", DAY, key), read_scores(engine, "moved", DAY, key))
            if name == "postgresql":
                too_long = frame.assign(**{key: [*ids[:-1], "x" * 65]})
                with pytest.raises(sa.exc.DataError, match="character varying\\(64\\)"):
                    write_scores(engine, "direct", too_long, DAY, key)
                kept = read_scores(engine, "direct", DAY, key)
                with pytest.raises(ValueError, match=r'RENAME COLUMN "id paciente \(ñ\)" TO customer_id'):
                    write_scores(engine, "direct", frame.rename(columns={key: names.ID}), DAY)
        finally:
            engine.dispose()
    direct, moved = stored["postgresql"]
    pd.testing.assert_frame_equal(direct, stored["sqlite"][0], obj="written directly, PostgreSQL vs SQLite")
    pd.testing.assert_frame_equal(moved, stored["sqlite"][1], obj="staged then moved, PostgreSQL vs SQLite")
    assert list(direct.columns) == [key, *names.SCORE_VALUES], direct.columns
    by_id = direct.set_index(key)["probability"]
    assert [by_id[i] for i in ids] == probability, "every probability bit for bit"
    pd.testing.assert_frame_equal(kept, direct, obj="the date after the refused write")


def test_postgresql_moves_partitions_while_others_are_staged_and_readers_see_the_earlier_rows(postgres_url):
    """On PostgreSQL the date's transaction moves each partition as it finishes: a partition staged
    by another connection (a worker) while the transaction is open is moved too; until the commit a
    reader sees the date's earlier rows, never half a date; a partition failing after others were
    moved rolls them back."""
    import pandas as pd

    from adapters.scores_db import (
        drop_staging,
        moves_while_staging,
        read_scores,
        replace_as_staged,
        stage_scores,
        write_scores,
    )
    from ml import names
    from tests.unit.test_scores_db import DAY, scores

    driver, worker = sa.create_engine(postgres_url), sa.create_engine(postgres_url)
    try:
        assert moves_while_staging(driver)
        write_scores(driver, "moving", scores(40, version="1"), DAY)
        before = read_scores(driver, "moving", DAY)
        new = scores(30, version="2")
        seen_mid_run = []

        def finishing(fail: bool = False):
            stage_scores(worker, "moving_staging_t", new.iloc[:20], 0, DAY, "2")
            yield 0, 20
            # partition 0 is moved, in the open transaction; partition 1 is staged only now
            seen_mid_run.append(read_scores(worker, "moving", DAY))
            stage_scores(worker, "moving_staging_t", new.iloc[20:], 1, DAY, "2")
            if fail:
                raise RuntimeError("partition 2 failed on every worker")
            yield 1, 10

        with pytest.raises(RuntimeError, match="partition 2 failed"):
            replace_as_staged(driver, "moving", "moving_staging_t", DAY, "2", finishing(fail=True))
        after_failure = read_scores(driver, "moving", DAY)
        drop_staging(driver, "moving_staging_t")
        moved = replace_as_staged(driver, "moving", "moving_staging_t", DAY, "2", finishing())
        after = read_scores(driver, "moving", DAY)
        drop_staging(driver, "moving_staging_t")
    finally:
        driver.dispose()
        worker.dispose()
    for mid_run in seen_mid_run:
        pd.testing.assert_frame_equal(mid_run, before, obj="what a reader sees while the date is replaced")
    pd.testing.assert_frame_equal(after_failure, before, obj="the date after a partition failed")
    assert moved == 30
    expected = new.astype({names.ID: str}).sort_values(names.ID, ignore_index=True)
    pd.testing.assert_frame_equal(after, expected, obj="both partitions, with the run's date and version")
