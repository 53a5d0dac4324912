"""get_return_status rule by rule, and each return method end to end (through the real order store,
workflow, carrier and webhook outbox, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import test_builtin_actions as builtin
from test_builtin_actions import ADA, BOB, ORDERS, as_, fails

from actions.store.models import WebhookDeliveryRow

# The same fixtures: the demo policy over a few orders of Ada's and Bob's, on both databases.
services = builtin.services
registry = builtin.registry

BOWLS = {"order_id": "WK-1001", "lines": [{"sku": "BOWL-01", "quantity": 2}]}


async def _return(registry, services, who=ADA, **args: Any):
    body = {**BOWLS, "reason": "changed_mind", **args}
    return await registry.run("create_return_authorization", as_(services, who), body)


async def _status(registry, services, who=ADA, **args: Any):
    return await registry.run("get_return_status", as_(services, who), args)


def _only(result):
    assert len(result.returns) == 1
    return result.returns[0]


def _subscribe(services) -> None:
    """A receiver of collection requests (the sender is not started: deliveries stay queued)."""
    services.webhooks.subscribe("http://127.0.0.1:9/collections", ["return.collection_requested"])


def _deliveries(services, event: str) -> list[dict[str, Any]]:
    """What the outbox will send for `event`: each delivery's data."""
    with services.store.reading() as s:
        rows = s.scalars(sa.select(WebhookDeliveryRow).where(WebhookDeliveryRow.event == event))
        return [json.loads(row.body)["data"] for row in rows]


# get_return_status, rule by rule ----------------------------------------------------------------
async def test_return_status_needs_a_verified_shopper(services, registry) -> None:
    err = await fails(registry, as_(services, None), "get_return_status", {})
    assert err.code == "identity_required"


async def test_a_shopper_without_returns_hears_so(services, registry) -> None:
    result = await _status(registry, services)
    assert result.returns == [] and result.message == "I can't find any return for you."


async def test_approved_parcel_return_offers_the_label(services, registry) -> None:
    rma = await _return(registry, services)
    item = _only(await _status(registry, services))
    assert (item.rma_id, item.status, item.return_method) == (
        rma.rma_id,
        "approved",
        "parcel_label",
    )
    assert item.label_offer is True and item.label_url is None
    assert item.message.startswith(
        f"Return {rma.rma_id} (2 × Stoneware Bowl from order WK-1001) is approved, for a refund "
        "of $25.00."
    )
    assert item.message.endswith("Would you like me to create the prepaid return label now?")


async def test_once_the_label_is_made_the_status_links_it(services, registry) -> None:
    rma = await _return(registry, services)
    label = await registry.run("generate_label", as_(services), {"rma_id": rma.rma_id})
    item = _only(await _status(registry, services, rma_id=rma.rma_id.lower()))
    assert item.status == "label_sent" and item.label_offer is False
    assert item.label_url == label.label_url and item.tracking_number == label.tracking_number
    assert label.label_url in item.message and "drop it off" in item.message


async def test_a_return_in_review_says_a_person_decides_within_a_business_day(
    services, registry
) -> None:
    await _return(registry, services, reason="damaged")
    item = _only(await _status(registry, services, order_id="wk-1001"))
    assert item.status == "manual_review" and item.status_words == "waiting for a staff review"
    assert "waiting for a review by our team" in item.message
    assert "within one business day" in item.next_step and item.label_offer is False


async def test_a_rejection_gives_the_reason_the_store_wrote(services, registry) -> None:
    rma = await _return(registry, services, reason="damaged")
    note = "The photos show wear from use, not damage in transit."
    services.workflow.transition(rma.rma_id, "rejected", note=note)
    item = _only(await _status(registry, services))
    assert item.status == "rejected" and item.rejection_reason == note
    assert "was not approved" in item.message and "wear from use, not damage" in item.message
    assert "a person from the store" in item.next_step


async def test_an_item_received_is_being_inspected(services, registry) -> None:
    rma = await _return(registry, services)
    services.workflow.transition(rma.rma_id, "item_received")
    item = _only(await _status(registry, services))
    assert item.status == "item_received"
    assert item.message.startswith(f"We've received your return {rma.rma_id}")
    assert "inspecting it" in item.next_step


async def test_a_refund_says_amount_method_and_timing(services, registry) -> None:
    rma = await _return(registry, services)
    services.workflow.transition(rma.rma_id, "item_received")
    services.workflow.transition(rma.rma_id, "refunded")
    item = _only(await _status(registry, services))
    assert item.refund is not None and item.refund.amount == Decimal("25.00")
    assert item.refund.method == "to your original payment method"
    assert item.refund.issued_on == "March 20, 2026"  # the store's date of the refund
    assert "is refunded. $25.00 went back to your original payment method on March 20" in (
        item.message
    )
    assert "5 to 10 business days" in item.message  # the policy file's refund_shows_within


async def test_store_credit_refund_is_worded_as_credit(services, registry) -> None:
    rma = await _return(registry, services, resolution="store_credit")
    services.workflow.transition(rma.rma_id, "item_received")
    services.workflow.transition(rma.rma_id, "refunded")
    item = _only(await _status(registry, services))
    assert "went back as store credit" in item.message


