"""The email outbox: messages written in the caller's transaction, sent by a loop with retries.

A message is a row in `email_messages`, added in the same transaction as the change it tells
someone about (a return's status: `on_return_event`, called by the workflow), so a rolled-back
change sends nothing and a committed one is never forgotten. The sender renders a message once,
on its first attempt (the approval email's label is made then), keeps those bytes and sends them
on every retry. A temporary failure is retried after base_delay × 2^(attempt-1), capped at
max_delay, until max_attempts; a permanent refusal (SMTP 5xx) marks the message bounced, which
the console shows on the return. Due times come from the product's clock: tests move it and call
`deliver_due`, the app runs the loop (`start`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions.email.config import EmailConfig, address_ok
from actions.email.contexts import return_context
from actions.email.events import SECRET_KEYS, EmailEvent
from actions.email.messages import OutboxMessage, message_record, return_events
from actions.email.render import Attachment, build_message, render_subject
from actions.email.transport import Bounced, TemporaryFailure, Transport, Withdrawn
from actions.sender_loop import SenderLoop, seconds_to_next_due
from actions.store.models import EmailMessageRow
from actions.store.orders import OrderStore

if TYPE_CHECKING:
    from actions.email.labels import LabelFile
    from actions.store.rma import ReturnAuthorization

log = logging.getLogger("shopdesk.email")
E = EmailEvent
LEASE_SECONDS = 300.0  # a claimed message is retried after this if its sender died mid-send


class EmailOutbox:
    def __init__(
        self,
        store: OrderStore,
        config: EmailConfig,
        *,
        transport: Transport,
        clock: Callable[[], datetime],
        labels: Callable[[str], LabelFile | None] | None = None,
    ) -> None:
        self.store, self.config, self.transport = store, config, transport
        self.clock, self.labels = clock, labels
        # How a return goes back under the policy (the workflow's, set by build_services).
        self.method_of: Callable[[Session, ReturnAuthorization], str | None] | None = None
        self._sender = SenderLoop("email", self.deliver_due, self._seconds_to_next_due)

    # Enqueue (inside the caller's transaction) ------------------------------------------------
    def enqueue(
        self,
        s: Session,
        event: EmailEvent,
        to: str,
        context: dict[str, Any],
        *,
        rma_id: str | None = None,
        conversation_id: str | None = None,
    ) -> str | None:
        """Add one message to the outbox in `s`; None (and a log line) for an unusable address."""
        if not address_ok(to):
            log.warning("email %s not queued: %r is not an email address", event, to[:80])
            return None
        now = self.clock()
        context = {"store_name": self.config.store_name, **context}
        row = EmailMessageRow(
            id="eml_" + secrets.token_hex(10), event=event.value, recipient=to.strip(),
            subject=render_subject(event, context), context=context, status="pending",
            attempts=0, next_attempt_at=now, created_at=now, rma_id=rma_id,
            conversation_id=conversation_id,
        )  # fmt: skip
        s.add(row)
        return row.id

    def on_return_event(self, s: Session, webhook_event: str, record: ReturnAuthorization) -> None:
        """The workflow's hook: the emails of one return step, in the step's own transaction."""
        events = return_events(webhook_event, record)
        if events:
            self.enqueue_return_email(s, events[0], record, also=events[1:])
        if webhook_event == "return.created":
            self._to_team(s, E.FULFILMENT_NEW_RETURN, record)

    def enqueue_return_email(
        self,
        s: Session,
        event: EmailEvent | str,
        rma: ReturnAuthorization,
        *,
        also: Iterable[EmailEvent] = (),
        **extra: Any,
    ) -> list[str]:
        """Queue `event` (and `also`) to the return's shopper in `s`, with `extra` in the
        template context. `collection_requested` also tells the fulfilment team."""
        event = EmailEvent(event)
        method = self.method_of(s, rma) if self.method_of is not None else None
        context = (
            return_context(s, rma, self.config.store_name, self.config.public_url, method) | extra
        )
        ids = []
        for each in (event, *also):
            found = self.enqueue(s, each, rma.customer_email, context, rma_id=rma.id)
            ids += [found] if found else []
        if event == E.COLLECTION_REQUESTED:
            ids += self._to_team(s, E.FULFILMENT_COLLECTION, rma, **extra)
        return ids

    def _to_team(
        self, s: Session, event: EmailEvent, rma: ReturnAuthorization, **extra: Any
    ) -> list[str]:
        team = self.config.fulfilment_email
        if not team:
            return []
        method = self.method_of(s, rma) if self.method_of is not None else None
        context = (
            return_context(s, rma, self.config.store_name, self.config.public_url, method) | extra
        )
        found = self.enqueue(s, event, team, context, rma_id=rma.id)
        return [found] if found else []

    def enqueue_now(
        self,
        event: EmailEvent,
        to: str,
        context: dict[str, Any],
        *,
        conversation_id: str | None = None,
    ) -> str | None:
        """Queue a message that goes with no other change (a reply, a code), then wake the loop."""
        with self.store.writing() as s:
            found = self.enqueue(s, event, to, context, conversation_id=conversation_id)
        self.wake()
        return found

    # Reads ----------------------------------------------------------------------------------------
    def messages(self, limit: int = 200) -> list[OutboxMessage]:
        query = sa.select(EmailMessageRow).order_by(
            EmailMessageRow.created_at.desc(), EmailMessageRow.id.desc()
        )
        with self.store.reading() as s:
            return [message_record(row) for row in s.scalars(query.limit(min(max(limit, 1), 1000)))]

    def message(self, message_id: str) -> tuple[OutboxMessage, EmailMessage | None] | None:
        """A message and, once rendered (and not a secret), the exact email that was sent."""
        with self.store.reading() as s:
            row = s.get(EmailMessageRow, message_id[:40])
            if row is None:
                return None
            item, raw = message_record(row), row.raw
        if raw is None or item.secret:
            return item, None
        parsed = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # the default policy's message class
        return item, parsed

    def bounces(self, rma_ids: Iterable[str]) -> dict[str, str]:
        """The latest bounce (in words) for each of these returns that has one."""
        wanted = list(rma_ids)
        if not wanted:
            return {}
        query = (
            sa.select(EmailMessageRow.rma_id, EmailMessageRow.bounce_reason)
            .where(EmailMessageRow.rma_id.in_(wanted), EmailMessageRow.status == "bounced")
            .order_by(EmailMessageRow.created_at)
        )
        with self.store.reading() as s:
            return {rma: reason or "" for rma, reason in s.execute(query).all() if rma}

    # Sender ---------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Thread-safe nudge: something was queued, send now rather than at the next poll."""
        self._sender.wake()

    async def start(self) -> None:
        await self._sender.start()

    async def stop(self) -> None:
        await self._sender.stop()

    def _seconds_to_next_due(self) -> float:
        with self.store.reading() as s:
            return seconds_to_next_due(s, EmailMessageRow, self.config.poll_interval, self.clock())

    async def deliver_due(self) -> int:
        """Attempt every message that is due once; returns how many were attempted."""
        claimed = await asyncio.to_thread(self._claim_due)
        for message_id in claimed:
            await self._deliver(message_id)
        return len(claimed)

    def _claim_due(self, limit: int = 50) -> list[str]:
        """Lease due messages so that N senders send each one once: `FOR UPDATE SKIP LOCKED` on
        PostgreSQL (another replica takes the next rows instead of waiting), and the conditional
        update is the lease (the only guard on SQLite, which ignores the clause)."""
        now = self.clock()
        lease = now + timedelta(seconds=LEASE_SECONDS)
        claimed = []
        with self.store.writing() as s:
            rows = s.execute(
                sa.select(EmailMessageRow.id, EmailMessageRow.next_attempt_at)
                .where(EmailMessageRow.status == "pending", EmailMessageRow.next_attempt_at <= now)
                .order_by(EmailMessageRow.next_attempt_at).limit(limit)
                .with_for_update(skip_locked=True)
            ).all()  # fmt: skip
            for message_id, due in rows:
                result = s.execute(
                    sa.update(EmailMessageRow)
                    .where(EmailMessageRow.id == message_id, EmailMessageRow.next_attempt_at == due)
                    .values(next_attempt_at=lease)
                )
                assert isinstance(result, sa.CursorResult)  # what an UPDATE returns
                if result.rowcount:
                    claimed.append(message_id)
        return claimed

    async def _deliver(self, message_id: str) -> None:
        where: str | None = None
        try:
            message = await asyncio.to_thread(self._rendered, message_id)
            if message is None:
                return
            where = await self.transport.send(message, key=message_id)
        except Bounced as exc:
            await asyncio.to_thread(self._record, message_id, bounce=exc)
            return
        except Withdrawn as exc:
            await asyncio.to_thread(self._withdraw, message_id, str(exc))
            return
        except (TemporaryFailure, OSError) as exc:
            await asyncio.to_thread(self._record, message_id, error=str(exc)[:500])
            return
        except Exception as exc:  # a bug rendering this one message: count it, keep the rest going
            log.exception("email %s could not be prepared", message_id)
            await asyncio.to_thread(self._record, message_id, error=f"{type(exc).__name__}: {exc}"[:500])  # fmt: skip
            return
        await asyncio.to_thread(self._record, message_id, where=where)

    def _rendered(self, message_id: str) -> EmailMessage | None:
        """The message's email: rendered (and frozen) on the first attempt, the same bytes after."""
        with self.store.reading() as s:
            row = s.get(EmailMessageRow, message_id)
            if row is None or row.status != "pending":
                return None
            raw, event, context = row.raw, EmailEvent(row.event), dict(row.context)
            to, subject, rma_id = row.recipient, row.subject, row.rma_id
        if raw is not None:
            parsed = email.message_from_string(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            return parsed
        attachments: tuple[Attachment, ...] = ()
        if event == E.RETURN_APPROVED and rma_id and context.get("method") == "parcel_label":
            context, attachments = self._with_label(rma_id, context)
        message = build_message(
            outbox_id=message_id, event=event, mail_from=self.config.mail_from, to=to,
            subject=subject, context=context, now=self.clock(), attachments=attachments,
        )  # fmt: skip
        with self.store.writing() as s:
            row = s.get(EmailMessageRow, message_id)
            if row is not None:
                row.raw, row.context = message.as_string(), context
        return message

    def _with_label(
        self, rma_id: str, context: dict[str, Any]
    ) -> tuple[dict[str, Any], tuple[Attachment, ...]]:
        """Make (or find) the return's label: linked in the text, attached as a PDF."""
        if self.labels is None:
            return context, ()
        try:
            label = self.labels(rma_id)
        except Withdrawn:
            raise
        except Exception as exc:  # the carrier failed: try the whole email again later
            log.exception("label for %s could not be made", rma_id)
            raise TemporaryFailure(f"the return label could not be made: {exc}"[:300]) from None
        if label is None:
            return context, ()
        context = context | {"label_url": label.url, "tracking_number": label.tracking_number,
                             "has_label_file": label.pdf is not None}  # fmt: skip
        if label.pdf is None:
            return context, ()
        return context, (Attachment(f"return-label-{rma_id}.pdf", label.pdf),)

    def _record(
        self,
        message_id: str,
        *,
        where: str | None = None,
        bounce: Bounced | None = None,
        error: str | None = None,
    ) -> None:
        now = self.clock()
        with self.store.writing() as s:
            row = s.get(EmailMessageRow, message_id)
            if row is None:
                return
            row.attempts += 1
            if bounce is not None:
                row.status, row.last_error = "bounced", bounce.detail
                row.bounce_reason = f"{bounce.words} (the server said: {bounce.detail})"[:500]
                log.warning("email %s (%s) bounced: %s", row.id, row.event, bounce.detail)
            elif error is None:
                row.status, row.sent_at, row.file_name, row.last_error = "sent", now, where, None
                log.info("email %s (%s) sent (attempt %d)", row.id, row.event, row.attempts)
            else:
                self._retry_or_give_up(row, error, now)
            if row.status != "pending" and row.event == E.VERIFICATION_CODE:
                # A code is a secret: once it has left, the outbox keeps no copy of it.
                row.raw = None
                row.context = {k: ("" if k in SECRET_KEYS else v) for k, v in row.context.items()}

    def _withdraw(self, message_id: str, why: str) -> None:
        with self.store.writing() as s:
            row = s.get(EmailMessageRow, message_id)
            if row is not None:
                row.status, row.last_error = "withdrawn", why
        log.info("email %s withdrawn: %s", message_id, why)

    def _retry_or_give_up(self, row: EmailMessageRow, error: str, now: datetime) -> None:
        row.last_error = error
        if row.attempts >= self.config.max_attempts:
            row.status = "failed"
            log.warning(
                "email %s failed for good after %d attempts: %s", row.id, row.attempts, error
            )
            return
        delay = min(self.config.max_delay, self.config.base_delay * 2 ** (row.attempts - 1))
        row.next_attempt_at = now + timedelta(seconds=delay)
        log.warning("email %s attempt %d failed (%s); retry in %.0fs", row.id, row.attempts, error, delay)  # fmt: skip


__all__ = ["EmailOutbox", "OutboxMessage", "return_events"]
