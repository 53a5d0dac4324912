"""Alembic env for agent tables. Run through `ConversationStore.migrate()`, which passes a connection.

It keeps its own version table so it coexists with the order store's migrations in one database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from agent.store.conversations import VERSION_TABLE
from agent.store.tables import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic -x url=...` from a shell
        url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
            "sqlalchemy.url"
        )
        engine = create_engine(url)
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
