"""Webhooks a store's developer can trust: verified with the `standardwebhooks` library on a real
receiver, replays refused, retries spread over a day, and the admin routes (delete, rotate,
redeliver) on a real uvicorn server."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from actions.api import api_routes
from actions.clock import Clock
from actions.policy import evaluate_line
from actions.registry import load_registry
from actions.services import ActionServices, build_services
from actions.webhook_signing import signed_headers
from actions.webhooks import verify
from agent.app.background import BackgroundServer
from agent.app.settings import Settings
from tests.webhook_receiver import Receiver

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
TOKEN = "test-admin-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW, frozen=True)


def _services(database_url: str, tmp_path: Path, clock: Clock, **options: object) -> ActionServices:
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test", clock=clock,
        webhook_options={"rng": random.Random(14), "timeout": 5.0, **options},
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    return svc


@pytest.fixture
def services(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[ActionServices]:
    svc = _services(database_url, tmp_path, clock)
    yield svc
    svc.close()


def _create_rma(svc: ActionServices, sku: str = "CER-MUG-SAGE") -> str:
    order = svc.store.find_order("WK-1001")
    assert order is not None
    line = evaluate_line(order, order.line(sku), 1, "changed_mind", svc.policy, svc.clock())  # type: ignore[arg-type]
    return svc.workflow.create_authorization(order, [line], "changed_mind", "refund", sku, None).id


async def test_receiver_verifies_with_standardwebhooks_and_refuses_a_replayed_request(
    services: ActionServices, clock: Clock
) -> None:
    receiver = Receiver(clock)
    sub = services.webhooks.subscribe(receiver.url, ["return.created"])
    receiver.secret = sub["secret"]
    assert sub["secret"].startswith("whsec_")
    assert len(base64.b64decode(sub["secret"].removeprefix("whsec_"), validate=True)) == 32
    try:
        _create_rma(services)
        assert await services.webhooks.deliver_due() == 1
        got = receiver.requests[0]
        assert (got.status, got.verdict) == (200, "ok")
        assert got.headers["webhook-signature"].startswith("v1,")

        # Someone who captured the request sends it again six minutes later: refused.
        clock.advance(timedelta(minutes=6))
        assert receiver.handle(got.headers, got.body) == 401
        assert receiver.requests[-1].verdict == "Message timestamp too old"
        # Within the tolerance the same bytes still verify; a changed body or id never does.
        clock.set(NOW + timedelta(minutes=4))
        assert receiver.handle(got.headers, got.body) == 200
        assert receiver.handle(got.headers, got.body.replace(b"approved", b"refunded")) == 401
        assert receiver.handle({**got.headers, "webhook-id": "dlv_other"}, got.body) == 401
        # A timestamp from the future is as suspect as an old one.
        clock.set(NOW - timedelta(minutes=6))
        assert receiver.handle(got.headers, got.body) == 401
        assert receiver.requests[-1].verdict == "Message timestamp too new"
    finally:
        receiver.close()


async def test_a_failing_receiver_is_retried_over_about_a_day_with_seeded_jitter(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    receiver = Receiver(clock, fail_first=1000)
    svc = _services(database_url, tmp_path, clock)  # the product's default schedule
    svc.webhooks.subscribe(receiver.url, ["return.created"])
    _create_rma(svc)
    times: list[datetime] = []
    try:
        while await svc.webhooks.deliver_due():
            times.append(clock())
            delivery = svc.webhooks.deliveries()[0]
            if delivery["status"] != "pending":
                break
            clock.set(datetime.fromisoformat(delivery["next_attempt_at"]))
    finally:
        svc.close()
        receiver.close()
    assert svc.webhooks.deliveries()[0]["status"] == "failed"
    assert len(times) == len(receiver.requests) == 13
    span = times[-1] - times[0]
    assert timedelta(hours=20) <= span <= timedelta(hours=30), span  # it used to be 10.6 minutes
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    nominal = svc.webhooks.schedule()
    assert nominal[0] == 30 and max(nominal) == 8 * 3600
    assert all(0.8 * n <= g <= 1.2 * n for g, n in zip(gaps, nominal, strict=True)), gaps
    assert len({round(g / n, 6) for g, n in zip(gaps, nominal, strict=True)}) > 1  # jittered
    # The same seed gives the same schedule: the jitter comes only from the injected generator.
    again = random.Random(14)
    assert [round(n * (1 + again.uniform(-0.2, 0.2)), 3) for n in nominal] == [round(g, 3) for g in gaps]  # fmt: skip


@dataclass
class Admin:
    http: httpx.AsyncClient
    services: ActionServices
    clock: Clock


@pytest.fixture
async def admin(services: ActionServices, clock: Clock, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = Starlette(routes=api_routes(services, load_registry(), TOKEN))
    with BackgroundServer(lambda port: app, settings=Settings(data=tmp_path / "s")) as server:
        async with httpx.AsyncClient(base_url=server.http_url, headers=AUTH) as http:
            yield Admin(http, services, clock)


async def test_rotating_a_secret_signs_with_the_new_one_and_the_old_one_only_for_the_grace(
    admin: Admin,
) -> None:
    old_receiver = Receiver(admin.clock)
    new_receiver = Receiver(admin.clock)
    try:
        created = await admin.http.post("/v1/webhooks", json={"url": old_receiver.url, "events": ["*"]})  # fmt: skip
        sub = created.json()
        old_receiver.secret = sub["secret"]
        r = await admin.http.post(f"/v1/webhooks/{sub['id']}/rotate-secret")
        assert r.status_code == 200, r.text
        rotated = r.json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != sub["secret"]
        assert rotated["previous_secret_valid_until"] == (NOW + timedelta(hours=24)).isoformat()
        listed = (await admin.http.get("/v1/webhooks")).json()["webhooks"]
        assert all("secret" not in w for w in listed)
        assert listed[0]["secret_rotated_at"] == NOW.isoformat()
        new_receiver.secret = rotated["secret"]

        _create_rma(admin.services)
        assert await admin.services.webhooks.deliver_due() == 1
        got = old_receiver.requests[0]
        assert new_receiver.verdict(got.headers, got.body) == "ok"  # the new secret signs
        assert got.status == 200  # and, during the grace, the old one still does
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        assert verify(rotated["secret"], got.body, got.headers["X-Shopdesk-Signature"])
        assert not verify(sub["secret"], got.body, got.headers["X-Shopdesk-Signature"])

        admin.clock.advance(timedelta(hours=25))  # the grace is over
        _create_rma(admin.services, "CER-PLT-SAGE")
        assert await admin.services.webhooks.deliver_due() == 1
        late = old_receiver.requests[-1]
        assert late.verdict == "No matching signature found" and late.status == 401
        assert new_receiver.verdict(late.headers, late.body) == "ok"
        assert len(late.headers["webhook-signature"].split(" ")) == 1
    finally:
        old_receiver.close()
        new_receiver.close()


async def test_redelivering_sends_the_same_message_again_now(admin: Admin) -> None:
    receiver = Receiver(admin.clock)
    try:
        sub = (await admin.http.post("/v1/webhooks", json={"url": receiver.url, "events": ["*"]})).json()  # fmt: skip
        receiver.secret = sub["secret"]
        _create_rma(admin.services)
        await admin.services.webhooks.deliver_due()
        delivery = (await admin.http.get(f"/v1/webhooks/{sub['id']}/deliveries")).json()["deliveries"][0]  # fmt: skip
        assert delivery["status"] == "delivered"

        admin.clock.advance(timedelta(hours=3))  # the receiver lost it; staff notice later
        r = await admin.http.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver")
        assert r.status_code == 202 and r.json()["status"] == "pending"
        assert await admin.services.webhooks.deliver_due() == 1
        first, second = receiver.requests
        assert second.verdict == "ok" and second.body == first.body
        assert second.headers["webhook-id"] == first.headers["webhook-id"]  # receivers dedupe
        assert int(second.headers["webhook-timestamp"]) == int(admin.clock().timestamp())
        after = (await admin.http.get(f"/v1/webhooks/{sub['id']}/deliveries")).json()["deliveries"][0]  # fmt: skip
        assert after["status"] == "delivered" and after["attempts"] == 2
        assert [a["manual"] for a in after["log"]] == [False, True]

        unknown = await admin.http.post("/v1/webhook-deliveries/dlv_0000/redeliver")
        assert unknown.status_code == 404
        assert unknown.json()["message"] == "There is no webhook delivery dlv_0000."
        bad = await admin.http.post("/v1/webhook-deliveries/RMA-123/redeliver")
        assert bad.status_code == 400 and "is not a webhook delivery id" in bad.json()["message"]
    finally:
        receiver.close()


async def test_a_failed_delivery_redelivered_after_the_receiver_is_fixed_is_delivered(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    receiver = Receiver(clock, fail_first=1)
    svc = _services(database_url, tmp_path, clock, max_attempts=1)
    try:
        svc.webhooks.subscribe(receiver.url, ["return.created"])
        _create_rma(svc)
        await svc.webhooks.deliver_due()
        failed = svc.webhooks.deliveries()[0]
        assert failed["status"] == "failed"
        svc.webhooks.redeliver(failed["id"])
        assert await svc.webhooks.deliver_due() == 1
        assert svc.webhooks.deliveries()[0]["status"] == "delivered"
    finally:
        svc.close()
        receiver.close()


async def test_a_deleted_subscription_gets_nothing_more(admin: Admin) -> None:
    receiver = Receiver(admin.clock)
    try:
        sub = (await admin.http.post("/v1/webhooks", json={"url": receiver.url, "events": ["*"]})).json()  # fmt: skip
        _create_rma(admin.services)  # queued, not yet sent
        r = await admin.http.delete(f"/v1/webhooks/{sub['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["deleted"] is True and r.json()["pending_deliveries_dropped"] == 1
        assert await admin.services.webhooks.deliver_due() == 0
        assert receiver.requests == []
        assert (await admin.http.get("/v1/webhooks")).json()["webhooks"] == []
        again = await admin.http.delete(f"/v1/webhooks/{sub['id']}")
        assert again.status_code == 404
        assert again.json()["message"] == f"There is no webhook subscription {sub['id']}."
        log = await admin.http.get(f"/v1/webhooks/{sub['id']}/deliveries")
        assert log.status_code == 404
        rotate = await admin.http.post(f"/v1/webhooks/{sub['id']}/rotate-secret")
        assert rotate.status_code == 404
        bad = await admin.http.delete("/v1/webhooks/..%2Fetc")
        assert bad.status_code in (400, 404)
        assert (await admin.http.delete("/v1/webhooks/whk_x", headers={"Authorization": "x"})).status_code == 401  # fmt: skip
    finally:
        receiver.close()


def test_a_secret_from_before_standard_webhooks_still_signs_both_ways() -> None:
    legacy = "whsec_" + "Ab-_" * 8  # token_urlsafe, as subscriptions were made before
    headers = signed_headers("dlv_1", NOW, b'{"id":"dlv_1"}', [legacy])
    assert verify(legacy, b'{"id":"dlv_1"}', headers["X-Shopdesk-Signature"])
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
