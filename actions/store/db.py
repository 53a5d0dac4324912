"""Engine set-up. SQLite gets WAL, a busy timeout, foreign keys and `BEGIN IMMEDIATE` for writers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15_000
# Execution option marking a connection that will write: on SQLite it starts with BEGIN IMMEDIATE,
# so two writers queue on the busy timeout instead of failing to upgrade a read lock.
WRITE_OPTION = "shopdesk_write"
# Alembic runs env.py through a module-global `alembic.context` proxy, so two migrations in one
# process (threads) must take turns; across processes the database's own lock orders them.
_ALEMBIC_LOCK = threading.Lock()
_PG_MIGRATION_LOCK = 0x5D0_0001  # advisory lock id shared by every shopdesk migration


def upgrade_to_head(engine: Engine, script_location: Path) -> None:
    """Bring one Alembic environment to its newest revision (idempotent). Two processes starting
    at once (server + CLI) must not both create the tables: SQLite queues them with BEGIN
    IMMEDIATE, PostgreSQL with a transaction-scoped advisory lock."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    with _ALEMBIC_LOCK, engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def create_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions get in the way).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Straight to the driver: through exec_driver_sql this BEGIN cost as much as the query
        # it wraps (~0.3 ms), on the eligibility hot path.
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection that is beginning is checked out
        driver.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
