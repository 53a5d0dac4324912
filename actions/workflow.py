"""The returns workflow: a status machine over return authorizations, with history and webhooks.

    return_requested → eligibility_check → approved | manual_review → label_sent → item_received → refunded
                                               manual_review → approved

- cancelled: from any state before the item is received (return_requested, eligibility_check,
  manual_review, approved, label_sent) — the shopper or staff calls it off; nothing has arrived.
- rejected: from eligibility_check, manual_review (staff decline) and item_received (the item failed
  inspection). Not from approved/label_sent: a promise made to the shopper is cancelled, not rejected.
- approved → item_received: the shopper dropped the parcel off without our label.
- approved → refunded: only when no line needs return shipping (final-sale fault returns: keep it).
Every change is a history row and a `return.updated` webhook, written in the same transaction; a
return approved to be collected (freight or store collection, per the policy file) also queues a
`return.collection_requested` webhook there. Observers (`observe`) hear of each change after it
commits: that is how the shopper's open widgets are told (agent/chat/notices.py).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actions.ledger import PaymentGateway, RefundRecord, RefundRequest
from actions.records import Order, OrderLine
from actions.return_methods import COLLECTED, ReturnMethod, return_method_of
from actions.return_status import STATUSES, TRANSITIONS, ReturnStatus
from actions.store import returns as rows
from actions.store.models import OrderLineRow, OrderRow, ReturnAuthorizationRow
from actions.store.orders import OrderStore
from actions.store.rma import ReturnAuthorization

if TYPE_CHECKING:
    from actions.carrier import Label
    from actions.email import EmailOutbox
    from actions.policy import LineResult, Policy
    from actions.webhooks import WebhookService

log = logging.getLogger("shopdesk.workflow")
# Told (after commit) of every status change: the return as it is now, and its status before.
Observer = Callable[[ReturnAuthorization, str], None]
RESOLUTIONS = ("refund", "replacement", "store_credit")
EDITABLE_FIELDS = ("received_condition", "note")


class WorkflowError(Exception):
    """A refused workflow step. `status` is the HTTP status the API answers with."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def request_key(
    order_id: str, lines: dict[str, int], reason: str, resolution: str, email: str
) -> str:
    """Identity of a return request: the same order, lines, reason, resolution and shopper."""
    canon = [order_id, sorted((k.lower(), v) for k, v in lines.items()), reason, resolution, email]
    return hashlib.sha256(json.dumps(canon).encode()).hexdigest()


