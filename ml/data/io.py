"""Readers and writers: the only place in ``ml`` that touches files and databases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ml import names
from ml.data.demo import DemoTables, generate_demo
from ml.settings import ConfigError, DataSettings, DemoSettings


class DataSourceError(RuntimeError):
    """A data source could not be read."""


def _sqlite_engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def write_demo_sqlite(path: Path, tables: DemoTables, meta: dict[str, object]) -> None:
    """Write both demo tables and the generator's knobs to a SQLite file, in one transaction."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = _sqlite_engine(path)
    try:
        with engine.begin() as conn:
            tables.customers.to_sql(names.CUSTOMERS_TABLE, conn, if_exists="replace", index=False)
            tables.sales.to_sql(names.SALES_TABLE, conn, if_exists="replace", index=False)
            pd.DataFrame({"knobs": [json.dumps(meta, sort_keys=True, default=str)]}).to_sql(
                names.DEMO_META_TABLE, conn, if_exists="replace", index=False
            )
    finally:
        engine.dispose()


def _stored_knobs(path: Path) -> str | None:
    if not path.is_file():
        return None
    engine = _sqlite_engine(path)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT knobs FROM {names.DEMO_META_TABLE}")).scalar()
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def ensure_demo_db(demo: DemoSettings, root: Path) -> Path:
    """Return the demo SQLite path, (re)generating it when missing or made with other knobs."""
    path = (root / demo.path).resolve()
    knobs = demo.model_dump(mode="json", exclude={"path"})
    if _stored_knobs(path) != json.dumps(knobs, sort_keys=True, default=str):
        tables = generate_demo(
            customers=demo.customers, seed=demo.seed, drift=demo.drift, bias=demo.bias, as_of=demo.as_of
        )
        write_demo_sqlite(path, tables, knobs)
    return path


def read_demo_tables(path: Path) -> DemoTables:
    engine = _sqlite_engine(path)
    try:
        with engine.connect() as conn:
            customers = pd.read_sql_table(names.CUSTOMERS_TABLE, conn)
            sales = pd.read_sql_table(names.SALES_TABLE, conn, parse_dates=["sale_date"])
    finally:
        engine.dispose()
    return DemoTables(customers, sales)


def database_url(url: str, password_env: str | None, url_field: str, env_field: str) -> sa.URL:
    """``url`` parsed, with the password taken from the environment variable ``password_env`` when
    one is named: the settings, which ZenML records, hold the variable's name, not the password."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DataSourceError(f"{url_field} {url!r} is not usable: {exc}") from exc
    if not password_env:
        return parsed
    if parsed.password is not None:
        raise ConfigError(
            f"{url_field} holds a password and {env_field} names {password_env} for it; "
            "take the password out of the URL (ZenML records the URL)"
        )
    if password_env not in os.environ:
        raise ConfigError(
            f"{env_field} names {password_env} for the database password, which is not set; "
            f"export {password_env}=… where the pipeline runs"
        )
    return parsed.set(password=os.environ[password_env])


def read_flat_table(data: DataSettings, root: Path) -> pd.DataFrame:
    """Read the user's own flat table (CSV, Parquet or a SQL query)."""
    if data.source in ("csv", "parquet"):
        path = (root / str(data.path)).resolve()
        if not path.is_file():
            raise DataSourceError(
                f"data.path {data.path!r} does not exist (looked for {path}); "
                "put the file there or change data.path in configs/project.yaml"
            )
        return pd.read_csv(path) if data.source == "csv" else pd.read_parquet(path)
    if data.source == "sql":
        url = database_url(str(data.sql_url), data.sql_password_env, "data.sql_url", "data.sql_password_env")
        try:
            engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise DataSourceError(f"data.sql_url {data.sql_url!r} is not usable: {exc}") from exc
        try:
            with engine.connect() as conn:
                return pd.read_sql_query(sa.text(str(data.sql_query)), conn)
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(f"data.sql_query failed on {engine.url!r}: {exc}") from exc
        finally:
            engine.dispose()
    raise DataSourceError(f"data.source {data.source!r} is not a flat-table source")
