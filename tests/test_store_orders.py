"""OrderStore: migrations, tolerant order lookup, identity scoping, records with aware datetimes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from actions.store import OrderStore
from actions.store.models import Base

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "orders.json"


@pytest.fixture
def store(database_url: str) -> OrderStore:
    s = OrderStore(database_url)
    s.migrate()
    yield s
    s.close()


def _order(order_id: str, email: str = "ann@example.com", **over: object) -> dict:
    base = {
        "id": order_id,
        "customer": {"email": email, "name": "Ann Example"},
        "placed_at": "2026-11-01T10:00:00Z",
        "status": "delivered",
        "delivered_at": "2026-11-05T18:00:00-05:00",
        "currency": "USD",
        "items": [
            {
                "sku": "MUG-1",
                "name": "Mug",
                "category": "ceramics",
                "quantity": 2,
                "unit_price": "38.00",
            }
        ],
        "shipments": [],
    }
    base.update(over)
    return base


def test_migrate_twice_and_schema_matches_models(store: OrderStore) -> None:
    store.migrate()  # idempotent
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
        version = conn.execute(sa.text("SELECT version_num FROM shopdesk_orders_version")).scalar()
    assert [
        d for d in diff if not (d[0] == "remove_table" and d[1].name == "shopdesk_orders_version")
    ] == []
    assert version == "0006"


def test_new_store_is_empty_until_import(store: OrderStore) -> None:
    assert store.is_empty()
    store.import_data({"orders": [_order("WK-1001")]})
    assert not store.is_empty()


@pytest.mark.parametrize("typed", ["WK-1001", "wk-1001", "#1001", "1001", " WK1001 ", "# 1001"])
def test_find_order_tolerates_how_shoppers_type_the_number(store: OrderStore, typed: str) -> None:
    store.import_data({"orders": [_order("WK-1001")]})
    order = store.find_order(typed)
    assert order is not None and order.id == "WK-1001"


def test_find_order_refuses_to_guess_between_two_orders_with_the_same_digits(
    store: OrderStore,
) -> None:
    store.import_data({"orders": [_order("WK-1001"), _order("AB-1001")]})
    assert store.find_order("1001") is None
    assert store.find_order("ab-1001").id == "AB-1001"  # type: ignore[union-attr]
    assert store.find_order("WK-9999") is None
    assert store.find_order("") is None


def test_order_for_customer_is_none_for_unknown_and_for_someone_elses(store: OrderStore) -> None:
    store.import_data(
        {"orders": [_order("WK-1001", "Ann@Example.com"), _order("WK-1002", "bob@example.com")]}
    )
    assert store.order_for_customer("wk-1001", "  ANN@example.COM ").id == "WK-1001"  # type: ignore[union-attr]
    assert store.order_for_customer("WK-1002", "ann@example.com") is None
    assert store.order_for_customer("WK-4040", "ann@example.com") is None
    assert store.order_for_customer("WK-1001", None) is None


def test_records_have_aware_utc_datetimes_and_decimal_money(store: OrderStore) -> None:
    store.import_data({"orders": [_order("WK-1001")]})
    order = store.find_order("WK-1001")
    assert order is not None
    assert order.delivered_at == datetime(2026, 11, 5, 23, 0, tzinfo=UTC)
    assert order.placed_at.tzinfo is not None
    assert order.items[0].unit_price == Decimal("38.00")
    assert order.items[0].amount == Decimal("76.00")
    assert order.customer.email == "ann@example.com"


def test_orders_for_customer_and_customer(store: OrderStore) -> None:
    store.import_file(DEMO)
    maya = store.orders_for_customer("MAYA.CHEN@example.com")
    assert [o.id for o in maya] == ["WK-1001", "WK-1025"]  # newest first
    assert store.customer("maya.chen@example.com").name == "Maya Chen"  # type: ignore[union-attr]
    assert store.customer("nobody@example.com") is None
    assert store.orders_for_customer("nobody@example.com") == []


def test_find_shipment_by_tracking_number_any_case(store: OrderStore) -> None:
    data = json.loads(DEMO.read_text())
    store.import_data(data)
    wanted = data["orders"][8]["shipments"][0]["tracking_number"]  # WK-1009, in transit
    found = store.find_shipment(wanted.lower())
    assert found is not None
    order, shipment = found
    assert order.id == "WK-1009" and order.status == "shipped"
    assert shipment.direction == "outbound" and shipment.events[-1].status == "in_transit"
    assert store.find_shipment("NOPE123") is None


def test_cached_order_record_follows_a_reimport(store: OrderStore) -> None:
    store.import_data({"orders": [_order("WK-1001")]})
    assert store.find_order("WK-1001").items[0].unit_price == Decimal("38.00")  # type: ignore[union-attr]
    edited = _order("WK-1001")
    edited["items"] = copy.deepcopy(edited["items"])
    edited["items"][0]["unit_price"] = "40.00"
    store.import_data({"orders": [edited]})
    assert store.find_order("WK-1001").items[0].unit_price == Decimal("40.00")  # type: ignore[union-attr]
    # A second store (another process) sees the change too.
    other = OrderStore(store.url)
    assert other.find_order("1001").items[0].unit_price == Decimal("40.00")  # type: ignore[union-attr]
    other.close()


def test_authorized_quantities_empty_without_returns(store: OrderStore) -> None:
    store.import_data({"orders": [_order("WK-1001")]})
    assert store.authorized_quantities("WK-1001") == {}
    assert store.authorized_quantities("#1001") == {}


def test_preload_warms_the_cache_with_identical_records(store: OrderStore) -> None:
    store.import_file(DEMO)
    cold = OrderStore(store.url)
    expected = {o: cold.find_order(o) for o in ("WK-1001", "WK-1009", "WK-1026")}
    cold.close()
    warm = OrderStore(store.url)
    assert warm.preload() == 30
    for order_id, record in expected.items():
        assert warm.find_order(order_id) == record
    warm.close()


def test_order_and_authorized_scopes_to_the_shopper(store: OrderStore) -> None:
    store.import_file(DEMO)
    found = store.order_and_authorized("#1001", "MAYA.CHEN@example.com")
    assert found is not None and found[0].id == "WK-1001" and found[1] == {}
    assert store.order_and_authorized("WK-1001", "tom.becker@example.com") is None
    assert store.order_and_authorized("WK-4040", "maya.chen@example.com") is None
    assert store.order_and_authorized("WK-1001") is not None  # staff: no email check


def test_two_processes_migrating_at_once_both_succeed(database_url: str) -> None:
    import threading

    stores = [OrderStore(database_url) for _ in range(3)]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def migrate(s: OrderStore) -> None:
        barrier.wait()
        try:
            s.migrate()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].is_empty()
    for s in stores:
        s.close()
