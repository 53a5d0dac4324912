"""`OrderStore`: the one door to order records. Reads hand out records, never ORM rows."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from actions.import_format import ImportReport, read_file, validate
from actions.order_ids import lookup_key, order_number
from actions.records import Customer, Order, Shipment
from actions.store.convert import customer_record
from actions.store.db import WRITE_OPTION, create_engine, upgrade_to_head
from actions.store.models import (
    CustomerRow,
    LabelRow,
    OrderRow,
    ShipmentRow,
)
from actions.store.reads import (
    AUTHORIZED,
    BY_KEY,
    BY_NUMBER,
    REVISION,
    AnyRow,
    load_order,
    load_recent,
)
from actions.store.upsert import upsert

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
CACHE_SIZE = 20_000  # order records kept in memory, each checked against its revision on use


class OrderStore:
    """Order records in any SQLAlchemy database (SQLite file by default, PostgreSQL in production)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self._cache: dict[str, tuple[int, Order]] = {}
        self._authorized: dict[str, tuple[int, dict[str, int]]] = {}
        self._lock = threading.Lock()
        self.engine = create_engine(url, **engine_kwargs)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    # Sessions ---------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """One transaction that commits on success; on SQLite it holds the write lock from the start."""
        with self._write() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # Schema -----------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        upgrade_to_head(self.engine, MIGRATIONS_DIR)

    def is_empty(self) -> bool:
        with self.reading() as s:
            return s.scalar(sa.select(OrderRow.id).limit(1)) is None

    # Import -----------------------------------------------------------------------------
    def import_file(self, path: Path | str) -> ImportReport:
        return self.import_data(read_file(Path(path)))

    def import_data(self, data: Any) -> ImportReport:
        """Validate every order, then upsert them all in one transaction (or raise ImportProblems)."""
        started = time.perf_counter()
        # Tens of thousands of short-lived dicts and models: the cyclic GC would rescan them all,
        # over and over (measured: half the import time). Nothing here creates cycles worth collecting.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            orders = validate(data)
            with self.writing() as session:
                counts = upsert(session, orders)
        finally:
            if was_enabled:
                gc.enable()
        seconds = round(time.perf_counter() - started, 3)
        return ImportReport(orders=len(orders), **counts, seconds=seconds)

    # Orders -----------------------------------------------------------------------------
    def _match(self, conn: sa.Connection, order_id: str) -> AnyRow | None:
        """The head row of the one order `order_id` names, tolerating "#1001", "wk-1001", "1001"."""
        key = lookup_key(order_id or "")
        if not key:
            return None
        rows = conn.execute(BY_KEY, {"key": key}).all()
        if not rows and key.isdigit():
            rows = conn.execute(BY_NUMBER, {"number": order_number(key)}).all()
        # Unknown, or ambiguous ("1001" for both WK-1001 and AB-1001): never guess between orders.
        return rows[0] if len(rows) == 1 else None

    def resolve_id(self, order_id: str) -> str | None:
        with self.engine.connect() as conn:
            head = self._match(conn, order_id)
            return head.id if head is not None else None

    def find_order(self, order_id: str) -> Order | None:
        # Hot path (every eligibility check): one query for the head row, then the cache.
        with self.engine.connect() as conn:
            head = self._match(conn, order_id)
            return self._cached(conn, head.id, head.revision, head) if head is not None else None

    def order_and_authorized(
        self, order_id: str, email: str | None = None
    ) -> tuple[Order, dict[str, int]] | None:
        """An eligibility check's reads on one connection: the order (the shopper's, when `email`
        is given; None for unknown and for someone else's) and its authorized quantities."""
        with self.engine.connect() as conn:
            head = self._match(conn, order_id)
            if head is None or (email is not None and head.email != email.strip().lower()):
                return None
            order = self._cached(conn, head.id, head.revision, head)
            if order is None:
                return None
            with self._lock:
                cached = self._authorized.get(order.id)
            if cached is not None and cached[0] == head.revision:
                return order, dict(cached[1])  # the warm path: one query in all
            rows = conn.execute(AUTHORIZED, {"order_id": order.id}).all()
        authorized = {sku: int(total) for sku, total in rows}
        with self._lock:
            # Stored under the revision read first: if an RMA landed in between, the next call
            # sees a newer revision and queries again, so this can never serve stale quantities.
            if len(self._authorized) >= CACHE_SIZE:
                self._authorized.pop(next(iter(self._authorized)))
            self._authorized[order.id] = (head.revision, authorized)
        return order, dict(authorized)

    def _cached(
        self,
        conn: sa.Connection,
        real_id: str,
        revision: int | None = None,
        head: AnyRow | None = None,
    ) -> Order | None:
        if revision is None:
            revision = conn.execute(REVISION, {"order_id": real_id}).scalar()
        with self._lock:
            cached = self._cache.get(real_id)
        if cached is not None and cached[0] == revision:
            return cached[1]
        loaded = load_order(conn, real_id, head)
        if loaded is None:
            return None
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[real_id] = loaded
        return loaded[1]

    def preload(self, limit: int = CACHE_SIZE) -> int:
        """Warm the record cache with the most recent orders (bulk queries); returns how many.
        Safe at any time: every cached record is still checked against its revision on use."""
        with self.engine.connect() as conn:
            loaded = load_recent(conn, min(limit, CACHE_SIZE))
        with self._lock:
            self._cache.update(loaded)
            while len(self._cache) > CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
        return len(loaded)

    def order_for_customer(self, order_id: str, email: str | None) -> Order | None:
        """The order if it belongs to `email`; None when unknown AND when someone else's."""
        if not email:
            return None
        order = self.find_order(order_id)
        if order is None or order.customer.email != email.strip().lower():
            return None
        return order

    def orders_for_customer(self, email: str) -> list[Order]:
        query = (
            sa.select(OrderRow.id, OrderRow.revision)
            .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
            .where(CustomerRow.email == email.strip().lower())
            .order_by(OrderRow.placed_at.desc(), OrderRow.id)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
            orders = [self._cached(conn, oid, rev) for oid, rev in found]
        return [o for o in orders if o is not None]

    def customer(self, email: str) -> Customer | None:
        with self.reading() as s:
            row = s.scalar(sa.select(CustomerRow).where(CustomerRow.email == email.strip().lower()))
            return customer_record(row) if row else None

    def authorized_quantities(self, order_id: str) -> dict[str, int]:
        """Quantities per sku already on live return authorizations (not rejected/cancelled)."""
        with self._lock:
            known = order_id in self._cache  # callers usually pass Order.id: skip the lookup
        real_id = order_id if known else (self.resolve_id(order_id) or order_id)
        with self.engine.connect() as conn:
            rows = conn.execute(AUTHORIZED, {"order_id": real_id}).all()
            return {sku: int(total) for sku, total in rows}

    def find_shipment(self, tracking_number: str) -> tuple[Order, Shipment] | None:
        wanted = (tracking_number or "").strip().upper()
        if not wanted:
            return None
        query = sa.select(ShipmentRow.order_id, ShipmentRow.tracking_number).where(
            sa.func.upper(ShipmentRow.tracking_number) == wanted
        )
        with self.engine.connect() as conn:
            hit = conn.execute(query).first()
            order = self._cached(conn, hit[0]) if hit else None
        if order is None:
            return None
        shipment = next(s for s in order.shipments if s.tracking_number == hit[1])  # type: ignore[index]
        return order, shipment

    def label_rma(self, file_name: str) -> str | None:
        """The RMA a served label file belongs to (None: no return owns it)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(LabelRow.rma_id).where(LabelRow.file_name == file_name)
            ).scalar()

    def count_orders(self) -> int:
        with self.reading() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(OrderRow)) or 0)
