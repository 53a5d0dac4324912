"""Two replicas over one PostgreSQL database both run their outbox senders: every webhook delivery
and every email arrives exactly once (rows are claimed with `FOR UPDATE SKIP LOCKED`)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path

from actions.clock import Clock
from actions.email.events import EmailEvent
from actions.services import ActionServices, build_services
from tests.email_helpers import NOW, Sink, email_services, start_smtp
from tests.webhook_receiver import Receiver
from tests.ws_helpers import eventually

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
COUNT = 200


def _replica(pg_url: str, data: Path, clock: Clock) -> ActionServices:
    return build_services(
        data_dir=data, database_url=pg_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test", clock=clock,
        webhook_options={"rng": random.Random(16), "timeout": 5.0},
    )  # fmt: skip


async def test_two_replicas_deliver_each_of_200_webhooks_exactly_once(
    pg_url: str, tmp_path: Path
) -> None:
    clock = Clock(NOW, frozen=True)
    receiver = Receiver(clock)
    a = _replica(pg_url, tmp_path / "a", clock)
    b = _replica(pg_url, tmp_path / "b", clock)
    try:
        a.webhooks.subscribe(receiver.url, ["return.created"])
        await asyncio.gather(a.webhooks.start(), b.webhooks.start())
        with a.store.writing() as s:
            for n in range(COUNT):
                a.webhooks.enqueue(s, "return.created", {"n": n})
        a.webhooks.wake()
        b.webhooks.wake()
        await eventually(lambda: len(receiver.requests) >= COUNT, "200 deliveries")
        await eventually(
            lambda: all(d["status"] == "delivered" for d in a.webhooks.deliveries()),
            "every delivery recorded as delivered",
        )
        seen = Counter(json.loads(r.body)["data"]["n"] for r in receiver.requests)
        assert sorted(seen) == list(range(COUNT))
        assert max(seen.values()) == 1, [n for n, c in seen.items() if c > 1]
        assert len(receiver.requests) == COUNT
    finally:
        await asyncio.gather(a.webhooks.stop(), b.webhooks.stop())
        receiver.close()
        a.close()
        b.close()


async def test_two_replicas_send_each_of_200_emails_exactly_once(
    pg_url: str, tmp_path: Path
) -> None:
    sink = Sink()
    controller = start_smtp(sink)
    smtp = f"smtp://127.0.0.1:{controller.port}"
    a = email_services(tmp_path / "a", pg_url, smtp_url=smtp)
    b = email_services(tmp_path / "b", pg_url, smtp_url=smtp)
    try:
        assert a.email is not None and b.email is not None
        await asyncio.gather(a.email.start(), b.email.start())
        with a.store.writing() as s:
            for n in range(COUNT):
                context = {
                    "text": f"Reply number {n}",
                    "staff_name": "Sam",
                    "conversation_id": f"c{n}",
                }
                a.email.enqueue(s, EmailEvent.AGENT_REPLY, f"shopper{n}@example.com", context)
        a.email.wake()
        b.email.wake()
        await eventually(lambda: len(sink.messages) >= COUNT, "200 emails", timeout=60)
        await eventually(
            lambda: all(m.status == "sent" for m in a.email.messages(limit=COUNT + 10)),  # type: ignore[union-attr]
            "every email recorded as sent",
        )
        seen = Counter(rcpt for _sender, rcpts in sink.envelopes for rcpt in rcpts)
        assert sorted(seen) == sorted(f"shopper{n}@example.com" for n in range(COUNT))
        assert max(seen.values()) == 1
    finally:
        await asyncio.gather(_stop(a), _stop(b))
        controller.stop()
        a.close()
        b.close()


async def _stop(svc: ActionServices) -> None:
    if svc.email is not None:
        await svc.email.stop()
