"""SQLAlchemy 2 models for order records, returns, labels, refunds and webhooks.

The Alembic migration in actions/migrations/versions mirrors these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from actions.store.types import Money, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)  # lower-case
    name: Mapped[str] = mapped_column(sa.String(200))


class OrderRow(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # Upper-case alphanumerics of the id ("WK1001") and its trailing digits ("1001"): tolerant lookup.
    lookup_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    number: Mapped[str] = mapped_column(sa.String(64), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(20))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    # The imported shipping address (name, line1, line2, city, region, postal_code, country), or
    # NULL: optional in the import format, and only ever read whole.
    shipping_address: Mapped[dict[str, str] | None] = mapped_column(sa.JSON, nullable=True)
    content_hash: Mapped[str] = mapped_column(
        sa.String(64)
    )  # of the imported record: skip unchanged
    # Bumped on every change to the order or its shipments: readers cache records per revision.
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)

    customer: Mapped[CustomerRow] = relationship(lazy="joined")
    items: Mapped[list[OrderLineRow]] = relationship(
        order_by="OrderLineRow.position", cascade="all, delete-orphan"
    )
    shipments: Mapped[list[ShipmentRow]] = relationship(order_by="ShipmentRow.id")


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (sa.UniqueConstraint("order_id", "sku", name="uq_order_lines_order_sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    sku: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(300))
    category: Mapped[str] = mapped_column(sa.String(100))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money())
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)


class ShipmentRow(Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str] = mapped_column(sa.String(100))
    tracking_number: Mapped[str] = mapped_column(sa.String(100), unique=True)
    direction: Mapped[str] = mapped_column(sa.String(10), default="outbound")  # outbound | return
    rma_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("return_authorizations.id"), nullable=True, index=True
    )
    events: Mapped[list[TrackingEventRow]] = relationship(
        order_by="(TrackingEventRow.at, TrackingEventRow.id)", cascade="all, delete-orphan"
    )


class TrackingEventRow(Base):
    __tablename__ = "tracking_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(100))
    location: Mapped[str] = mapped_column(sa.String(200), default="")


class ReturnAuthorizationRow(Base):
    __tablename__ = "return_authorizations"
    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # RMA-XXXXXX
    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    customer_email: Mapped[str] = mapped_column(sa.String(320), index=True)
    status: Mapped[str] = mapped_column(sa.String(30), index=True)
    reason: Mapped[str] = mapped_column(sa.String(40))
    resolution: Mapped[str] = mapped_column(sa.String(20))
    review: Mapped[str] = mapped_column(sa.String(10))  # auto | manual
    refund_total: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(sa.String(3))
    # Hash of order+lines+reason+resolution+customer while the RMA is live; NULL once rejected or
    # cancelled. The unique constraint makes "two identical requests → one RMA" hold under races.
    request_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    received_condition: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    lines: Mapped[list[ReturnLineRow]] = relationship(
        order_by="ReturnLineRow.id", cascade="all, delete-orphan"
    )
    label: Mapped[LabelRow | None] = relationship(uselist=False)
    refund: Mapped[RefundRow | None] = relationship(uselist=False)


class ReturnLineRow(Base):
    __tablename__ = "return_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[str] = mapped_column(
        sa.ForeignKey("return_authorizations.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(sa.String(100))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    refund_amount: Mapped[Decimal] = mapped_column(Money())
    restocking_fee: Mapped[Decimal] = mapped_column(Money())
    return_shipping_fee: Mapped[Decimal] = mapped_column(Money())
    return_shipping_required: Mapped[bool] = mapped_column(sa.Boolean)
    review: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)


class ReturnHistoryRow(Base):
    __tablename__ = "return_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[str] = mapped_column(
        sa.ForeignKey("return_authorizations.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(sa.String(30), nullable=True)
    to_status: Mapped[str] = mapped_column(sa.String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class LabelRow(Base):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    rma_id: Mapped[str] = mapped_column(sa.ForeignKey("return_authorizations.id"), unique=True)
    tracking_number: Mapped[str] = mapped_column(sa.String(100), unique=True)
    carrier: Mapped[str] = mapped_column(sa.String(100))
    file_name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RefundRow(Base):
    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    # One refund per RMA, whatever the retries: the unique key is the RMA id.
    rma_id: Mapped[str] = mapped_column(sa.ForeignKey("return_authorizations.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(sa.String(3))
    method: Mapped[str] = mapped_column(sa.String(20))  # refund | store_credit | replacement
    gateway: Mapped[str] = mapped_column(sa.String(50))
    reference: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list[str]] = mapped_column(sa.JSON)
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # After a rotation the old secret also signs (a second `webhook-signature` value) until it
    # expires, so a receiver can deploy the new secret without dropping deliveries.
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True
    )
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookDeliveryRow(Base):
    """The outbox: a delivery is written in the same transaction as the change it announces."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id"), index=True
    )
    event: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)  # the exact bytes signed and sent, every attempt
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Attempts staff asked for (redeliver) do not use up the retry schedule; `attempts` counts both.
    manual_attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    redeliver_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookAttemptRow(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    manual: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


class LeadRow(Base):
    """A shopper who asked to hear from the store (actions/builtin/leads.py), with the consent
    they gave: when, in which words, through which door. One row per (email, interest)."""

    __tablename__ = "leads"
    __table_args__ = (sa.UniqueConstraint("email", "interest_key", name="uq_leads_email_interest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320))  # lower-case
    interest: Mapped[str] = mapped_column(sa.String(200))  # as the shopper wrote it (tidied)
    interest_key: Mapped[str] = mapped_column(sa.String(200))  # lower-case: "Mugs" == "mugs"
    consent: Mapped[bool] = mapped_column(sa.Boolean)  # always true: no consent, no row
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    consent_text: Mapped[str] = mapped_column(sa.Text)  # the exact words the shopper agreed to
    source: Mapped[str] = mapped_column(sa.String(20))  # chat | widget_form
    # The conversation store may live in another database: a plain id, not a foreign key.
    conversation_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EmailMessageRow(Base):
    """The email outbox (actions/email): a message is written in the same transaction as the
    change it tells someone about; the sender renders it once (`raw`) and sends those bytes."""

    __tablename__ = "email_messages"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    context: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # fixed at commit
    raw: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # the message, once rendered
    # The return it is about (a bounce shows on it); a conversation is a plain id (another store).
    rma_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("return_authorizations.id"), nullable=True, index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # see events.STATUS_WORDS
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    bounce_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # in words
    file_name: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)  # .eml transport
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class FileRow(Base):
    """A stored file (actions/files.py, SHOPDESK_FILES_STORE=database; migration 0005)."""

    __tablename__ = "stored_files"
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class EvidenceRow(Base):
    """A shopper's photo (actions/evidence): only the re-encoded image and its thumbnail are on
    disk, under random names; the row says whose conversation sent it and which return it backs."""

    __tablename__ = "evidence"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # random, unguessable
    # NULL until a return is authorized with it; at most a few unattached per conversation.
    rma_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("return_authorizations.id"), nullable=True, index=True
    )
    conversation_id: Mapped[str] = mapped_column(sa.String(128), index=True)  # another store
    file_name: Mapped[str] = mapped_column(sa.String(80))
    thumb_name: Mapped[str] = mapped_column(sa.String(80))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    source_kind: Mapped[str] = mapped_column(sa.String(10))  # jpeg | png | webp | heic, as sent
    size: Mapped[int] = mapped_column(sa.Integer)
    thumb_size: Mapped[int] = mapped_column(sa.Integer)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
