"""The scores database (SQLAlchemy: SQLite by default, any database by URL): one table of a
key and ``ml.names.SCORE_VALUES``, one row per key (``ml.scoring.score_key``: the table's id column, e.g.
customer_id) and scoring date, written idempotently per date."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date

import pandas as pd
import sqlalchemy as sa

from ml import names

LOG = logging.getLogger(__name__)
STAGING = "_staging_"  # in the staging tables' names, between the scores table's and the run's
# What a staging table holds: the columns that vary row by row. The run's date and model version are
# the same for every row, written once by the transaction that moves the rows (fewer values bound per
# row: a 100,000-row partition staged in 0.31-0.34 s instead of 0.41 s, benchmarks/ figure 6).
RUN_COLUMNS = names.SCORE_VALUES[2:]  # model_version, scoring_date


def scores_table(table: str, key: str = names.ID) -> sa.Table:
    """The scores table ``table`` keyed by the column ``key`` (``ml.scoring.score_key``)."""
    metadata = sa.MetaData()
    return sa.Table(
        table,
        metadata,
        *_score_columns(key),
        sa.CheckConstraint("probability >= 0 AND probability <= 1", name=f"{table}_probability_range"),
        # One row per customer and date, date first: the key also serves every query and delete by
        # date. In SQLite the rows are stored in that key's tree (WITHOUT ROWID), not in a table
        # tree plus an index: a million-row insert takes 1.3 s instead of 1.5 s, the file is 40%
        # smaller (benchmarks/, figure 2). Other databases ignore the option.
        sa.PrimaryKeyConstraint("scoring_date", key, name=f"{table}_one_row_per_customer_and_date"),
        sqlite_with_rowid=False,
    )


def _score_columns(key: str, staged: bool = False) -> list[sa.Column]:
    """The scores table's columns; ``staged``: a staging table's, without ``RUN_COLUMNS``."""
    columns = [
        sa.Column(key, sa.String(64), nullable=False),
        sa.Column(names.TARGET, sa.String(64), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("scoring_date", sa.String(10), nullable=False),
    ]
    return [column for column in columns if not (staged and column.name in RUN_COLUMNS)]


def write_scores(engine: sa.Engine, table: str, scores: pd.DataFrame, day: date, key: str = names.ID) -> int:
    """Replace ``day``'s rows with ``scores`` (``ml.scoring.score``'s, keyed by its column ``key``) in one
    transaction: a rerun gives the same rows, and a failure part-way leaves the previous rows of that
    day intact."""
    target = _created(engine, table, key)
    with engine.begin() as conn:
        conn.execute(target.delete().where(target.c.scoring_date == day.isoformat()))
        return _insert(conn, target, scores)


def _insert(conn: sa.Connection, target: sa.Table, scores: pd.DataFrame) -> int:
    """Insert ``scores``' values of ``target``'s columns (the scores table's or a staging table's, its
    first the key, written as text)."""
    columns = [column.name for column in target.columns]
    values = [scores[c].astype(str) if at == 0 else scores[c] for at, c in enumerate(columns)]
    rows = zip(*(column.tolist() for column in values), strict=True)
    if conn.dialect.driver == "psycopg":
        return _copy(conn, target, rows)
    rows = list(rows)
    # The statement compiled by SQLAlchemy for this database, run by the driver's executemany on
    # plain tuples (or dicts for drivers with named parameters): SQLAlchemy's per-row parameter
    # handling of a list of dicts costs 2-3x the insert itself at a million rows (benchmarks/).
    compiled = target.insert().compile(dialect=conn.dialect)
    if rows:
        # named parameters as the statement names them: a key like "id cliente" is escaped there
        named = [compiled.escaped_bind_names.get(c, c) for c in columns]
        params = rows if conn.dialect.positional else [dict(zip(named, r, strict=True)) for r in rows]
        conn.exec_driver_sql(str(compiled), params)
    return len(rows)


def _copy(conn: sa.Connection, target: sa.Table, rows) -> int:
    """PostgreSQL (psycopg): the rows streamed by ``COPY ... FROM STDIN`` in binary format, psycopg's
    bulk load, on the connection's own transaction. A 100,000-row partition is staged in ~0.1 s
    where executemany took ~1.7-2.4 s, a round trip per row (benchmarks/, figure 9). A failure is
    raised as SQLAlchemy's error for it (e.g. IntegrityError), as an executed statement's would be."""
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(column.name) for column in target.columns)
    statement = f"COPY {preparer.format_table(target)} ({columns}) FROM STDIN (FORMAT BINARY)"
    types = ["float8" if isinstance(column.type, sa.Float) else "text" for column in target.columns]
    dbapi_error = conn.dialect.loaded_dbapi.Error
    count = 0
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                count += 1
    except dbapi_error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error, dialect=conn.dialect) from exc
    return count


def staging_name(table: str, day: date, run: str) -> str:
    """The staging tables' prefix of one run scoring ``day``: ``<table>_staging_<yyyymmdd>_<run>``,
    each partition's table ``<prefix>_p<N>`` (under 64 characters, PostgreSQL's limit). The date in
    the name lets the next run of that date find what a run killed outright left (``left_behind``)."""
    return f"{_day_prefix(table, day)}_{run[:8]}"


def _day_prefix(table: str, day: date) -> str:
    """What every staging prefix of ``table`` and ``day`` starts with (before the run's id)."""
    return f"{table[:28]}{STAGING}{day:%Y%m%d}"


def left_behind(engine: sa.Engine, table: str, day: date, staging: str) -> list[str]:
    """The staging prefixes of ``day``'s runs other than ``staging``: a run whose driver was killed
    outright (SIGKILL, out of memory, a reboot) never dropped its tables; any other failure does."""
    found = re.compile(rf"({re.escape(_day_prefix(table, day))}_[0-9a-f]{{8}})_p\d+")
    matches = (found.fullmatch(name) for name in sa.inspect(engine).get_table_names())
    return sorted({match.group(1) for match in matches if match and match.group(1) != staging})


def clear_left_behind(engine: sa.Engine, table: str, day: date, staging: str = "") -> list[str]:
    """Drop the staging tables runs of ``day`` killed outright left (``left_behind``; any engine's
    run of that date may: the date is being replaced anyway), each logged; returns their prefixes."""
    cleared = left_behind(engine, table, day, staging)
    for earlier in cleared:
        LOG.warning(
            "dropping the staging tables %s_p*: a run of %s that never finished left them "
            "(its driver was killed); it changed nothing in %s",
            earlier,
            day,
            table,
        )
        drop_staging(engine, earlier)
    return cleared


def staging_table(staging: str, partition: int, key: str = names.ID) -> sa.Table:
    """One partition's scores on their way to the scores table (without ``RUN_COLUMNS``): a table of its
    own, without a key (a customer staged twice is refused when the rows move to the scores table).
    Its own table, not rows tagged in a shared one: a retried partition drops what it wrote without
    scanning the other partitions' rows (at 10M customers, a delete by partition scanned millions of
    rows each time)."""
    return sa.Table(f"{staging}_p{partition}", sa.MetaData(), *_score_columns(key, staged=True))


def staged_tables(engine: sa.Engine | sa.Connection, staging: str, key: str = names.ID) -> list[sa.Table]:
    """The partition tables of ``staging`` that exist, in partition order."""
    found = re.compile(rf"{re.escape(staging)}_p(\d+)")
    partitions = sorted(
        int(match.group(1))
        for name in sa.inspect(engine).get_table_names()
        if (match := found.fullmatch(name))
    )
    return [staging_table(staging, partition, key) for partition in partitions]


def stage_scores(
    engine: sa.Engine,
    staging: str,
    scores: pd.DataFrame,
    partition: int,
    day: date,
    version: str,
    key: str = names.ID,
) -> int:
    """Write one partition's scores to its staging table, replacing what an earlier attempt of that
    partition wrote (a partition retried after its worker died is written once). Rows scored for
    another date or model version than the run's (``day``, ``version``, which the transaction writes
    for every staged row) are refused: nothing of the partition is staged."""
    run = {"scoring_date": day.isoformat(), "model_version": str(version)}
    other = scores[
        (scores["scoring_date"] != run["scoring_date"]) | (scores["model_version"] != run["model_version"])
    ]
    if len(other):
        found = sorted(set(zip(other["scoring_date"], other["model_version"], strict=True)))
        raise ValueError(
            f"{len(other)} rows of partition {partition} were scored for (date, model version) "
            f"{found[:3]}, not for this run's ({run['scoring_date']!r}, {run['model_version']!r}); nothing "
            "of it was staged. Score every partition of a run with the one release it ships"
        )
    target = staging_table(staging, partition, key)
    with engine.begin() as conn:
        target.drop(conn, checkfirst=True)
        target.create(conn)
        return _insert(conn, target, scores)


def drop_staging(engine: sa.Engine, staging: str) -> None:
    for source in staged_tables(engine, staging):
        source.drop(engine, checkfirst=True)


def replace_from_staging(
    engine: sa.Engine,
    table: str,
    staging: str,
    day: date,
    version: str,
    expected: dict[int, int] | None = None,
    key: str = names.ID,
) -> int:
    """In ONE transaction, replace ``day``'s rows of the scores table with the staged rows, each
    written with the run's ``day`` and model ``version``: a rerun gives the same rows, and a failure
    (e.g. a customer staged twice) leaves ``day``'s earlier rows. ``expected``: the rows each
    partition reported staging; a partition's table missing or holding other rows than reported
    refuses the replacement (never half a date)."""
    target = _created(engine, table, key)
    with engine.begin() as conn:  # a failure below rolls the delete back with the rest
        conn.execute(target.delete().where(target.c.scoring_date == day.isoformat()))
        sources = staged_tables(conn, staging, key)
        if expected is not None:
            _check_staged(sources, {part: rows for part, rows in expected.items() if rows}, day)
        staged = 0
        for source in sources:
            reported = None if expected is None else expected[_partition(source)]
            staged += _move(conn, target, source, reported, day, version)
        return staged  # (not the inserts' rowcounts: -1 with psycopg)


def moves_while_staging(engine: sa.Engine) -> bool:
    """Whether the date's transaction can move partitions while others are still being staged
    (``replace_as_staged``): not in SQLite, whose one writer at a time would hold every worker's
    staging until the commit."""
    return engine.dialect.name != "sqlite"


def replace_as_staged(
    engine: sa.Engine,
    table: str,
    staging: str,
    day: date,
    version: str,
    staged: Iterable[tuple[int, int]],
    key: str = names.ID,
) -> int:
    """``replace_from_staging`` for databases with concurrent writers (``moves_while_staging``): ONE
    transaction deletes ``day``'s rows, then moves each partition as soon as ``staged`` yields it
    (partition, rows it reported), while the others are still being scored, and commits after the
    last; the end of a run waits for one partition's move, not for every row's. An exception from
    ``staged`` (a partition that failed) or from a move rolls everything back: ``day`` keeps its
    earlier rows, as with ``replace_from_staging``."""
    target = _created(engine, table, key)
    moved: dict[int, int] = {}
    with engine.begin() as conn:
        conn.execute(target.delete().where(target.c.scoring_date == day.isoformat()))
        for partition, rows in staged:
            if rows:
                source = staging_table(staging, partition, key)
                if not sa.inspect(conn).has_table(source.name):
                    _check_staged([], {partition: rows}, day)
                moved[partition] = _move(conn, target, source, rows, day, version)
        _check_staged(staged_tables(conn, staging, key), moved, day)
        return sum(moved.values())


def check_key(engine: sa.Engine, table: str, key: str) -> None:
    """ValueError when the scores table exists keyed by another column than ``key`` (a project whose
    id column changed; before 2026-12-06 every table was keyed by customer_id), naming the rename
    that keeps its rows. The scoring steps ask before they read and score the batch, and every
    write asks again."""
    inspector = sa.inspect(engine)
    if not inspector.has_table(table):
        return
    found = [column["name"] for column in inspector.get_columns(table)]
    if key not in found:
        other = next((name for name in found if name not in names.SCORE_VALUES), "its key")
        quote = engine.dialect.identifier_preparer.quote  # "id cliente"
        raise ValueError(
            f"the scores table {table!r} ({engine.url.render_as_string(hide_password=True)}) is keyed by "
            f"{other!r}, but this project scores by {key!r} (data.id_column; {names.SCORES_ROW_KEY!r} "
            f"when empty): rename its column to keep its rows (ALTER TABLE {quote(table)} RENAME COLUMN "
            f"{quote(other)} TO {quote(key)}), or set scoring.table to a new table"
        )


def _created(engine: sa.Engine, table: str, key: str) -> sa.Table:
    """The scores table, created if missing; one keyed by another column is refused (``check_key``)."""
    check_key(engine, table, key)
    target = scores_table(table, key)
    target.metadata.create_all(engine)
    return target


def _move(
    conn: sa.Connection, target: sa.Table, source: sa.Table, reported: int | None, day: date, version: str
) -> int:
    """Insert one partition's staged rows into the scores table with the run's date and version,
    after checking that its table holds the rows the partition reported (``None``: not known)."""
    rows = conn.execute(sa.select(sa.func.count()).select_from(source)).scalar_one()
    if reported is not None and rows != reported:
        raise ValueError(
            f"{source.name} holds {rows} rows, but its partition staged {reported}; "
            f"nothing was replaced. Score {day} again"
        )
    run = {"model_version": sa.literal(str(version), sa.String), "scoring_date": sa.literal(day.isoformat())}
    staged = [column.name for column in source.columns]
    values = [source.c[column] for column in staged] + [run[c] for c in RUN_COLUMNS]
    conn.execute(target.insert().from_select([*staged, *RUN_COLUMNS], sa.select(*values)))
    return rows


def _partition(source: sa.Table) -> int:
    return int(source.name.rpartition("_p")[2])


def _check_staged(sources: list[sa.Table], expected: dict[int, int], day: date) -> None:
    """Every partition that staged rows has its table, and no other table is there."""
    found = {_partition(source) for source in sources}
    missing, extra = sorted(set(expected) - found), sorted(found - set(expected))
    if missing or extra:
        raise ValueError(
            f"the staged tables do not match the partitions that staged rows (missing: {missing}, "
            f"unexpected: {extra}): another run of {day} may have cleared them. Nothing was replaced; "
            f"score {day} again once one run of that date is left"
        )


def read_scores(engine: sa.Engine, table: str, day: date | None = None, key: str = names.ID) -> pd.DataFrame:
    target = scores_table(table, key)
    query = sa.select(target)
    if day is not None:
        query = query.where(target.c.scoring_date == day.isoformat())
    with engine.connect() as conn:
        return pd.read_sql(query.order_by(target.c.scoring_date, target.c[key]), conn)
