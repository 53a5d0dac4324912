"""Verification failures locked per order number, email and address, and the enumeration attack
held; the offline model over the demo orders on a real uvicorn with real websockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.chat.verification import OFFER_PERSON, UNAVAILABLE
from tests.console_helpers import sign_in
from tests.throttle_helpers import (
    HANNAH,
    HANNAH_TRACKING,
    answer,
    shop_server,
    shop_settings,
    texts,
)
from tests.ws_helpers import client

NOT_FOUND = "I couldn't find an order with that number for that email address"
LOCKED = "For your security I've paused order look-ups"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []

    def make(name: str = "data", **overrides: Any) -> Any:
        srv = shop_server(shop_settings(tmp_path / name, **overrides))
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def console_notes(srv: Any, conv_id: str) -> tuple[list[str], str]:
    """The conversation's notes as the console's API gives them, and its page as staff see it."""
    with httpx.Client(base_url=srv.http_url) as staff:
        sign_in(staff)  # type: ignore[arg-type]  # httpx.Client speaks TestClient's API
        body = staff.get(f"/console/api/conversations/{conv_id}").json()
        page = staff.get(f"/console/c/{conv_id}").text
    return [e["text"] for e in body["transcript"] if e["role"] == "note"], page


async def test_five_wrong_order_numbers_lock_that_email_offer_a_person_and_tell_staff(
    make_server,
) -> None:
    srv = make_server()
    async with client(srv.ws_url) as c:
        conv_id = (await c.hello())["conversation_id"]
        for n in range(1, 5):
            reply = await answer(c, f"where is my order WK-10{n:02d}? my email is {HANNAH}")
            assert reply.startswith(NOT_FOUND)
        fifth = await answer(c, f"where is my order WK-1010? my email is {HANNAH}")
        assert fifth == (
            f"{LOCKED} for that email address after several tries that didn't match. Please try "
            f"again in 15 minutes. {OFFER_PERSON}"
        )
        # Locked means locked: the right order number does not get through either.
        events = await c.say(f"where is my order WK-1009? my email is {HANNAH}")
        assert events[-1]["text"].startswith(LOCKED)
        assert HANNAH_TRACKING not in texts(events) and "Heron at Dawn" not in texts(events)
        # The offer of a person is real: yes hands the conversation over.
        handed = await c.say("yes please")
        assert any(e["type"] == "handoff" for e in handed)
    notes, page = console_notes(srv, conv_id)
    lock_note = f"Order look-ups locked for the email {HANNAH}: 5 tries"
    assert any(note.startswith(lock_note) and "within 15 minutes" in note for note in notes), notes
    assert lock_note in page


async def test_one_order_number_tried_with_many_emails_locks_that_order(make_server) -> None:
    srv = make_server()
    async with client(srv.ws_url) as c:
        await c.hello()
        for n in range(4):
            reply = await answer(c, f"where is my order WK-1009? my email is guess{n}@example.com")
            assert reply.startswith(NOT_FOUND)
        reply = await answer(c, "where is my order #1009? my email is guess9@example.com")
        assert reply.startswith(f"{LOCKED} for that order number")
        events = await c.say(f"where is my order WK-1009? my email is {HANNAH}")
        assert events[-1]["text"].startswith(LOCKED)
        assert HANNAH_TRACKING not in texts(events)


async def test_failures_from_one_address_across_conversations_lock_that_address(
    make_server,
) -> None:
    srv = make_server(limit_verification_failures_per_address="3 per 15 minutes")
    replies = []
    for n in range(3):  # different orders and emails: only the address ties them together
        async with client(srv.ws_url) as c:
            await c.hello()
            replies.append(await answer(c, f"order WK-10{n + 1:02d}, email who{n}@example.com"))
    assert replies[0].startswith(NOT_FOUND) and replies[1].startswith(NOT_FOUND)
    assert replies[2].startswith(f"{LOCKED} from your connection")
    async with client(srv.ws_url) as c:
        await c.hello()
        events = await c.say(f"where is my order WK-1009? my email is {HANNAH}")
        assert events[-1]["text"].startswith(f"{LOCKED} from your connection")
        assert HANNAH_TRACKING not in texts(events)


async def test_enumeration_from_one_address_never_finds_another_shoppers_order(
    make_server,
) -> None:
    """The finding: knowing only an email, 200 new conversations from one address tried order
    numbers and found WK-1009 and its tracking number. With the default limits, never."""
    srv = make_server()
    seen: list[dict[str, Any]] = []
    refused_conversations = 0
    for n in range(1, 201):
        async with client(srv.ws_url) as c:
            ready = await c.hello()
            if ready["type"] == "error":
                assert ready["code"] == "rate_limited"
                refused_conversations += 1
                continue
            seen += await c.say(f"where is my order WK-{1000 + n}? my email is {HANNAH}")
    everything = texts(seen)
    assert HANNAH_TRACKING not in everything
    assert "Heron at Dawn" not in everything and "WK-1009 has shipped" not in everything
    assert not any(e["type"] == "action_finished" and e["ok"] for e in seen)
    assert LOCKED in everything
    assert refused_conversations == 200 - 60  # the default: 60 new conversations in 10 minutes


async def test_with_the_limit_counters_down_chat_goes_on_but_no_order_is_guessed(
    make_server,
) -> None:
    srv = make_server(rate_limit_storage="redis://127.0.0.1:1")  # nothing listens there
    async with client(srv.ws_url) as c:
        assert (await c.hello())["type"] == "ready"
        events = await c.say(f"where is my order WK-1009? my email is {HANNAH}")
    assert events[-1]["text"] == UNAVAILABLE
    assert HANNAH_TRACKING not in texts(events)
