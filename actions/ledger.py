"""Payment interface for refunds, and the built-in ledger that records them in the refunds table.

A gateway must be idempotent on `RefundRequest.idempotency_key`: the workflow may call it again after a
crash or a retried request, and the second call must return the first refund, not pay twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from actions.store.models import RefundRow
from actions.store.orders import OrderStore
from actions.store.rma import RefundInfo, refund_info


@dataclass(frozen=True)
class RefundRequest:
    rma_id: str
    amount: Decimal
    currency: str
    method: str  # refund | store_credit | replacement (a zero-amount entry closing the return)
    idempotency_key: str


@dataclass(frozen=True)
class RefundRecord(RefundInfo):
    """A refund as the gateway reports it: the return's own view of it, plus the RMA it pays."""

    rma_id: str


class PaymentGateway(Protocol):
    name: str

    def refund(self, request: RefundRequest) -> RefundRecord: ...


def _record(row: RefundRow) -> RefundRecord:
    return RefundRecord(rma_id=row.rma_id, **vars(refund_info(row)))


class LedgerGateway:
    """Records refunds in the store's own `refunds` table (insert-or-get on the idempotency key)."""

    name = "ledger"

    def __init__(self, store: OrderStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def _existing(self, key: str, rma_id: str) -> RefundRecord | None:
        with self.store.reading() as s:
            row = s.scalar(
                sa.select(RefundRow).where(
                    sa.or_(RefundRow.idempotency_key == key, RefundRow.rma_id == rma_id)
                )
            )
            return _record(row) if row else None

    def refund(self, request: RefundRequest) -> RefundRecord:
        found = self._existing(request.idempotency_key, request.rma_id)
        if found:
            return found
        row = RefundRow(
            rma_id=request.rma_id,
            idempotency_key=request.idempotency_key,
            amount=request.amount,
            currency=request.currency,
            method=request.method,
            gateway=self.name,
            reference=f"LEDGER-{secrets.token_hex(6).upper()}",
            created_at=self.clock(),
        )
        try:
            with self.store.writing() as s:
                s.add(row)
            return _record(row)
        except IntegrityError:
            # A concurrent call won the unique key: hand back its refund.
            found = self._existing(request.idempotency_key, request.rma_id)
            if found is None:
                raise
            return found

    def refunds(self, rma_id: str | None = None) -> list[RefundRecord]:
        query = sa.select(RefundRow).order_by(RefundRow.id)
        if rma_id:
            query = query.where(RefundRow.rma_id == rma_id)
        with self.store.reading() as s:
            return [_record(row) for row in s.scalars(query)]
