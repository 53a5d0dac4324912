"""Webhooks against a real HTTP receiver on loopback: signatures, retries by the clock, restarts.

The clock is frozen; a test sends what is due (`deliver_due`) and moves the clock to the next due
time itself, so no test waits for a real timer.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actions.clock import Clock
from actions.policy import evaluate_line
from actions.services import ActionServices, build_services
from actions.webhooks import WebhookService, verify
from tests.webhook_receiver import Receiver

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW, frozen=True)


@pytest.fixture
def receiver(clock: Clock) -> Iterator[Receiver]:
    r = Receiver(clock, fail_first=1)
    yield r
    r.close()


def _services(database_url: str, tmp_path: Path, clock: Clock, **options: object) -> ActionServices:
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test", clock=clock,
        webhook_options={"rng": random.Random(14), "timeout": 5.0, **options},
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    return svc


def _create_rma(svc: ActionServices) -> str:
    order = svc.store.find_order("WK-1001")
    assert order is not None
    line = evaluate_line(order, order.line("CER-MUG-SAGE"), 1, "changed_mind", svc.policy, NOW)  # type: ignore[arg-type]
    return svc.workflow.create_authorization(order, [line], "changed_mind", "refund", "k", None).id


async def _until_settled(svc: ActionServices, clock: Clock, limit: int = 60) -> list[datetime]:
    """Send, move the clock to the next due time, send again … until nothing is pending.
    Returns the clock's reading at each pass that sent something."""
    passes: list[datetime] = []
    for _ in range(limit):
        if await svc.webhooks.deliver_due():
            passes.append(clock())
        pending = [d for d in svc.webhooks.deliveries() if d["status"] == "pending"]
        if not pending:
            return passes
        clock.set(min(datetime.fromisoformat(d["next_attempt_at"]) for d in pending))
    raise AssertionError("deliveries still pending")


async def test_signed_delivery_is_retried_after_a_failure_when_its_time_comes(
    database_url: str, tmp_path: Path, receiver: Receiver, clock: Clock
) -> None:
    svc = _services(database_url, tmp_path, clock)
    sub = svc.webhooks.subscribe(receiver.url, ["return.created"])
    assert "secret" not in svc.webhooks.subscriptions()[0]
    rma_id = _create_rma(svc)
    try:
        assert await svc.webhooks.deliver_due() == 1  # answered 500
        assert await svc.webhooks.deliver_due() == 0  # the retry is not due yet
        due = datetime.fromisoformat(svc.webhooks.deliveries()[0]["next_attempt_at"])
        assert timedelta(seconds=24) <= due - NOW <= timedelta(seconds=36)  # 30 s ± 20 %
        clock.set(due - timedelta(seconds=1))
        assert await svc.webhooks.deliver_due() == 0
        clock.set(due)
        assert await svc.webhooks.deliver_due() == 1
    finally:
        svc.close()

    assert [r.status for r in receiver.requests] == [500, 200]
    first, second = receiver.requests
    assert first.body == second.body  # the same bytes each attempt
    for got in receiver.requests:
        assert verify(sub["secret"], got.body, got.headers["X-Shopdesk-Signature"])
        assert got.headers["X-Shopdesk-Event"] == "return.created"
        assert got.headers["Content-Type"] == "application/json"
    assert not verify("whsec_wrong", first.body, first.headers["X-Shopdesk-Signature"])
    # One message id across retries; each attempt stamped with the clock's time of sending.
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == first.headers["X-Shopdesk-Delivery"]  # fmt: skip
    assert int(first.headers["webhook-timestamp"]) == int(NOW.timestamp())
    assert int(second.headers["webhook-timestamp"]) == int(due.timestamp())
    payload = json.loads(first.body)
    assert payload["event"] == "return.created" and payload["id"] == first.headers["webhook-id"]
    assert payload["data"]["id"] == rma_id and payload["data"]["status"] == "approved"
    delivery = svc.webhooks.deliveries(sub["id"])[0]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["log"]] == [500, 200]
    assert delivery["log"][0]["error"] == "HTTP 500"


async def test_pending_deliveries_survive_a_restart(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    receiver = Receiver(clock)
    svc = _services(database_url, tmp_path, clock)
    svc.webhooks.subscribe(receiver.url, ["*"])
    rma_id = _create_rma(svc)  # nothing sends: the delivery waits in the outbox
    svc.workflow.transition(rma_id, "cancelled")
    svc.close()
    assert receiver.requests == []

    restarted = _services(database_url, tmp_path, clock)  # a new process, same database
    try:
        assert await restarted.webhooks.deliver_due() == 2
    finally:
        restarted.close()
        receiver.close()
    events = sorted(r.headers["X-Shopdesk-Event"] for r in receiver.requests)
    assert events == ["return.created", "return.updated"]


async def test_the_running_sender_delivers_as_soon_as_a_change_commits(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    receiver = Receiver(clock)
    svc = _services(database_url, tmp_path, clock, poll_interval=30.0)  # only the wake-up
    svc.webhooks.subscribe(receiver.url, ["return.created"])
    await svc.start()
    try:
        await asyncio.to_thread(_create_rma, svc)
        deadline = asyncio.get_running_loop().time() + 10
        while not receiver.requests:
            assert asyncio.get_running_loop().time() < deadline, "no delivery"
            await asyncio.sleep(0.02)
    finally:
        await svc.stop()
        svc.close()
        receiver.close()
    assert receiver.requests[0].status == 200


async def test_a_receiver_that_never_answers_2xx_is_given_up_after_max_attempts(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    receiver = Receiver(clock, fail_first=100)
    svc = _services(database_url, tmp_path, clock, max_attempts=3)
    svc.webhooks.subscribe(receiver.url, ["return.created"])
    _create_rma(svc)
    try:
        passes = await _until_settled(svc, clock)
    finally:
        svc.close()
        receiver.close()
    delivery = svc.webhooks.deliveries()[0]
    assert delivery["status"] == "failed" and delivery["next_attempt_at"] is None
    assert delivery["attempts"] == 3 and len(receiver.requests) == 3
    gaps = [(b - a).total_seconds() for a, b in zip(passes, passes[1:], strict=False)]
    assert 24 <= gaps[0] <= 36 and 48 <= gaps[1] <= 72  # 30 s then 60 s, each ± 20 %


async def test_a_refused_connection_is_logged_and_retried(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    svc = _services(database_url, tmp_path, clock, max_attempts=2)
    closed = Receiver(clock)
    url = closed.url
    closed.close()  # nothing listens there any more
    svc.webhooks.subscribe(url, ["return.created"])
    _create_rma(svc)
    try:
        await _until_settled(svc, clock)
    finally:
        svc.close()
    log = svc.webhooks.deliveries()[0]["log"]
    assert len(log) == 2 and all(a["status_code"] is None and "Connect" in a["error"] for a in log)


def test_subscriptions_validate_url_and_events(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    svc = _services(database_url, tmp_path, clock)
    try:
        with pytest.raises(ValueError):
            svc.webhooks.subscribe("ftp://example.com", ["return.created"])
        with pytest.raises(ValueError):
            svc.webhooks.subscribe("http://example.com", ["order.exploded"])
        assert isinstance(svc.webhooks, WebhookService)
    finally:
        svc.close()
