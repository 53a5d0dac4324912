"""Alembic migrations for the order store; run by `OrderStore.migrate()` (version table
`shopdesk_orders_version`, so other stores in the same database keep their own)."""
