"""Column types that behave the same on SQLite and PostgreSQL: aware UTC datetimes and Decimal money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

CENT = Decimal("0.01")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC; always hands back timezone-aware datetimes (SQLite keeps no offset, so we add it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only accepts aware datetimes")
        value = value.astimezone(UTC)
        # SQLite's DateTime has no offset: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(sa.types.TypeDecorator[Decimal]):
    """Numeric(12, 2) in the database, a Decimal quantised to the cent in Python."""

    impl = sa.Numeric(12, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(CENT)
        # pysqlite cannot bind Decimal; a string keeps every digit (stored as NUMERIC affinity).
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)
