"""Limits across conversations, on a real uvicorn over loopback with real websockets: new
conversations and messages per client address (X-Forwarded-For only from a trusted proxy), the
global model budget, and the same limits shared by two app instances on the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ws_helpers import bell_server, bell_settings, client, last

ADMIN = {"Authorization": "Bearer demo-admin-token"}
REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []

    def make(name: str = "data", **overrides: Any) -> Any:
        srv = bell_server(bell_settings(tmp_path / name, **overrides))
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def user_texts(srv: Any, conv_id: str) -> list[str]:
    body = httpx.get(f"{srv.http_url}/v1/conversations/{conv_id}", headers=ADMIN).json()
    return [e["text"] for e in body["transcript"] if e["role"] == "user"]


async def test_new_conversations_from_one_address_stop_at_the_limit(make_server) -> None:
    srv = make_server(limit_new_conversations_per_address="3 per 10 minutes")
    async with client(srv.ws_url) as first:
        assert (await first.hello())["type"] == "ready"
        for _ in range(2):
            async with client(srv.ws_url) as c:
                assert (await c.hello())["type"] == "ready"
        async with client(srv.ws_url) as fourth:
            refused = await fourth.hello()
            assert refused["type"] == "error" and refused["code"] == "rate_limited"
            assert "Too many new conversations" in refused["message"]
            assert "10 minutes" in refused["message"]
            # The socket stays, and what it can still do it does: nothing else was started.
            assert (await fourth.say("hello?"))[-1]["code"] == "no_conversation"
        # A conversation already open goes on as before.
        assert "hi there" in last(await first.say("hi there"), "assistant_message")["text"]


async def test_messages_are_limited_per_address_across_all_its_conversations(make_server) -> None:
    srv = make_server(messages_per_minute=8, limit_messages_per_address="5 per hour")
    ids, answered = [], 0
    for n in range(3):
        async with client(srv.ws_url) as c:
            ids.append((await c.hello())["conversation_id"])
            for m in range(2 if n < 2 else 1):
                events = await c.say(f"message {n}.{m}")
                assert events[-1]["type"] == "assistant_message"
                answered += 1
            if n == 2:
                refused = (await c.say("one too many"))[-1]
                assert refused["code"] == "rate_limited"
                assert refused["message"] == (
                    "Too many messages are coming from your network right now; please wait "
                    "an hour and send yours again."
                )
    assert answered == 5
    # Every accepted message is stored; the refused one is not (it was never acknowledged).
    stored = [text for conv_id in ids for text in user_texts(srv, conv_id)]
    assert stored == ["message 0.0", "message 0.1", "message 1.0", "message 1.1", "message 2.0"]


async def _hello_as(srv: Any, forwarded: str) -> dict[str, Any]:
    async with client(srv.ws_url, additional_headers={"X-Forwarded-For": forwarded}) as c:
        return await c.hello()


async def test_forwarded_for_is_honoured_only_from_a_trusted_proxy(make_server) -> None:
    limit = {"limit_new_conversations_per_address": "1 per 10 minutes"}
    behind_proxy = make_server("proxied", trusted_proxies=["127.0.0.0/8"], **limit)
    assert (await _hello_as(behind_proxy, "198.51.100.1"))["type"] == "ready"
    assert (await _hello_as(behind_proxy, "198.51.100.1"))["code"] == "rate_limited"
    assert (await _hello_as(behind_proxy, "198.51.100.2"))["type"] == "ready"  # another client
    # A client that is not a proxy may write any header: it is its own address that counts.
    direct = make_server("direct", **limit)
    assert (await _hello_as(direct, "198.51.100.1"))["type"] == "ready"
    assert (await _hello_as(direct, "198.51.100.2"))["code"] == "rate_limited"


async def test_over_the_model_budget_the_shopper_is_told_and_the_message_is_kept(
    make_server,
) -> None:
    srv = make_server(limit_model_calls="2 per hour")  # a window no slow machine outlasts
    async with client(srv.ws_url) as c:
        conv_id = (await c.hello())["conversation_id"]
        for n in range(2):
            assert "You said" in last(await c.say(f"question {n}"), "assistant_message")["text"]
        busy = last(await c.say("question 2"), "assistant_message")
        assert busy["text"] == (
            "We're very busy right now, so I can't answer this moment. Your message is saved; "
            "please try again in an hour."
        )
        assert "question 2" in user_texts(srv, conv_id)  # nothing lost
        await srv.app.state.throttle.reset()  # the next minute
        again = last(await c.say("question 2"), "assistant_message")
        assert again["text"].startswith("You said: question 2")


async def test_two_app_instances_on_redis_share_one_limit(make_server) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    shared = {
        "rate_limit_storage": REDIS_URL,
        "rate_limit_prefix": f"test-{uuid.uuid4().hex}",  # a fresh window for this run
        "limit_new_conversations_per_address": "3 per 10 minutes",
    }
    a, b = make_server("a", **shared), make_server("b", **shared)
    for srv in (a, b, a):
        async with client(srv.ws_url) as c:
            assert (await c.hello())["type"] == "ready"
    for srv in (b, a):  # the fourth, on either instance
        async with client(srv.ws_url) as c:
            assert (await c.hello())["code"] == "rate_limited"
    # A store with another prefix on the same Redis counts on its own.
    other = make_server("c", **(shared | {"rate_limit_prefix": f"test-{uuid.uuid4().hex}"}))
    async with client(other.ws_url) as c:
        assert (await c.hello())["type"] == "ready"


async def test_the_flood_finding_is_held_by_the_default_limits(make_server) -> None:
    """The finding: 500 conversations x 20 messages from one client were all accepted. With the
    default amounts (20 a conversation, 120 an address, 60 new conversations) the flood gets 120
    turns, and the rest is refused in words without a turn."""
    srv = make_server(
        messages_per_minute=20,  # the default (bell_settings lowers it)
        # The default amounts over windows no slow machine outlasts: the test counts, never races.
        limit_messages_per_address="120 per hour",
        limit_new_conversations_per_address="60 per hour",
    )
    answered = refused_messages = refused_conversations = 0
    for _ in range(500):
        async with client(srv.ws_url) as c:
            if (await c.hello())["type"] == "error":
                refused_conversations += 1
                continue
            for n in range(20):
                end = (await c.say(f"flood {n}"))[-1]
                if end["type"] == "assistant_message":
                    answered += 1
                else:
                    assert end["code"] == "rate_limited"
                    refused_messages += 1
    assert answered == 120
    assert refused_conversations == 500 - 60
    assert refused_messages == 60 * 20 - 120


async def test_guessed_signatures_count_as_failed_verifications_per_address(make_server) -> None:
    srv = make_server(limit_verification_failures_per_address="3 per 15 minutes")
    forged = {"email": "maya.chen@example.com", "signature": "0" * 64}
    for _ in range(3):
        async with client(srv.ws_url) as c:
            refused = await c.hello(identity=forged)
            assert refused["type"] == "error" and refused["code"] == "bad_signature"
    async with client(srv.ws_url) as c:
        refused = await c.hello(identity=forged)
        assert refused["code"] == "rate_limited"
        assert (
            "Too many sign-in attempts" in refused["message"] and "15 minutes" in refused["message"]
        )
        # The socket stays; a guest conversation (no identity) still starts.
        assert (await c.hello())["type"] == "ready"
