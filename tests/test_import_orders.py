"""`orders import`: whole-file validation with JSON paths, all-or-nothing, idempotent upsert, speed."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from actions.importer import ImportProblems
from actions.store import OrderStore
from actions.store.models import OrderLineRow, OrderRow, ShipmentRow, TrackingEventRow

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "orders.json"


@pytest.fixture
def store(database_url: str) -> OrderStore:
    s = OrderStore(database_url)
    s.migrate()
    yield s
    s.close()


def _counts(store: OrderStore) -> dict[str, int]:
    with store.reading() as s:
        return {
            m.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (OrderRow, OrderLineRow, ShipmentRow, TrackingEventRow)
        }


def test_demo_file_imports_every_order_with_lower_cased_emails(store: OrderStore) -> None:
    report = store.import_file(DEMO)
    assert report.orders == report.created >= 25
    assert store.find_order("WK-1025").customer.email == "maya.chen@example.com"  # type: ignore[union-attr]


def test_reimporting_the_same_file_changes_nothing(store: OrderStore) -> None:
    store.import_file(DEMO)
    before = _counts(store)
    report = store.import_file(DEMO)
    assert (report.created, report.updated, report.unchanged) == (0, 0, report.orders)
    assert _counts(store) == before


def test_an_edited_order_is_updated_in_place(store: OrderStore) -> None:
    data = json.loads(DEMO.read_text())
    store.import_data(data)
    before = _counts(store)
    edited = copy.deepcopy(data)
    order = edited["orders"][0]
    order["items"][0]["unit_price"] = "36.00"
    order["items"].append(
        {
            "sku": "CER-NEW",
            "name": "New cup",
            "category": "ceramics",
            "quantity": 1,
            "unit_price": "10",
        }
    )
    edited["orders"][2]["customer"]["name"] = "Priya Raman-Shah"
    report = store.import_data(edited)
    assert (report.created, report.updated) == (0, 2)
    fresh = store.find_order(order["id"])
    assert fresh is not None
    assert fresh.items[0].unit_price == Decimal("36.00") and fresh.line("cer-new") is not None
    assert store.find_order("WK-1003").customer.name == "Priya Raman-Shah"  # type: ignore[union-attr]
    after = _counts(store)
    assert after["order_lines"] == before["order_lines"] + 1
    assert after["shipments"] == before["shipments"]


def test_a_file_with_any_invalid_record_imports_nothing_and_lists_every_problem(
    store: OrderStore, tmp_path: Path
) -> None:
    data = json.loads(DEMO.read_text())
    data["orders"][3]["items"][0]["unit_price"] = "-5.00"
    data["orders"][4]["status"] = "delivered"
    del data["orders"][4]["delivered_at"]
    data["orders"][5]["id"] = data["orders"][0]["id"]
    data["orders"][6]["customer"]["email"] = "not-an-email"
    data["orders"][7]["status"] = "lost"
    data["orders"][2]["items"][0]["quantity"] = 0
    data["orders"][1]["items"][0]["unit_price"] = "12.345"
    data["orders"][9]["shipments"] = copy.deepcopy(data["orders"][0]["shipments"])
    del data["orders"][10]["items"]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(data))

    with pytest.raises(ImportProblems) as caught:
        store.import_file(path)
    problems = caught.value.problems
    text = "\n".join(problems)
    assert any(p.startswith("orders[3].items[0].unit_price:") for p in problems), text
    assert "orders[4].delivered_at: required when status is 'delivered'" in problems
    assert any(p.startswith("orders[5].id: duplicate order id 'WK-1001'") for p in problems), text
    assert any(p.startswith("orders[6].customer.email:") for p in problems), text
    assert any(p.startswith("orders[7].status:") for p in problems), text
    assert any(p.startswith("orders[2].items[0].quantity:") for p in problems), text
    assert any(
        p.startswith("orders[1].items[0].unit_price:") and "decimal" in p for p in problems
    ), text
    assert any(
        p.startswith("orders[9].shipments[0].tracking_number: duplicate") for p in problems
    ), text
    assert any(p.startswith("orders[10].items:") for p in problems), text
    assert len(problems) == 9, text
    assert store.is_empty()


def test_invalid_records_leave_a_previous_import_untouched(store: OrderStore) -> None:
    data = json.loads(DEMO.read_text())
    store.import_data(data)
    before = _counts(store)
    broken = copy.deepcopy(data)
    broken["orders"][0]["items"][0]["unit_price"] = "99.00"  # valid edit …
    broken["orders"][1]["placed_at"] = "yesterday"  # … next to an invalid record
    with pytest.raises(ImportProblems) as caught:
        store.import_data(broken)
    assert caught.value.problems[0].startswith("orders[1].placed_at:")
    assert _counts(store) == before
    assert store.find_order("WK-1001").items[0].unit_price == Decimal("34.00")  # type: ignore[union-attr]


def test_unreadable_json_and_wrong_shape_are_reported(store: OrderStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"orders": [\n  {"id": "WK-1"},,\n]}')
    with pytest.raises(ImportProblems) as caught:
        store.import_file(bad)
    assert "line 2" in caught.value.problems[0]
    with pytest.raises(ImportProblems) as caught:
        store.import_data([1, 2])
    assert caught.value.problems == ['(file): expected an object {"orders": [...]}']
    with pytest.raises(ImportProblems) as caught:
        store.import_data({"orders": [{"id": "WK-1", "colour": "red"}]})
    assert "orders[0].colour: Extra inputs are not permitted (order WK-1)" in caught.value.problems


ADDRESS = {"name": "Maya Chen", "line1": "41 Linden Street", "line2": "Apt 3B",
           "city": "Hudson", "region": "NY", "postal_code": "12534", "country": "us"}  # fmt: skip


def _one_order(**over: object) -> dict:
    data = json.loads(DEMO.read_text())
    order = copy.deepcopy(data["orders"][0])
    order.update(over)
    return {"orders": [order]}


def test_an_order_with_a_shipping_address_keeps_it_and_one_without_has_none(
    store: OrderStore,
) -> None:
    store.import_data(_one_order(shipping_address=ADDRESS))
    order = store.find_order("WK-1001")
    assert order is not None and order.shipping_address is not None
    assert order.shipping_address.lines() == (
        "Maya Chen", "41 Linden Street", "Apt 3B", "Hudson, NY 12534", "United States",
    )  # fmt: skip
    without = _one_order(id="WK-9001", shipping_address=None)
    without["orders"][0]["shipments"] = []
    store.import_data(without)
    assert store.find_order("WK-9001").shipping_address is None  # type: ignore[union-attr]


def test_an_edited_address_is_updated_and_an_old_file_without_addresses_is_unchanged(
    store: OrderStore,
) -> None:
    data = json.loads(DEMO.read_text())
    for order in data["orders"]:
        order.pop("shipping_address", None)
    store.import_data(data)
    again = store.import_data(data)  # a file from before addresses existed: still a no-op
    assert again.unchanged == again.orders
    moved = _one_order(shipping_address={**ADDRESS, "line1": "9 Warren Street", "line2": ""})
    assert store.import_data(moved).updated == 1
    address = store.find_order("WK-1001").shipping_address  # type: ignore[union-attr]
    assert address is not None and address.line1 == "9 Warren Street" and address.line2 is None


def test_a_bad_shipping_address_names_the_order_and_the_field(store: OrderStore) -> None:
    bad = {**ADDRESS, "country": "USA", "postal_code": "12534!", "line1": "41 Linden\nStreet",
           "city": "H" * 61, "colour": "red"}  # fmt: skip
    del bad["name"]
    with pytest.raises(ImportProblems) as caught:
        store.import_data(_one_order(shipping_address=bad))
    problems = caught.value.problems
    text = "\n".join(problems)
    where = "orders[0].shipping_address"
    assert f"{where}.name: Field required (order WK-1001)" in problems, text
    assert any(
        p.startswith(f"{where}.country:") and "ISO 3166-1 alpha-2" in p and "(order WK-1001)" in p
        for p in problems
    ), text
    assert any(p.startswith(f"{where}.postal_code: may contain only letters") for p in problems)
    assert any(p.startswith(f"{where}.line1: must be a single line") for p in problems), text
    assert any(p.startswith(f"{where}.city:") and "60 characters" in p for p in problems), text
    assert any(p.startswith(f"{where}.colour: Extra inputs") for p in problems), text
    assert len(problems) == 6, text
    assert store.is_empty()
    with pytest.raises(ImportProblems) as caught:
        store.import_data(_one_order(shipping_address={**ADDRESS, "country": "XK"}))
    assert "'XK' is not an ISO 3166-1 alpha-2 country code" in caught.value.problems[0]


def test_a_tracking_number_of_another_stored_order_is_refused(store: OrderStore) -> None:
    data = json.loads(DEMO.read_text())
    store.import_data(data)
    clash = copy.deepcopy(data["orders"][0])
    clash["id"] = "WK-2001"
    with pytest.raises(ImportProblems) as caught:
        store.import_data({"orders": [clash]})
    assert caught.value.problems[0].startswith(
        "orders[0].shipments[0].tracking_number: tracking number"
    )
    assert "already belongs to order WK-1001" in caught.value.problems[0]
    assert store.find_order("WK-2001") is None


def _big_file(n: int) -> dict:
    base = datetime(2026, 10, 1, tzinfo=UTC)
    orders = []
    for i in range(n):
        placed = base + timedelta(minutes=i)
        orders.append({
            "id": f"BN-{100000 + i}",
            "customer": {"email": f"Shopper{i % 3000}@Example.com", "name": f"Shopper {i % 3000}"},
            "placed_at": placed.isoformat(),
            "status": "delivered",
            "delivered_at": (placed + timedelta(days=3)).isoformat(),
            "currency": "USD",
            "items": [
                {"sku": f"SKU-{j}", "name": "Bowl", "category": "ceramics", "quantity": 2,
                 "unit_price": "12.50", "tags": ["x"]}
                for j in range(2)
            ],
            "shipments": [{
                "carrier": "UPS", "tracking_number": f"1ZBN{i:08d}",
                "events": [
                    {"at": placed.isoformat(), "status": "picked_up", "location": "Hudson, NY"},
                    {"at": (placed + timedelta(days=3)).isoformat(), "status": "delivered", "location": "Door"},
                ],
            }],
        })  # fmt: skip
    return {"orders": orders}


def test_ten_thousand_orders_import_whole_and_a_second_import_changes_nothing(
    store: OrderStore,
) -> None:
    # How fast is bench/actions.py's question (`make bench`), not a test's.
    data = _big_file(10_000)
    report = store.import_data(data)
    assert report.created == 10_000 and report.customers_created == 3000
    assert _counts(store)["tracking_events"] == 20_000
    again = store.import_data(data)
    assert again.unchanged == 10_000
