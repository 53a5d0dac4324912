"""Webhooks against a real HTTP receiver on loopback: signature, retry with backoff, restarts."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from actions.clock import Clock
from actions.policy import evaluate_line
from actions.services import ActionServices, build_services
from actions.webhooks import WebhookService, verify

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


class Receiver:
    """A tiny HTTP server: answers `fail_first` requests with 500, then 200; keeps what it got."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers.items()), body))
                code = 500 if len(receiver.requests) <= receiver.fail_first else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shopdesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def _services(database_url: str, tmp_path: Path, **options: object) -> ActionServices:
    return build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test", clock=Clock(NOW),  # advancing: retries fall due
        webhook_options={"base_delay": 0.05, "poll_interval": 0.05, "timeout": 2.0, **options},
    )  # fmt: skip


def _create_rma(svc: ActionServices) -> str:
    order = svc.store.find_order("WK-1001")
    assert order is not None
    line = evaluate_line(order, order.line("CER-MUG-SAGE"), 1, "changed_mind", svc.policy, NOW)  # type: ignore[arg-type]
    return svc.workflow.create_authorization(order, [line], "changed_mind", "refund", "k", None).id


async def _until(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_signed_delivery_is_retried_after_a_failure(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    svc = _services(database_url, tmp_path)
    svc.store.import_file(DEMO / "orders.json")
    sub = svc.webhooks.subscribe(receiver.url, ["return.created"])
    assert sub["secret"].startswith("whsec_") and "secret" not in svc.webhooks.subscriptions()[0]
    await svc.start()
    try:
        rma_id = await asyncio.to_thread(_create_rma, svc)
        await _until(lambda: svc.webhooks.deliveries()[0]["status"] == "delivered")
    finally:
        await svc.stop()
        svc.close()

    assert len(receiver.requests) == 2  # first answered 500, the retry 200
    (h1, b1), (h2, b2) = receiver.requests
    assert b1 == b2  # the same bytes each attempt
    for headers, body in receiver.requests:
        assert verify(sub["secret"], body, headers["X-Shopdesk-Signature"])
        assert headers["X-Shopdesk-Event"] == "return.created"
        assert headers["Content-Type"] == "application/json"
    assert not verify("whsec_wrong", b1, h1["X-Shopdesk-Signature"])
    payload = json.loads(b1)
    assert payload["event"] == "return.created" and payload["id"] == h1["X-Shopdesk-Delivery"]
    assert payload["data"]["id"] == rma_id and payload["data"]["status"] == "approved"
    delivery = svc.webhooks.deliveries(sub["id"])[0]
    assert delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["log"]] == [500, 200]
    assert delivery["log"][0]["error"] == "HTTP 500"


async def test_pending_deliveries_survive_a_restart(database_url: str, tmp_path: Path) -> None:
    receiver = Receiver(fail_first=0)
    svc = _services(database_url, tmp_path)
    svc.store.import_file(DEMO / "orders.json")
    svc.webhooks.subscribe(receiver.url, ["*"])
    rma_id = _create_rma(svc)  # the sender is not running: the delivery waits in the outbox
    svc.workflow.transition(rma_id, "cancelled")
    svc.close()
    assert receiver.requests == []

    restarted = _services(database_url, tmp_path)  # a new process, same database
    await restarted.start()
    try:
        await _until(lambda: len(receiver.requests) == 2)
    finally:
        await restarted.stop()
        restarted.close()
        receiver.close()
    events = [h["X-Shopdesk-Event"] for h, _ in receiver.requests]
    assert sorted(events) == ["return.created", "return.updated"]


async def test_a_receiver_that_never_answers_2xx_is_given_up_after_max_attempts(
    database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(fail_first=100)
    svc = _services(database_url, tmp_path, max_attempts=3)
    svc.store.import_file(DEMO / "orders.json")
    svc.webhooks.subscribe(receiver.url, ["return.created"])
    await svc.start()
    try:
        await asyncio.to_thread(_create_rma, svc)
        await _until(lambda: svc.webhooks.deliveries()[0]["status"] == "failed")
    finally:
        await svc.stop()
        svc.close()
        receiver.close()
    delivery = svc.webhooks.deliveries()[0]
    assert delivery["attempts"] == 3 and len(receiver.requests) == 3
    # Backoff: each wait at least base × 2^(n-1).
    times = [datetime.fromisoformat(a["at"]) for a in delivery["log"]]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09


async def test_a_refused_connection_is_logged_and_retried(
    database_url: str, tmp_path: Path
) -> None:
    svc = _services(database_url, tmp_path, max_attempts=2)
    svc.store.import_file(DEMO / "orders.json")
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens there any more
    svc.webhooks.subscribe(url, ["return.created"])
    await svc.start()
    try:
        await asyncio.to_thread(_create_rma, svc)
        await _until(lambda: svc.webhooks.deliveries()[0]["status"] == "failed")
    finally:
        await svc.stop()
        svc.close()
    log = svc.webhooks.deliveries()[0]["log"]
    assert len(log) == 2 and all(a["status_code"] is None and "Connect" in a["error"] for a in log)


def test_subscriptions_validate_url_and_events(database_url: str, tmp_path: Path) -> None:
    svc = _services(database_url, tmp_path)
    try:
        with pytest.raises(ValueError):
            svc.webhooks.subscribe("ftp://example.com", ["return.created"])
        with pytest.raises(ValueError):
            svc.webhooks.subscribe("http://example.com", ["order.exploded"])
        assert isinstance(svc.webhooks, WebhookService)
    finally:
        svc.close()
