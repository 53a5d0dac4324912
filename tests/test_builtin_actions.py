"""The built-in actions through the real order store, workflow and carrier (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from actions import ActionContext, ActionError, ActionRegistry, load_registry
from actions.services import ActionServices, build_services

ROOT = Path(__file__).resolve().parent.parent
DEMO_POLICY = ROOT / "examples" / "demo-store" / "policy.toml"
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=NY)
ADA, BOB = "ada@example.com", "bob@example.com"


def _order(oid: str, email: str, status: str, delivered: str | None, items, shipments=()):
    return {
        "id": oid,
        "customer": {"email": email, "name": email.split("@")[0].title()},
        "placed_at": "2026-01-02T10:00:00-05:00",
        "status": status,
        "delivered_at": delivered,
        "currency": "USD",
        "items": items,
        "shipments": list(shipments),
    }


def _item(sku: str, name: str, category: str, price: str, quantity: int = 1, tags=()):
    return {
        "sku": sku,
        "name": name,
        "category": category,
        "quantity": quantity,
        "unit_price": price,
        "tags": list(tags),
    }


ORDERS: dict[str, Any] = {
    "orders": [
        _order(
            "WK-1001",
            "Ada@Example.com",
            "delivered",
            "2026-03-10T15:00:00-04:00",
            [
                _item("MUG-ENG", "Engraved Oak Mug", "kitchen", "38.00", tags=["personalized"]),
                _item("BOWL-01", "Stoneware Bowl", "kitchen", "12.50", quantity=4),
            ],
            [
                {
                    "carrier": "UPS",
                    "tracking_number": "1Z0001",
                    "events": [
                        {
                            "at": "2026-03-08T09:00:00Z",
                            "status": "in_transit",
                            "location": "Albany, NY",
                        },
                        {
                            "at": "2026-03-10T19:00:00Z",
                            "status": "delivered",
                            "location": "Brooklyn, NY",
                        },
                    ],
                }
            ],
        ),
        _order(
            "WK-1002",
            ADA,
            "shipped",
            None,
            [_item("VASE-02", "Ash Glaze Vase", "decor", "64.00")],
            [{"carrier": "UPS", "tracking_number": "1Z0002", "events": []}],
        ),
        _order(
            "WK-1003",
            BOB,
            "delivered",
            "2026-03-12T12:00:00-04:00",
            [
                _item("CHAIR-01", "Ash Chair", "furniture", "240.00"),
                _item("SOFA-01", "Linen Sofa", "furniture", "900.00"),
            ],
            [{"carrier": "FedEx", "tracking_number": "FX0003", "events": []}],
        ),
        _order(
            "WK-1004",
            ADA,
            "delivered",
            "2026-01-05T12:00:00-05:00",
            [_item("LAMP-01", "Brass Lamp", "lighting", "80.00")],
        ),
        _order(
            "WK-1005",
            ADA,
            "pending",
            None,
            [_item("PRINT-01", "Harbour Print", "art-print", "45.00")],
        ),
    ]
}


@pytest.fixture
def services(database_url: str, tmp_path: Path):
    built = build_services(
        data_dir=tmp_path / "data",
        database_url=database_url,
        policy_path=DEMO_POLICY,
        public_url="http://127.0.0.1:8000",
        clock=lambda: NOW,
    )
    built.store.import_data(ORDERS)
    yield built
    built.close()


@pytest.fixture(scope="module")
def registry() -> ActionRegistry:
    return load_registry()


def as_(services: ActionServices, email: str | None = ADA) -> ActionContext:
    return ActionContext(services=services, customer_email=email, now=NOW)


async def fails(registry: ActionRegistry, ctx: ActionContext, name: str, args: dict) -> ActionError:
    with pytest.raises(ActionError) as err:
        await registry.run(name, ctx, args)
    return err.value


# lookup_order ----------------------------------------------------------------------------------
async def test_lookup_order_verifies_the_shopper_for_the_conversation(services, registry) -> None:
    ctx = as_(services, None)
    result = await registry.run(
        "lookup_order", ctx, {"order_id": "#1001", "email": " ADA@example.COM"}
    )
    assert ctx.customer_email == ADA
    assert result.order_id == "WK-1001" and result.status == "delivered"
    assert result.total == Decimal("88.00")
    assert [i.sku for i in result.items] == ["MUG-ENG", "BOWL-01"]
    assert result.shipments[0].status == "delivered"
    assert result.message == (
        "Order WK-1001 was delivered on March 10, 2026: 1 × Engraved Oak Mug and "
        "4 × Stoneware Bowl ($88.00)."
    )


async def test_someone_elses_order_reads_exactly_like_an_unknown_one(services, registry) -> None:
    ctx = as_(services, None)
    theirs = await fails(registry, ctx, "lookup_order", {"order_id": "WK-1003", "email": ADA})
    unknown = await fails(registry, ctx, "lookup_order", {"order_id": "WK-9999", "email": ADA})
    assert theirs.code == unknown.code == "order_not_found"
    assert theirs.message == unknown.message
    assert ctx.customer_email is None


# check_eligibility -----------------------------------------------------------------------------
async def test_check_eligibility_needs_a_verified_shopper(services, registry) -> None:
    err = await fails(registry, as_(services, None), "check_eligibility", {"order_id": "WK-1001"})
    assert err.code == "identity_required"


async def test_check_eligibility_on_someone_elses_order_is_not_found(services, registry) -> None:
    err = await fails(registry, as_(services), "check_eligibility", {"order_id": "WK-1003"})
    assert err.code == "order_not_found"


async def test_check_eligibility_without_sku_checks_every_line(services, registry) -> None:
    result = await registry.run("check_eligibility", as_(services), {"order_id": "wk-1001"})
    mug, bowl = result.lines
    assert (mug.eligible, mug.reason_code) == (False, "final_sale")
    assert (bowl.eligible, bowl.quantity, bowl.refund_amount) == (True, 4, Decimal("50.00"))
    assert result.message == (
        "On order WK-1001, the Stoneware Bowl can be returned (refunds totalling $50.00), "
        "but not the Engraved Oak Mug (final sale)."
    )


async def test_personalised_mug_is_final_sale_for_change_of_mind(services, registry) -> None:
    args = {"order_id": "WK-1001", "sku": "mug-eng"}
    result = await registry.run("check_eligibility", as_(services), args)
    assert result.lines[0].message == (
        "The Engraved Oak Mug is personalised, so it's final sale unless we made a mistake with it."
    )


async def test_item_not_on_order_is_an_error(services, registry) -> None:
    args = {"order_id": "WK-1001", "sku": "SOFA-01"}
    err = await fails(registry, as_(services), "check_eligibility", args)
    assert err.code == "item_not_on_order" and "SOFA-01" in err.message


async def test_order_not_yet_delivered_is_not_returnable(services, registry) -> None:
    result = await registry.run("check_eligibility", as_(services), {"order_id": "WK-1002"})
    assert result.lines[0].reason_code == "not_delivered"
    assert result.message == result.lines[0].message


async def test_old_order_is_outside_the_window(services, registry) -> None:
    result = await registry.run("check_eligibility", as_(services), {"order_id": "WK-1004"})
    assert result.lines[0].reason_code == "outside_window"


async def test_unknown_reason_is_refused_listing_the_allowed_ones(services, registry) -> None:
    args = {"order_id": "WK-1001", "reason": "bored"}
    err = await fails(registry, as_(services), "check_eligibility", args)
    assert err.code == "invalid_arguments"
    assert "changed_mind" in err.message and "seller_error" in err.message


# create_return_authorization -------------------------------------------------------------------
RETURN_BOWLS = {
    "order_id": "WK-1001",
    "lines": [{"sku": "BOWL-01", "quantity": 2}],
    "reason": "changed_mind",
    "resolution": "refund",
}


async def test_return_is_authorized_and_asking_twice_gives_the_same_one(services, registry) -> None:
    first = await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    assert first.status == "approved" and first.rma_id.startswith("RMA-")
    assert first.refund_total == Decimal("25.00")
    assert first.message == (
        f"Return {first.rma_id} is approved: 2 × Stoneware Bowl for a refund of $25.00, and I can "
        "send you a prepaid return label now."
    )
    again = await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    assert again.rma_id == first.rma_id
    assert len(services.workflow.for_customer(ADA)) == 1
    # the two bowls now count as authorized: only two are left
    over = {"order_id": "WK-1001", "sku": "BOWL-01", "quantity": 3}
    left = await registry.run("check_eligibility", as_(services), over)
    assert left.lines[0].reason_code == "quantity_exceeds"


async def test_two_simultaneous_requests_make_one_authorization(services, registry) -> None:
    one, two = await asyncio.gather(
        registry.run("create_return_authorization", as_(services), RETURN_BOWLS),
        registry.run("create_return_authorization", as_(services), RETURN_BOWLS),
    )
    assert one.rma_id == two.rma_id
    assert len(services.workflow.for_customer(ADA)) == 1
    assert services.store.authorized_quantities("WK-1001") == {"BOWL-01": 2}


async def test_return_of_a_final_sale_item_is_refused_by_code(services, registry) -> None:
    args = {**RETURN_BOWLS, "lines": [{"sku": "MUG-ENG"}]}
    err = await fails(registry, as_(services), "create_return_authorization", args)
    assert err.code == "final_sale"
    assert services.workflow.for_customer(ADA) == []


async def test_return_for_someone_elses_order_is_not_found(services, registry) -> None:
    args = {**RETURN_BOWLS, "order_id": "WK-1003", "lines": [{"sku": "CHAIR-01"}]}
    err = await fails(registry, as_(services), "create_return_authorization", args)
    assert err.code == "order_not_found"


async def test_damaged_item_waits_for_manual_review(services, registry) -> None:
    args = {**RETURN_BOWLS, "reason": "damaged"}
    result = await registry.run("create_return_authorization", as_(services), args)
    assert result.status == "manual_review" and result.review == "manual"
    assert "waiting for a quick review" in result.message


async def test_confirmation_summary_names_items_refund_and_fee(services, registry) -> None:
    args = {
        "order_id": "WK-1003",
        "lines": [{"sku": "CHAIR-01"}],
        "reason": "changed_mind",
        "resolution": "refund",
    }
    spec = registry.get("create_return_authorization")
    text = (await registry.preview(spec, as_(services, BOB), args))[0]
    assert text == (
        "Return 1 × Ash Chair from WK-1003 (changed mind) for a refund of $204.00 after a $36.00 "
        "restocking fee."
    )


async def test_store_credit_is_worded_as_credit(services, registry) -> None:
    args = {**RETURN_BOWLS, "resolution": "store_credit"}
    result = await registry.run("create_return_authorization", as_(services), args)
    assert "store credit of $25.00" in result.message


# generate_label -----------------------------------------------------------------------------
async def test_label_is_made_once_for_an_approved_return(services, registry) -> None:
    rma = await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    label = await registry.run("generate_label", as_(services), {"rma_id": rma.rma_id.lower()})
    assert label.status == "label_sent"
    assert label.label_url.startswith("http://127.0.0.1:8000/labels/")
    pdfs = list((services.data_dir / "labels").glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    again = await registry.run("generate_label", as_(services), {"rma_id": rma.rma_id})
    assert again.tracking_number == label.tracking_number
    tracking = await registry.run(
        "fetch_tracking", as_(services), {"tracking_number": label.tracking_number}
    )
    assert tracking.shipments[0].direction == "return"
    assert tracking.shipments[0].rma_id == rma.rma_id
    by_order = await registry.run("fetch_tracking", as_(services), {"order_id": "WK-1001"})
    assert [s.direction for s in by_order.shipments] == ["outbound", "return"]
    assert "your return" in by_order.message


async def test_carrier_events_are_shown_in_words_to_the_shopper(services, registry) -> None:
    rma = await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    await registry.run("generate_label", as_(services), {"rma_id": rma.rma_id})
    by_order = await registry.run("fetch_tracking", as_(services), {"order_id": "WK-1001"})
    assert "label created, waiting for the carrier" in by_order.message
    assert "(our own delivery service)" in by_order.message
    assert "label_created" not in by_order.message and "(local)" not in by_order.message


async def test_no_label_when_the_item_is_kept(services, registry) -> None:
    args = {**RETURN_BOWLS, "lines": [{"sku": "MUG-ENG"}], "reason": "seller_error"}
    rma = await registry.run("create_return_authorization", as_(services), args)
    assert rma.status == "approved" and rma.return_shipping_required is False
    assert rma.return_method == "keep_it" and rma.needs_label is False
    err = await fails(registry, as_(services), "generate_label", {"rma_id": rma.rma_id})
    assert err.code == "no_parcel_label" and "keep or recycle" in err.message
    assert list((services.data_dir / "labels").glob("*.pdf")) == []


async def test_label_for_someone_elses_return_is_not_found(services, registry) -> None:
    rma = await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    err = await fails(registry, as_(services, BOB), "generate_label", {"rma_id": rma.rma_id})
    unknown = await fails(registry, as_(services, BOB), "generate_label", {"rma_id": "RMA-XXXXXX"})
    assert err.code == unknown.code == "rma_not_found"


async def test_label_waits_while_the_return_is_reviewed(services, registry) -> None:
    rma = await registry.run(
        "create_return_authorization", as_(services), {**RETURN_BOWLS, "reason": "damaged"}
    )
    err = await fails(registry, as_(services), "generate_label", {"rma_id": rma.rma_id})
    assert err.code == "rma_not_approved"


# fetch_tracking ------------------------------------------------------------------------------
async def test_tracking_by_order_shows_the_latest_scan(services, registry) -> None:
    result = await registry.run("fetch_tracking", as_(services), {"order_id": "WK-1001"})
    assert result.shipments[0].status == "delivered"
    assert result.message == (
        "For order WK-1001, your parcel 1Z0001 (UPS) was last scanned on March 10, 2026: "
        "delivered in Brooklyn, NY."
    )


async def test_tracking_someone_elses_parcel_is_not_found(services, registry) -> None:
    err = await fails(registry, as_(services), "fetch_tracking", {"tracking_number": "FX0003"})
    assert err.code == "tracking_not_found"
    mine = await registry.run("fetch_tracking", as_(services), {"tracking_number": "1z0001"})
    assert mine.order_id == "WK-1001"


async def test_tracking_needs_an_order_or_a_tracking_number(services, registry) -> None:
    err = await fails(registry, as_(services), "fetch_tracking", {})
    assert err.code == "invalid_arguments"


async def test_tracking_of_an_order_not_shipped_yet(services, registry) -> None:
    result = await registry.run("fetch_tracking", as_(services), {"order_id": "WK-1005"})
    assert result.shipments == [] and "hasn't shipped yet" in result.message


async def test_preview_reports_a_refusal_before_asking_for_confirmation(services, registry) -> None:
    args = {**RETURN_BOWLS, "lines": [{"sku": "MUG-ENG"}]}
    spec = registry.get("create_return_authorization")
    text, problem = await registry.preview(spec, as_(services), args)
    assert problem is not None and problem.code == "final_sale"
    assert text  # summarize still gives a generic text rather than raising
    assert (await registry.preview(spec, as_(services), args))[0] == text


@pytest.mark.parametrize(
    ("order_id", "line", "reason", "code"),
    [
        ("WK-1002", {"sku": "VASE-02"}, "changed_mind", "not_delivered"),
        ("WK-1004", {"sku": "LAMP-01"}, "changed_mind", "outside_window"),
        ("WK-1001", {"sku": "BOWL-01", "quantity": 5}, "changed_mind", "quantity_exceeds"),
        ("WK-1001", {"sku": "MUG-ENG"}, "wrong_size", "final_sale"),
        ("WK-1001", {"sku": "PLATE-9"}, "changed_mind", "item_not_on_order"),
        ("WK-9999", {"sku": "BOWL-01"}, "changed_mind", "order_not_found"),
    ],
)
async def test_return_refused_by_policy_carries_the_rule_as_its_code(
    services, registry, order_id, line, reason, code
) -> None:
    args = {"order_id": order_id, "lines": [line], "reason": reason}
    err = await fails(registry, as_(services), "create_return_authorization", args)
    assert err.code == code and err.message.endswith(".")
    assert services.workflow.for_customer(ADA) == []


async def test_the_model_cannot_set_the_refund_through_arguments(services, registry) -> None:
    args = {**RETURN_BOWLS, "refund_total": "999.00"}
    err = await fails(registry, as_(services), "create_return_authorization", args)
    assert err.code == "invalid_arguments" and "refund_total" in err.message
    lines = [{"sku": "BOWL-01", "quantity": 1, "refund_amount": "999.00"}]
    err = await fails(
        registry, as_(services), "create_return_authorization", {**RETURN_BOWLS, "lines": lines}
    )
    assert err.code == "invalid_arguments"


async def test_repeated_skus_in_one_request_are_added_up(services, registry) -> None:
    lines = [{"sku": "BOWL-01", "quantity": 1}, {"sku": "bowl-01", "quantity": 1}]
    merged = await registry.run(
        "create_return_authorization", as_(services), {**RETURN_BOWLS, "lines": lines}
    )
    again = await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    assert [(ln.sku, ln.quantity) for ln in merged.lines] == [("BOWL-01", 2)]
    assert again.rma_id == merged.rma_id


async def test_every_line_summary_mentions_fees(services, registry) -> None:
    result = await registry.run("check_eligibility", as_(services, BOB), {"order_id": "WK-1003"})
    assert result.message == (
        "Every item on order WK-1003 can be returned, for refunds totalling $969.00 after "
        "$171.00 in fees."
    )


def test_simultaneous_requests_from_four_threads_make_one_authorization(services, registry) -> None:
    import threading

    start = threading.Barrier(4)
    ids: list[str] = []

    def request() -> None:
        start.wait()
        result = asyncio.run(
            registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
        )
        ids.append(result.rma_id)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(ids) == 4 and len(set(ids)) == 1
    assert len(services.workflow.for_customer(ADA)) == 1


async def test_whole_order_check_counts_what_is_already_being_returned(services, registry) -> None:
    await registry.run("create_return_authorization", as_(services), RETURN_BOWLS)
    result = await registry.run("check_eligibility", as_(services), {"order_id": "WK-1001"})
    bowl = result.lines[1]
    assert (bowl.quantity, bowl.eligible, bowl.refund_amount) == (2, True, Decimal("25.00"))
    rest = {
        **RETURN_BOWLS,
        "lines": [{"sku": "BOWL-01", "quantity": 2}],
        "resolution": "store_credit",
    }
    await registry.run("create_return_authorization", as_(services), rest)
    result = await registry.run("check_eligibility", as_(services), {"order_id": "WK-1001"})
    bowl = result.lines[1]
    assert bowl.reason_code == "quantity_exceeds"
    assert bowl.message == "The Stoneware Bowl on this order already has a return under way."