class ReturnsWorkflow:
    def __init__(
        self,
        store: OrderStore,
        *,
        clock: Callable[[], datetime],
        payments: PaymentGateway | None = None,
        webhooks: WebhookService | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.payments = payments
        self.webhooks = webhooks
        self.policy = policy  # for return methods: which approved returns are collected
        self._observers: list[Observer] = []

    # Reads ------------------------------------------------------------------------------
    def get(self, rma_id: str) -> ReturnAuthorization | None:
        with self.store.reading() as s:
            row = s.scalar(rows.by_id(rma_id))
            return rows.record(s, row) if row else None

    def list(
        self, status: str | None = None, order_id: str | None = None
    ) -> builtins.list[ReturnAuthorization]:
        query = rows.rma_query().order_by(
            ReturnAuthorizationRow.created_at.desc(), ReturnAuthorizationRow.id
        )
        if status:
            query = query.where(ReturnAuthorizationRow.status == status)
        if order_id:
            query = query.where(ReturnAuthorizationRow.order_id == order_id)
        with self.store.reading() as s:
            return [rows.record(s, row) for row in s.scalars(query).all()]

    def for_customer(self, email: str) -> builtins.list[ReturnAuthorization]:
        query = (
            rows.rma_query()
            .where(ReturnAuthorizationRow.customer_email == email.strip().lower())
            .order_by(ReturnAuthorizationRow.created_at.desc(), ReturnAuthorizationRow.id)
        )
        with self.store.reading() as s:
            return [rows.record(s, row) for row in s.scalars(query).all()]

    def find_request(
        self, order_id: str, lines: dict[str, int], reason: str, resolution: str, email: str
    ) -> ReturnAuthorization | None:
        """The live RMA for exactly this request, if one exists (check before re-evaluating)."""
        key = request_key(order_id, lines, str(reason), str(resolution), email.strip().lower())
        with self.store.reading() as s:
            row = s.scalar(rows.rma_query().where(ReturnAuthorizationRow.request_key == key))
            return rows.record(s, row) if row else None

    # Creation ---------------------------------------------------------------------------
    def create_authorization(
        self,
        order: Order,
        lines: Sequence[LineResult],
        reason: str,
        resolution: str,
        idempotency_key: str | None = None,
        customer_email: str | None = None,
    ) -> ReturnAuthorization:
        return self.create(order, lines, reason, resolution, idempotency_key, customer_email)[0]

    def create(
        self,
        order: Order,
        lines: Sequence[LineResult],
        reason: str,
        resolution: str,
        idempotency_key: str | None = None,
        customer_email: str | None = None,
    ) -> tuple[ReturnAuthorization, bool]:
        """(rma, created): insert-or-get on the request key, so racing duplicates yield one RMA."""
        reason = str(reason)  # a ReturnReason is a StrEnum: its str is its value
        resolution = str(getattr(resolution, "value", resolution))
        wanted = _validate_request(order, lines, resolution)
        email = (customer_email or order.customer.email).strip().lower()
        key = request_key(order.id, wanted, reason, resolution, email)
        for _attempt in range(5):
            try:
                with self.store.writing() as s:
                    # Lock the order: concurrent requests for it queue here (PostgreSQL); SQLite
                    # already serialises writers with BEGIN IMMEDIATE.
                    s.execute(
                        sa.select(OrderRow.id).where(OrderRow.id == order.id).with_for_update()
                    )
                    found = s.scalar(
                        rows.rma_query().where(ReturnAuthorizationRow.request_key == key)
                    )
                    if found is not None:
                        return rows.record(s, found), False
                    left = rows.remaining(s, order.id)
                    for sku, qty in wanted.items():
                        if qty > left.get(sku, 0):
                            raise WorkflowError("quantity_exceeds",
                                f"Only {max(left.get(sku, 0), 0)} of {sku} can still be returned.")  # fmt: skip
                    row = rows.insert(s, order=order, lines=lines, reason=reason, resolution=resolution,
                                      key=key, idempotency_key=idempotency_key, email=email, now=self.clock())  # fmt: skip
                    record = rows.record(s, row)
                    self._announce(s, "return.created", record)
                    self._collect(s, record)
                self._wake()
                return record, True
            except IntegrityError:
                continue  # the twin request committed first (or an id collided): look again
        raise WorkflowError("conflict", "Could not create the return authorization; try again.")

    # Transitions ------------------------------------------------------------------------
    @staticmethod
    def _locked(s: Session, rma_id: str) -> ReturnAuthorizationRow:
        row = s.scalar(rows.by_id(rma_id).with_for_update())
        if row is None:
            raise WorkflowError("not_found", f"No return authorization {rma_id}.", 404)
        return row

    def transition(self, rma_id: str, status: str, **fields: Any) -> ReturnAuthorization:
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise WorkflowError("invalid_field", f"Cannot set {', '.join(sorted(unknown))}.", 422)
        refund = self._pay(rma_id) if status == "refunded" else None
        with self.store.writing() as s:
            row = self._locked(s, rma_id)
            check_transition(row, status)
            detail = {k: v for k, v in fields.items() if v is not None}
            if refund is not None:
                detail["refund_reference"] = refund.reference
            if status == "item_received":
                rows.track_return(s, row, "received", "Returns warehouse", self.clock())
            before = row.status
            rows.move(s, row, status, self.clock(), detail, fields)
            record = rows.record(s, row)
            self._announce(s, "return.updated", record)
            self._collect(s, record)
        self._wake()
        self._changed(record, before)
        return record

    def _pay(self, rma_id: str) -> RefundRecord:
        """Refund through the gateway before the status moves; the gateway's key makes it once-only
        (a crash between the two leaves a refund the retried request finds, not a second one)."""
        if self.payments is None:
            raise WorkflowError("no_gateway", "No payment gateway is configured.")
        with self.store.reading() as s:
            row = s.scalar(rows.by_id(rma_id))
            if row is None:
                raise WorkflowError("not_found", f"No return authorization {rma_id}.", 404)
            check_transition(row, ReturnStatus.REFUNDED)
            amount = row.refund_total if row.resolution != "replacement" else Decimal("0.00")
            request = RefundRequest(
                row.id, amount, row.currency, row.resolution, f"{row.id}:refund"
            )
        return self.payments.refund(request)

    def attach_label(self, rma_id: str, label: Label) -> ReturnAuthorization:
        """Record the label and move approved → label_sent; a second label for the RMA is ignored."""
        with self.store.writing() as s:
            row = self._locked(s, rma_id)
            if row.label is not None:
                return rows.record(s, row)
            if not any(ln.return_shipping_required for ln in row.lines):
                raise WorkflowError("no_label_needed", f"{row.id} needs no return shipping.")
            check_transition(row, ReturnStatus.LABEL_SENT)
            now = self.clock()
            rows.add_label(s, row, label, now)
            rows.move(s, row, "label_sent", now, {"tracking_number": label.tracking_number}, {})
            record = rows.record(s, row)
            self._announce(s, "return.updated", record)
        self._wake()
        return record

    # Observers --------------------------------------------------------------------------
    def observe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer` after each status change commits; returns the function that stops it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def _changed(self, record: ReturnAuthorization, before: str) -> None:
        for observer in list(self._observers):
            try:
                observer(record, before)
            except Exception:  # a listener's fault must not undo or fail the committed change
                log.exception("return observer failed for %s", record.id)

    # Collections --------------------------------------------------------------------------
    def _collect(self, s: Session, record: ReturnAuthorization) -> None:
        """An approved return the store collects: the team is asked to arrange it (webhook)."""
        method = self.method_in(s, record) if record.status == ReturnStatus.APPROVED else None
        if method is None or method not in COLLECTED or self.webhooks is None:
            return
        names = dict(s.execute(sa.select(OrderLineRow.sku, OrderLineRow.name).where(OrderLineRow.order_id == record.order_id)).all())  # fmt: skip
        collection = {
            "method": method.value,
            "items": [{"sku": ln.sku, "name": names.get(ln.sku, ln.sku), "quantity": ln.quantity} for ln in record.lines],
        }  # fmt: skip
        self.webhooks.enqueue(s, "return.collection_requested", {**record.to_dict(), "collection": collection})  # fmt: skip
        if self.email is not None:  # the shopper and the fulfilment team, in this transaction
            self.email.enqueue_return_email(s, "collection_requested", record)

    def method_of(self, record: ReturnAuthorization) -> ReturnMethod | None:
        """How this return goes back under the policy (None without a policy)."""
        with self.store.reading() as s:
            return self.method_in(s, record)

    def method_in(self, s: Session, record: ReturnAuthorization) -> ReturnMethod | None:
        if self.policy is None:
            return None
        query = sa.select(OrderLineRow).where(OrderLineRow.order_id == record.order_id)
        items = {r.sku: OrderLine(r.sku, r.name, r.category, r.quantity, r.unit_price, tuple(r.tags or ())) for r in s.scalars(query)}  # fmt: skip
        return return_method_of(record, items.get, self.policy)

    # Webhooks ---------------------------------------------------------------------------
    # The email outbox (actions/email), set by build_services: each step's emails are queued in
    # the step's own transaction, beside its webhook.
    email: EmailOutbox | None = None

    def _announce(self, s: Session, event: str, record: ReturnAuthorization) -> None:
        if self.webhooks is not None:
            self.webhooks.enqueue(s, event, record.to_dict())
        if self.email is not None:
            self.email.on_return_event(s, event, record)

    def _wake(self) -> None:
        if self.webhooks is not None:
            self.webhooks.wake()
        if self.email is not None:
            self.email.wake()


def _validate_request(order: Order, lines: Sequence[LineResult], resolution: str) -> dict[str, int]:
    if resolution not in RESOLUTIONS:
        raise WorkflowError("invalid_resolution", f"Resolution must be one of {', '.join(RESOLUTIONS)}.", 422)  # fmt: skip
    if not lines:
        raise WorkflowError("no_lines", "A return needs at least one line.", 422)
    refused = [ln for ln in lines if not ln.eligible]
    if refused:
        raise WorkflowError("not_eligible", " ".join(ln.message for ln in refused), 422)
    wanted: dict[str, int] = {}
    for ln in lines:
        item = order.line(ln.sku)
        if item is None or item.sku in wanted:
            raise WorkflowError("invalid_lines", f"Line {ln.sku!r} is unknown or repeated.", 422)
        wanted[item.sku] = ln.quantity
    return wanted


def check_transition(row: ReturnAuthorizationRow, status: str) -> None:
    if status not in STATUSES:
        raise WorkflowError("invalid_status", f"Unknown status {status!r}; one of {', '.join(STATUSES)}.", 422)  # fmt: skip
    allowed = TRANSITIONS[ReturnStatus(row.status)]
    if status not in allowed:
        nxt = ", ".join(sorted(allowed)) or "nothing (final state)"
        raise WorkflowError("illegal_transition",
                            f"{row.id} is {row.status}; it cannot move to {status} (allowed: {nxt}).")  # fmt: skip
    shipping = any(ln.return_shipping_required for ln in row.lines)
    if status == "refunded" and row.status == "approved" and shipping:
        raise WorkflowError(
            "illegal_transition", f"{row.id} must be received before it is refunded."
        )
