"""Order store: SQLAlchemy models, Alembic-migrated schema, and `OrderStore` handing out records."""

from __future__ import annotations

from actions.store.orders import OrderStore
from actions.store.rma import HistoryEntry, LabelInfo, RefundInfo, ReturnAuthorization, ReturnLine

__all__ = [
    "HistoryEntry",
    "LabelInfo",
    "OrderStore",
    "RefundInfo",
    "ReturnAuthorization",
    "ReturnLine",
]
