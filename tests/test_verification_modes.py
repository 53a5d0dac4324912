"""SHOPDESK_VERIFICATION end to end, on a real uvicorn with real websockets and the offline model
over the demo orders: order_email (today's), email_code (a code to the order's email before any
order data) and signed (only identities signed by the host page)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agent.chat.email_code import TYPED_CODE
from agent.chat.identity import sign_email
from agent.chat.verification import SIGNED_ONLY
from agent.store.verification_codes import codes_t
from tests.email_helpers import Sink, start_smtp
from tests.throttle_helpers import (
    HANNAH,
    HANNAH_TRACKING,
    CapturedCodes,
    answer,
    shop_server,
    shop_settings,
    texts,
)
from tests.ws_helpers import client, eventually

ASK = f"where is my order WK-1009? my email is {HANNAH}"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []

    def make(**overrides: Any) -> tuple[Any, CapturedCodes]:
        srv = shop_server(shop_settings(tmp_path / f"data{len(started)}", **overrides))
        started.append(srv)
        inbox = CapturedCodes()
        if srv.app.state.sessions.codes is not None:
            srv.app.state.sessions.codes.sender = inbox
        return srv, inbox

    yield make
    for srv in started:
        srv.stop()


async def test_order_email_mode_shows_the_order_for_a_matching_pair(make_server) -> None:
    srv, _ = make_server()
    async with client(srv.ws_url) as c:
        await c.hello()
        events = await c.say(ASK)
    assert HANNAH_TRACKING in events[-1]["text"]


async def test_email_code_mode_shows_nothing_until_the_emailed_code_comes_back(
    make_server,
) -> None:
    srv, inbox = make_server(verification="email_code")
    async with client(srv.ws_url) as c:
        conv_id = (await c.hello())["conversation_id"]
        asked = await c.say(ASK)
        assert asked[-1]["text"] == (
            "To keep your order private, I've sent a 6-digit code to h•••@example.com; it works "
            "for 10 minutes. Could you type it here so I can show you order WK-1009?"
        )
        assert HANNAH_TRACKING not in texts(asked) and "Heron at Dawn" not in texts(asked)
        assert [(email, len(code)) for email, code, _ in inbox.sent] == [(HANNAH, 6)]
        code = inbox.last_code
        wrong = "000000" if code != "000000" else "111111"
        refused = await c.say(wrong)
        assert refused[-1]["text"] == (
            "That code doesn't match (4 tries left). Could you check the email and type it again?"
        )
        assert HANNAH_TRACKING not in texts(refused)
        shown = await c.say(f"the code is {code}")
        assert HANNAH_TRACKING in shown[-1]["text"]
    # The code is a credential: the transcript keeps dots, the database keeps only a hash.
    store = srv.app.state.conversations
    typed = [e["text"] for e in store.transcript(conv_id) if e["role"] == "user"]
    assert typed == [ASK, TYPED_CODE, TYPED_CODE]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(codes_t)).mappings().all()
    assert len(rows) == 1 and rows[0]["status"] == "used"
    assert all(code not in str(value) for value in rows[0].values())
    assert store.get(conv_id).customer_email == HANNAH  # verified from here on


async def test_an_email_code_expires_after_ten_minutes_by_the_store_clock(make_server) -> None:
    srv, inbox = make_server(verification="email_code")
    async with client(srv.ws_url) as c:
        await c.hello()
        await c.say(ASK)
        srv.app.state.settings.clock.advance(timedelta(minutes=10, seconds=1))
        late = await answer(c, inbox.last_code)
        assert late.startswith("That code has expired (codes work for 10 minutes).")
        assert HANNAH_TRACKING not in late
        # Asking again sends a fresh code, and that one works.
        await c.say(ASK)
        assert len(inbox.sent) == 2
        assert HANNAH_TRACKING in await answer(c, inbox.last_code)


async def test_an_email_code_allows_five_tries_then_no_code_works(make_server) -> None:
    # Wide failure locks, so that it is the code's own five tries that run out here.
    srv, inbox = make_server(
        verification="email_code",
        limit_verification_failures_per_email="50 per 15 minutes",
        limit_verification_failures_per_order="50 per 15 minutes",
        limit_verification_failures_per_address="50 per 15 minutes",
    )
    async with client(srv.ws_url) as c:
        await c.hello()
        await c.say(ASK)
        code = inbox.last_code
        wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 6)]
        replies = [await answer(c, guess) for guess in wrong]
        assert "(1 try left)" in replies[3]
        assert replies[4].startswith("That code doesn't match, and it has had too many wrong tries")
        after = await c.say(code)  # the right code, too late: it no longer counts as a code
        assert HANNAH_TRACKING not in texts(after)


async def test_wrong_email_codes_count_towards_the_email_lock(make_server) -> None:
    srv, inbox = make_server(verification="email_code")
    async with client(srv.ws_url) as c:
        await c.hello()
        await c.say(ASK)
        code = inbox.last_code
        replies = [await answer(c, f"{(int(code) + n) % 1_000_000:06d}") for n in range(1, 6)]
        assert replies[4].startswith("For your security I've paused order look-ups")
        after = await c.say(code)
        assert HANNAH_TRACKING not in texts(after)


async def test_codes_sent_to_one_email_are_limited_so_its_inbox_is_not_flooded(
    make_server,
) -> None:
    srv, inbox = make_server(verification="email_code", limit_codes_per_email="2 per hour")
    async with client(srv.ws_url) as c:
        await c.hello()
        for _ in range(2):
            assert (await answer(c, ASK)).startswith("To keep your order private")
        third = await answer(c, ASK)
    assert third.startswith("I've already sent several codes to h•••@example.com; please use the")
    assert "ask again in an hour" in third
    assert len(inbox.sent) == 2


async def test_signed_mode_refuses_order_and_email_in_words(make_server) -> None:
    srv, _ = make_server(verification="signed")
    async with client(srv.ws_url) as c:
        await c.hello()
        events = await c.say(ASK)
    assert events[-1]["text"] == SIGNED_ONLY
    assert HANNAH_TRACKING not in texts(events)


async def test_signed_mode_shows_a_signed_in_shopper_their_order_and_no_one_elses(
    make_server,
) -> None:
    srv, _ = make_server(verification="signed")
    secret = srv.app.state.settings.secret
    identity = {"email": HANNAH, "signature": sign_email(HANNAH, secret)}
    async with client(srv.ws_url) as c:
        assert (await c.hello(identity=identity))["verified"] is True
        assert HANNAH_TRACKING in await answer(c, "where is my order WK-1009?")
    other = "maya.chen@example.com"
    identity = {"email": other, "signature": sign_email(other, secret)}
    async with client(srv.ws_url) as c:
        await c.hello(identity=identity)
        events = await c.say(ASK)
    assert HANNAH_TRACKING not in texts(events)
    assert events[-1]["text"].startswith("I couldn't find an order")


async def test_email_code_mode_sends_the_code_as_a_real_email_through_the_outbox(
    tmp_path: Path,
) -> None:
    # The code goes out the way every store email does: the outbox, then SMTP.
    sink = Sink()
    smtp = start_smtp(sink)
    srv = shop_server(
        shop_settings(
            tmp_path / "data",
            verification="email_code",
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
        )
    )
    try:
        async with client(srv.ws_url) as c:
            await c.hello()
            asked = await c.say(ASK)
            assert "I've sent a 6-digit code" in asked[-1]["text"]
            await eventually(lambda: bool(sink.to(HANNAH)), "the code's email")
            mail = sink.to(HANNAH)[-1]
            body = mail.get_body(preferencelist=("plain",))
            assert body is not None
            code = re.search(r"\b(\d{6})\b", body.get_content())
            assert code is not None and code.group(1) not in str(mail["Subject"])
            shown = await c.say(code.group(1))
        assert HANNAH_TRACKING in shown[-1]["text"]
    finally:
        srv.stop()
        smtp.stop()
