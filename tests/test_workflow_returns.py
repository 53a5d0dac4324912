"""ReturnsWorkflow: the status machine, history, idempotency under races, refunds exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from actions.policy import evaluate_line
from actions.records import Order
from actions.services import ActionServices, build_services
from actions.store.models import RefundRow, ReturnAuthorizationRow, WebhookDeliveryRow
from actions.workflow import TRANSITIONS, WorkflowError

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[ActionServices]:
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test", clock=lambda: NOW,
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    yield svc
    svc.close()


def _lines(svc: ActionServices, order: Order, wanted: dict[str, int], reason: str) -> list:
    taken = svc.store.authorized_quantities(order.id)
    return [
        evaluate_line(order, order.line(sku), qty, reason, svc.policy, NOW, taken.get(sku, 0))  # type: ignore[arg-type]
        for sku, qty in wanted.items()
    ]


def _create(svc: ActionServices, order_id: str, wanted: dict[str, int], reason: str = "changed_mind",
            resolution: str = "refund"):  # fmt: skip
    order = svc.store.find_order(order_id)
    assert order is not None
    lines = _lines(svc, order, wanted, reason)
    return svc.workflow.create_authorization(
        order, lines, reason, resolution, "k", order.customer.email
    )


def test_new_authorization_passes_eligibility_check_and_records_history(
    services: ActionServices,
) -> None:
    rma = _create(services, "WK-1006", {"FUR-OAK-SIDE": 1})
    assert rma.id.startswith("RMA-") and len(rma.id) == 10
    assert rma.status == "approved" and rma.review == "auto"
    assert rma.refund_total == Decimal("289.00")
    assert rma.lines[0].restocking_fee == Decimal("51.00")
    assert [(h.from_status, h.to_status) for h in rma.history] == [
        (None, "return_requested"),
        ("return_requested", "eligibility_check"),
        ("eligibility_check", "approved"),
    ]
    assert services.store.authorized_quantities("WK-1006") == {"FUR-OAK-SIDE": 1}


def test_refund_over_the_threshold_waits_in_manual_review(services: ActionServices) -> None:
    rma = _create(services, "WK-1007", {"FUR-WAL-BENCH": 1})
    assert rma.status == "manual_review" and rma.review == "manual"
    approved = services.workflow.transition(rma.id, "approved", note="checked photos")
    assert approved.status == "approved" and approved.note == "checked photos"


def test_the_same_request_twice_yields_the_same_authorization(services: ActionServices) -> None:
    first = _create(services, "WK-1001", {"CER-MUG-SAGE": 1})
    order = services.store.find_order("WK-1001")
    assert order is not None
    again = services.workflow.find_request("WK-1001", {"CER-MUG-SAGE": 1}, "changed_mind", "refund",
                                           "MAYA.CHEN@example.com")  # fmt: skip
    assert again is not None and again.id == first.id
    # The workflow itself also returns the first RMA for an identical (pre-evaluated) request.
    lines = [
        evaluate_line(order, order.line("CER-MUG-SAGE"), 1, "changed_mind", services.policy, NOW)
    ]  # type: ignore[arg-type]
    assert (
        services.workflow.create_authorization(
            order, lines, "changed_mind", "refund", "k2", None
        ).id
        == first.id
    )
    assert len(services.workflow.list()) == 1


def test_two_simultaneous_requests_create_one_authorization(services: ActionServices) -> None:
    order = services.store.find_order("WK-1012")
    assert order is not None
    lines = _lines(services, order, {"CER-PLNT-SM": 2}, "changed_mind")
    barrier = threading.Barrier(6)
    ids: list[str] = []
    errors: list[BaseException] = []

    def request() -> None:
        try:
            barrier.wait()
            rma = services.workflow.create_authorization(
                order, lines, "changed_mind", "refund", "k", None
            )
            ids.append(rma.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == 6
    with services.store.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ReturnAuthorizationRow)) == 1
    assert services.store.authorized_quantities("WK-1012") == {"CER-PLNT-SM": 2}


def test_different_requests_cannot_together_exceed_the_ordered_quantity(
    services: ActionServices,
) -> None:
    _create(services, "WK-1012", {"CER-PLNT-SM": 2})
    order = services.store.find_order("WK-1012")
    assert order is not None
    # Evaluated as if nothing were authorized (a stale check): the workflow re-checks under lock.
    stale = [evaluate_line(order, order.line("CER-PLNT-SM"), 2, "wrong_size", services.policy, NOW)]  # type: ignore[arg-type]
    with pytest.raises(WorkflowError) as caught:
        services.workflow.create_authorization(order, stale, "wrong_size", "refund", "k", None)
    assert caught.value.code == "quantity_exceeds" and caught.value.status == 409
    # The remaining one can still be returned (the order already partly returned).
    rest = _create(services, "WK-1012", {"CER-PLNT-SM": 1}, reason="wrong_size")
    assert rest.status == "approved"


def test_ineligible_lines_are_refused(services: ActionServices) -> None:
    order = services.store.find_order("WK-1002")
    assert order is not None
    lines = _lines(services, order, {"CER-MUG-ENGR": 1}, "changed_mind")
    with pytest.raises(WorkflowError) as caught:
        services.workflow.create_authorization(order, lines, "changed_mind", "refund", "k", None)
    assert caught.value.code == "not_eligible" and caught.value.status == 422
    assert services.workflow.list() == []


def test_illegal_transition_is_refused_with_a_clear_message(services: ActionServices) -> None:
    rma = _create(services, "WK-1001", {"CER-MUG-SAGE": 1})
    with pytest.raises(WorkflowError) as caught:
        services.workflow.transition(rma.id, "refunded")
    assert caught.value.status == 409 and caught.value.code == "illegal_transition"
    assert "must be received before it is refunded" in caught.value.message
    with pytest.raises(WorkflowError) as caught:
        services.workflow.transition(rma.id, "eligibility_check")
    assert f"{rma.id} is approved; it cannot move to eligibility_check" in caught.value.message
    with pytest.raises(WorkflowError) as caught:
        services.workflow.transition(rma.id, "teleported")
    assert caught.value.status == 422
    with pytest.raises(WorkflowError) as caught:
        services.workflow.transition("RMA-NOPE00", "cancelled")
    assert caught.value.status == 404
    assert services.workflow.get(rma.id).status == "approved"  # type: ignore[union-attr]


def test_final_states_allow_nothing_and_every_state_is_reachable() -> None:
    assert all(not TRANSITIONS[s] for s in ("refunded", "rejected", "cancelled"))
    reachable = {"return_requested"} | {t for targets in TRANSITIONS.values() for t in targets}
    assert reachable == set(TRANSITIONS)


def test_full_path_refunds_exactly_once(services: ActionServices) -> None:
    rma = _create(services, "WK-1006", {"FUR-OAK-SIDE": 1})
    order = services.store.find_order("WK-1006")
    label = services.carrier.create_label(rma, order)  # type: ignore[arg-type]
    assert services.workflow.attach_label(rma.id, label).status == "label_sent"
    services.workflow.transition(rma.id, "item_received", received_condition="as new")
    done = services.workflow.transition(rma.id, "refunded")
    assert done.status == "refunded" and done.refund is not None
    assert done.refund.amount == Decimal("289.00") and done.received_condition == "as new"
    with pytest.raises(WorkflowError):
        services.workflow.transition(rma.id, "refunded")
    with services.store.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RefundRow)) == 1


def test_concurrent_refunds_pay_once(services: ActionServices) -> None:
    rma = _create(services, "WK-1001", {"CER-PLT-SAGE": 2})
    services.workflow.transition(rma.id, "item_received")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def refund() -> None:
        barrier.wait()
        try:
            outcomes.append(services.workflow.transition(rma.id, "refunded").status)
        except WorkflowError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=refund) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["illegal_transition"] * 3 + ["refunded"]
    assert len(services.ledger.refunds(rma.id)) == 1  # type: ignore[attr-defined]
    assert services.ledger.refunds(rma.id)[0].amount == Decimal("44.00")  # type: ignore[attr-defined]


def test_keep_it_returns_go_from_approved_to_refunded_without_a_label(
    services: ActionServices,
) -> None:
    rma = _create(services, "WK-1018", {"FUR-CUSH-CUSTOM": 1}, reason="wrong_item")
    assert rma.status == "approved" and not rma.return_shipping_required
    order = services.store.find_order("WK-1018")
    label = services.carrier.create_label(rma, order)  # type: ignore[arg-type]
    with pytest.raises(WorkflowError) as caught:
        services.workflow.attach_label(rma.id, label)
    assert caught.value.code == "no_label_needed"
    assert services.workflow.transition(rma.id, "refunded").refund.amount == Decimal("120.00")  # type: ignore[union-attr]


def test_cancelling_frees_the_quantity_and_the_request(services: ActionServices) -> None:
    rma = _create(services, "WK-1001", {"CER-MUG-SAGE": 2})
    services.workflow.transition(rma.id, "cancelled", note="shopper changed their mind")
    assert services.store.authorized_quantities("WK-1001") == {}
    again = _create(services, "WK-1001", {"CER-MUG-SAGE": 2})
    assert again.id != rma.id and again.status == "approved"
    with pytest.raises(WorkflowError):
        services.workflow.transition(rma.id, "approved")


def test_rejection_after_inspection(services: ActionServices) -> None:
    rma = _create(services, "WK-1021", {"CER-PTCH-BLUE": 1}, reason="not_as_described")
    assert rma.status == "manual_review"
    services.workflow.transition(rma.id, "approved")
    services.workflow.transition(
        rma.id, "item_received", received_condition="used, chipped by shopper"
    )
    rejected = services.workflow.transition(rma.id, "rejected", note="damage not in transit")
    assert rejected.status == "rejected" and rejected.refund is None
    assert [h.to_status for h in rejected.history][-3:] == ["approved", "item_received", "rejected"]


def test_lists_by_status_and_customer(services: ActionServices) -> None:
    a = _create(services, "WK-1001", {"CER-MUG-SAGE": 1})
    b = _create(services, "WK-1022", {"CER-DIN-SET12": 1})
    assert [r.id for r in services.workflow.list("approved")] == [a.id]
    assert [r.id for r in services.workflow.list("manual_review")] == [b.id]
    assert [r.id for r in services.workflow.for_customer("Maya.Chen@example.com")] == [a.id]
    assert services.workflow.get(a.id.lower()).id == a.id  # type: ignore[union-attr]


def test_every_change_queues_a_webhook_in_the_same_transaction(services: ActionServices) -> None:
    sub = services.webhooks.subscribe(
        "http://127.0.0.1:9/hook", ["return.created", "return.updated"]
    )
    rma = _create(services, "WK-1001", {"CER-MUG-SAGE": 1})
    services.workflow.transition(rma.id, "cancelled")
    rows = services.webhooks.deliveries(sub["id"])
    assert [r["event"] for r in rows] == ["return.created", "return.updated"]
    with services.store.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebhookDeliveryRow)) == 2


def test_cached_eligibility_inputs_follow_new_and_cancelled_returns(
    services: ActionServices,
) -> None:
    store = services.store
    email = "noah.fischer@example.com"
    assert store.order_and_authorized("WK-1012", email)[1] == {}  # type: ignore[index]
    assert store.order_and_authorized("WK-1012", email)[1] == {}  # type: ignore[index]  (cached)
    rma = _create(services, "WK-1012", {"CER-PLNT-SM": 2})
    assert store.order_and_authorized("WK-1012", email)[1] == {"CER-PLNT-SM": 2}  # type: ignore[index]
    other = type(store)(store.url)  # another process sees it too
    assert other.order_and_authorized("1012", email)[1] == {"CER-PLNT-SM": 2}  # type: ignore[index]
    services.workflow.transition(rma.id, "cancelled")
    assert store.order_and_authorized("WK-1012", email)[1] == {}  # type: ignore[index]
    assert other.order_and_authorized("WK-1012", email)[1] == {}  # type: ignore[index]
    other.close()
