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