async def test_someone_elses_return_is_not_found(services, registry) -> None:
    rma = await _return(registry, services)
    err = await fails(registry, as_(services, BOB), "get_return_status", {"rma_id": rma.rma_id})
    unknown = await fails(
        registry, as_(services, BOB), "get_return_status", {"rma_id": "RMA-ZZZZZZ"}
    )
    assert err.code == unknown.code == "rma_not_found" and err.message.count(rma.rma_id) == 1
    other = await fails(registry, as_(services, BOB), "get_return_status", {"order_id": "WK-1001"})
    assert other.code == "order_not_found"
    assert (await _status(registry, services, BOB)).returns == []


async def test_several_returns_are_listed_newest_first(services, registry) -> None:
    first = await _return(registry, services)
    services.workflow.transition(first.rma_id, "cancelled")
    second = await _return(registry, services, reason="wrong_size")
    result = await _status(registry, services)
    assert {r.rma_id for r in result.returns} == {first.rma_id, second.rma_id}
    assert result.message.startswith("You have 2 returns for you:")
    cancelled = next(r for r in result.returns if r.rma_id == first.rma_id)
    assert "is cancelled" in cancelled.message


# Return methods end to end -----------------------------------------------------------------------
async def test_freight_collection_makes_no_label_and_asks_the_team_to_collect(
    services, registry
) -> None:
    _subscribe(services)
    args = {"order_id": "WK-1003", "lines": [{"sku": "CHAIR-01"}], "reason": "changed_mind"}
    rma = await registry.run("create_return_authorization", as_(services, BOB), args)
    assert rma.status == "approved" and rma.return_method == "freight_collection"
    assert rma.needs_label is False and "freight collection" in rma.message
    assert "label now" not in rma.message
    # No card offers a label: the preview refuses in the method's own words.
    spec = registry.get("generate_label")
    _, problem = await registry.preview(spec, as_(services, BOB), {"rma_id": rma.rma_id})
    assert problem is not None and problem.code == "no_parcel_label"
    err = await fails(registry, as_(services, BOB), "generate_label", {"rma_id": rma.rma_id})
    assert err.code == "no_parcel_label" and "freight collection from your door" in err.message
    assert list((services.data_dir / "labels").glob("*.pdf")) == []
    sent = _deliveries(services, "return.collection_requested")
    assert len(sent) == 1 and sent[0]["id"] == rma.rma_id
    assert sent[0]["collection"] == {
        "method": "freight_collection",
        "items": [{"sku": "CHAIR-01", "name": "Ash Chair", "quantity": 1}],
    }
    item = _only(await _status(registry, services, BOB))
    assert item.return_method == "freight_collection" and item.label_offer is False
    assert "pick-up from your door" in item.message


async def test_freight_collection_after_a_staff_approval_is_requested_then(
    services, registry
) -> None:
    _subscribe(services)
    args = {"order_id": "WK-1003", "lines": [{"sku": "SOFA-01"}], "reason": "changed_mind"}
    rma = await registry.run("create_return_authorization", as_(services, BOB), args)
    assert rma.status == "manual_review"  # over the $500 review limit
    assert _deliveries(services, "return.collection_requested") == []
    services.workflow.transition(rma.rma_id, "approved", note="Approved by Sam")
    assert [d["id"] for d in _deliveries(services, "return.collection_requested")] == [rma.rma_id]


async def test_keep_it_needs_nothing_sent_back_and_refunds_without_a_parcel(
    services, registry
) -> None:
    _subscribe(services)
    rma = await _return(registry, services, lines=[{"sku": "MUG-ENG"}], reason="seller_error")
    assert rma.return_method == "keep_it" and "keep or recycle" in rma.message
    err = await fails(registry, as_(services), "generate_label", {"rma_id": rma.rma_id})
    assert err.code == "no_parcel_label" and "nothing back" not in err.message
    assert "don't need to send anything back" in err.message
    assert _deliveries(services, "return.collection_requested") == []
    services.workflow.transition(rma.rma_id, "refunded")
    item = _only(await _status(registry, services))
    assert item.status == "refunded" and "$38.00 went back" in item.message


async def test_store_collection_is_arranged_at_the_stores_cost(services, registry) -> None:
    _subscribe(services)
    order = {
        "orders": [
            {
                **ORDERS["orders"][0],
                "id": "WK-1009",
                "items": [
                    {
                        "sku": "ART-ORIG",
                        "name": "Original Seascape",
                        "category": "original-art",
                        "quantity": 1,
                        "unit_price": "420.00",
                        "tags": [],
                    }
                ],
                "shipments": [],
            }
        ]
    }
    services.store.import_data(order)
    args = {"order_id": "WK-1009", "lines": [{"sku": "ART-ORIG"}], "reason": "damaged"}
    rma = await registry.run("create_return_authorization", as_(services), args)
    assert rma.status == "manual_review" and rma.return_method == "store_collection"
    services.workflow.transition(rma.rma_id, "approved")
    item = _only(await _status(registry, services, rma_id=rma.rma_id))
    assert "We will arrange the return at our cost" in item.message and not item.label_offer
    err = await fails(registry, as_(services), "generate_label", {"rma_id": rma.rma_id})
    assert err.code == "no_parcel_label" and "at our cost" in err.message
    sent = _deliveries(services, "return.collection_requested")
    assert [d["collection"]["method"] for d in sent] == ["store_collection"]
