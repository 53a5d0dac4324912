"""Alembic environment, driven from code: `OrderStore.migrate()` passes an open connection."""

from __future__ import annotations

from alembic import context

from actions.store.models import Base

VERSION_TABLE = "shopdesk_orders_version"

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # `alembic -x url=...` from a shell: build an engine ourselves.
        from actions.store.db import create_engine

        url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
            "sqlalchemy.url"
        )
        if not url:
            raise RuntimeError("no database URL: pass `alembic -x url=...`")
        engine = create_engine(url)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("shopdesk migrations run online only (OrderStore.migrate())")
run_migrations_online()
