"""/metrics on a real uvicorn server: the token guards it, and real turns move the counters."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.models.base import ModelError, ModelRequest, ModelTurn
from tests.ws_helpers import CannedKnowledge, bell_server, bell_settings, client, last

ADMIN = {"Authorization": "Bearer demo-admin-token"}
SCRAPER = {"Authorization": "Bearer scrape-only-token"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    settings = bell_settings(tmp_path_factory.mktemp("metrics"), metrics_token="scrape-only-token")
    srv = bell_server(settings)
    yield srv
    srv.stop()


async def _scrape(url: str, headers: dict[str, str] = ADMIN) -> dict[tuple[str, tuple], float]:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def _until(
    url: str, check: Callable[[dict[tuple[str, tuple], float]], bool]
) -> dict[tuple[str, tuple], float]:
    """Scrape until `check` holds: a turn is counted as it ends, just after its last event."""
    samples = await _scrape(url)
    deadline = time.monotonic() + 30
    while not check(samples):
        assert time.monotonic() < deadline, "the counters never moved"
        await asyncio.sleep(0.02)
        samples = await _scrape(url)
    return samples


def _value(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_need_the_admin_or_the_metrics_token(server: BackgroundServer) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "scrape-only-token"}):  # fmt: skip
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert "token" in refused.json()["message"]
    assert await _scrape(server.http_url, SCRAPER)
    assert await _scrape(server.http_url, ADMIN)


async def test_a_turn_and_its_actions_move_the_counters(server: BackgroundServer) -> None:
    before = await _scrape(server.http_url)
    async with client(server.ws_url) as c:
        await c.hello()
        await c.say("what is the returns window")
        request = (await c.say("ring 2"))[-1]
        assert request["type"] == "confirmation_request"
        await c.answer(request["id"], True)
        request = (await c.say("ring 3"))[-1]
        await c.answer(request["id"], False)
        during = await _scrape(server.http_url)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    after = await _until(
        server.http_url,
        lambda m: (
            _value(m, "shopdesk_turns_total", outcome="ok")
            - _value(before, "shopdesk_turns_total", outcome="ok")
            >= 3
            and _value(m, "shopdesk_open_sockets") == 0
        ),
    )

    assert moved("shopdesk_turns_total", outcome="ok") == 3
    assert moved("shopdesk_turn_seconds_count") == 3
    # Each answered turn asked the model; an approved ring asked it twice (call, then wording).
    assert moved("shopdesk_model_seconds_count", provider="belltest") >= 4
    assert moved("shopdesk_actions_total", action="ring_bell", outcome="ok") == 1
    assert moved("shopdesk_actions_total", action="ring_bell", outcome="declined") == 1
    assert _value(during, "shopdesk_open_sockets") == 1
    assert _value(after, "shopdesk_open_sockets") == 0
    assert moved("shopdesk_model_errors_total", provider="belltest") == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_webhook_waiting_for_its_receiver_shows_in_the_backlog(
    server: BackgroundServer,
) -> None:
    services = server.app.state.services
    base = _value(await _scrape(server.http_url), "shopdesk_outbox_backlog", outbox="webhooks")
    services.webhooks.subscribe(f"http://127.0.0.1:{_closed_port()}/hook", ["*"])
    with services.store.writing() as s:
        assert services.webhooks.enqueue(s, "return.approved", {"rma_id": "RMA-TEST"}) == 1
    services.webhooks.wake()
    samples = await _scrape(server.http_url)
    # Nothing listens there: the delivery stays pending (it waits for a retry), so it counts.
    assert _value(samples, "shopdesk_outbox_backlog", outbox="webhooks") == base + 1
    assert ("shopdesk_outbox_backlog", (("outbox", "emails"),)) in samples


class DownModel:
    """Every provider is down: the loop answers in words and the failure is counted."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        raise ModelError("all providers failed")
        yield ""  # pragma: no cover  (makes this an async generator)


async def test_model_failures_are_counted_by_provider(tmp_path: Path) -> None:
    settings = bell_settings(tmp_path, model="anthropic/claude-test")

    def make(port: int):  # type: ignore[no-untyped-def]
        return build_app(
            settings.model_copy(update={"port": port}), kb=CannedKnowledge(), model=DownModel()
        )

    server = BackgroundServer(make, settings=settings).start()
    try:
        async with client(server.ws_url) as c:
            await c.hello()
            answer = last(await c.say("hello there"), "assistant_message")
        assert "can't answer right now" in answer["text"]
        samples = await _until(
            server.http_url, lambda m: _value(m, "shopdesk_turns_total", outcome="ok") == 1
        )
    finally:
        server.stop()
    assert _value(samples, "shopdesk_model_errors_total", provider="anthropic") == 1
    assert _value(samples, "shopdesk_turns_total", outcome="ok") == 1


async def test_two_apps_in_one_process_count_their_own_turns(
    server: BackgroundServer, tmp_path: Path
) -> None:
    other = bell_server(bell_settings(tmp_path))
    try:
        before = _value(await _scrape(server.http_url), "shopdesk_turns_total", outcome="ok")
        async with client(other.ws_url) as c:
            await c.hello()
            await c.say("hello")
        await _until(other.http_url, lambda m: _value(m, "shopdesk_turns_total", outcome="ok") == 1)
        after = _value(await _scrape(server.http_url), "shopdesk_turns_total", outcome="ok")
        assert after == before
    finally:
        other.stop()
