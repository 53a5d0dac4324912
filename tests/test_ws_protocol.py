"""The /ws protocol on a real uvicorn server over loopback, with a real websocket client.

The model is an in-process litellm provider (tests/ws_helpers.BellModel) and knowledge is canned, so
these run in seconds; tests/test_server_offline.py runs the real knowledge base and offline model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from agent.chat.identity import sign_email
from tests.ws_helpers import (
    RUNG,
    SLOW_GATE,
    bell_server,
    bell_settings,
    client,
    eventually,
    last,
)

ADMIN = {"Authorization": "Bearer demo-admin-token"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    data = tmp_path_factory.mktemp("ws-data")
    srv = bell_server(bell_settings(data, allowed_origins=["https://shop.example"]))
    yield srv
    srv.stop()


async def test_deltas_arrive_in_order_before_the_final_message(server) -> None:
    async with client(server.ws_url) as c:
        ready = await c.hello()
        assert ready["type"] == "ready" and ready["transcript"] == [] and ready["resumed"] is False
        events = await c.say("where is the returns policy please")
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "assistant_message"
    assert kinds.count("assistant_delta") >= 2 and set(kinds[:-1]) == {"assistant_delta"}
    streamed = "".join(e["text"] for e in events[:-1])
    assert streamed == events[-1]["text"]
    assert events[-1]["citations"][0]["source"] == "returns.md"


async def test_user_message_before_hello_is_refused_and_the_socket_stays(server) -> None:
    async with client(server.ws_url) as c:
        await c.send(type="user_message", text="hi")
        assert (await c.recv())["code"] == "no_conversation"
        await c.send(type="confirmation_response", id="abc", approved=True)
        assert (await c.recv())["code"] == "no_conversation"
        assert (await c.hello())["type"] == "ready"


async def test_malformed_input_gets_an_error_and_the_connection_lives_on(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        cases = [
            ("{not json", "bad_json"),
            ("[1, 2]", "invalid_event"),
            (json.dumps({"type": "teleport"}), "unknown_event"),
            (json.dumps({"no": "type"}), "unknown_event"),
            (json.dumps({"type": "user_message"}), "invalid_event"),
            (json.dumps({"type": "user_message", "text": 7}), "invalid_event"),
            (json.dumps({"type": "confirmation_response", "id": "x"}), "invalid_event"),
            (json.dumps({"type": "user_message", "text": "   "}), "empty_message"),
            (json.dumps({"type": "hello"}), "already_started"),
        ]
        for frame, code in cases:
            await c.ws.send(frame)
            event = await c.recv()
            assert (event["type"], event["code"]) == ("error", code), frame
            assert "Traceback" not in event["message"]
        await c.ws.send(b"\x00\x01binary")
        assert (await c.recv())["code"] == "invalid_event"
        await c.send(type="confirmation_response", id="nothing-pending", approved=True)
        assert (await c.recv())["code"] == "unknown_confirmation"
        assert last(await c.say("still here?"), "assistant_message")


async def test_a_too_long_message_is_refused_and_not_stored(server) -> None:
    async with client(server.ws_url) as c:
        ready = await c.hello()
        await c.send(type="user_message", text="x" * 201)
        event = await c.recv()
        assert event["code"] == "message_too_long"
        await c.send(type="user_message", text="y" * 200)  # exactly the limit is fine
        assert (await c.until_end())[-1]["type"] == "assistant_message"
    async with client(server.ws_url) as c:
        again = await c.hello(
            conversation_id=ready["conversation_id"], resume_token=ready["resume_token"]
        )
    assert [e["text"] for e in again["transcript"] if e["role"] == "user"] == ["y" * 200]


async def test_a_too_large_frame_is_explained_before_the_close(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        await c.ws.send(json.dumps({"type": "user_message", "text": "z" * 3000}))
        error = await c.recv()
        assert error["code"] == "frame_too_large" and "at most 2048 bytes" in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            await c.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1009, "frame_too_large")
    async with client(server.ws_url) as c:  # the server itself is unharmed
        await c.hello()
        assert last(await c.say("small again"), "assistant_message")


async def test_too_many_messages_a_minute_are_rate_limited(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        for n in range(8):
            assert (await c.say(f"message {n}"))[-1]["type"] == "assistant_message"
        event = (await c.say("one too many"))[-1]
        assert event["code"] == "rate_limited"


async def test_a_second_message_while_a_turn_runs_is_busy(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        SLOW_GATE.reset()
        await c.send(type="user_message", text="slow question")
        await SLOW_GATE.wait_started()
        await c.send(type="user_message", text="impatient")
        events = await c.until_end()
        assert events[-1]["code"] == "busy"
        SLOW_GATE.opened.set()
        final = last(await c.until_end(), "assistant_message")
        assert "slow question" in final["text"]


async def test_a_confirmed_action_runs_once_and_a_declined_one_not_at_all(server) -> None:
    async with client(server.ws_url) as c:
        ready = await c.hello()
        conv = ready["conversation_id"]
        request = (await c.say("ring 3"))[-1]
        assert request["type"] == "confirmation_request"
        assert (
            request["summary"] == "Ring the shop bell 3 times." and request["action"] == "ring_bell"
        )
        assert (conv, 3) not in RUNG
        events = await c.answer(request["id"], True)
        assert [e["type"] for e in events if e["type"].startswith("action")] == [
            "action_started",
            "action_finished",
        ]
        assert last(events, "assistant_message")["text"] == "Done: Rang the bell 3 times."
        assert RUNG.count((conv, 3)) == 1

        request = (await c.say("ring 5"))[-1]
        events = await c.answer(request["id"], False)
        assert last(events, "action_finished")["ok"] is False
        assert (conv, 5) not in RUNG
        await c.send(type="confirmation_response", id=request["id"], approved=True)
        assert (await c.recv())["code"] == "unknown_confirmation"  # answered already
        assert (conv, 5) not in RUNG


async def test_resume_after_reconnect_shows_the_whole_transcript(server) -> None:
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        cred = c.credential
        await c.say("first question")
        request = (await c.say("ring 2"))[-1]
        await c.answer(request["id"], True)
    async with client(server.ws_url) as c:
        ready = await c.hello(**cred)
    assert ready["conversation_id"] == conv and ready["resumed"] is True
    roles = [e["role"] for e in ready["transcript"]]
    assert roles == ["user", "assistant", "user", "action", "assistant"]
    assert ready["transcript"][0]["text"] == "first question"
    assert ready["transcript"][1]["citations"][0]["heading"] == "Returns > Window"
    assert ready["transcript"][3]["action"] == "ring_bell" and ready["transcript"][3]["ok"] is True


async def test_an_unanswered_confirmation_is_asked_again_after_a_dropped_socket(server) -> None:
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        cred = c.credential
        request = (await c.say("ring 4"))[-1]
    # The socket dropped while the turn waits for a yes; it must still be waiting.
    async with client(server.ws_url) as c:
        ready = await c.hello(**cred)
        assert ready["pending_confirmation"] == request["id"]
        again = await c.recv()
        assert again["type"] == "confirmation_request" and again["id"] == request["id"]
        events = await c.answer(request["id"], True)
        assert last(events, "assistant_message")["text"] == "Done: Rang the bell 4 times."
    assert RUNG.count((conv, 4)) == 1


async def test_an_unknown_conversation_id_starts_a_new_conversation_and_says_so(server) -> None:
    async with client(server.ws_url) as c:
        ready = await c.hello(conversation_id="0123456789abcdef0123456789abcdef")
    assert ready["conversation_id"] != "0123456789abcdef0123456789abcdef"
    assert ready["resumed"] is False and "not found" in ready["notice"]
    assert len(ready["conversation_id"]) == 32


async def test_a_signed_identity_verifies_the_shopper_and_a_bad_one_is_refused(server) -> None:
    email = "ana@example.com"
    async with client(server.ws_url) as c:
        bad = await c.hello(identity={"email": email, "signature": "0" * 64})
        assert (bad["type"], bad["code"]) == ("error", "bad_signature")
        forged = await c.hello(
            identity={"email": "bob@example.com", "signature": sign_email(email, "demo-secret-x")}
        )
        assert forged["code"] == "bad_signature"
        good = await c.hello(
            identity={
                "email": "Ana@Example.com",
                "signature": sign_email(email, "willow-and-kiln-demo-secret"),
            }
        )
        assert good["type"] == "ready" and good["verified"] is True
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        body = (
            await http.get(f"/v1/conversations/{good['conversation_id']}", headers=ADMIN)
        ).json()
    assert body["customer_email"] == email


async def test_another_shopper_signed_in_never_sees_the_first_ones_conversation(server) -> None:
    secret = "willow-and-kiln-demo-secret"
    ana = {"email": "ana@example.com", "signature": sign_email("ana@example.com", secret)}
    bob = {"email": "bob@example.com", "signature": sign_email("bob@example.com", secret)}
    async with client(server.ws_url) as c:
        conv = (await c.hello(identity=ana))["conversation_id"]
        cred = c.credential
        await c.say("my private question")
    async with client(server.ws_url) as c:
        ready = await c.hello(**cred, identity=bob)
    assert ready["conversation_id"] != conv and ready["transcript"] == []


async def test_origins_other_than_ours_and_the_allowed_ones_are_refused(server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with client(server.ws_url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    for origin in ("https://shop.example", server.http_url):
        async with client(server.ws_url, origin=origin) as c:
            assert (await c.hello())["type"] == "ready"


async def test_admin_conversation_api_needs_the_token(server) -> None:
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        await c.say("hello admin")
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.get("/v1/conversations")).status_code == 401
        wrong = {"Authorization": "Bearer nope-nope-nope"}
        assert (await http.get(f"/v1/conversations/{conv}", headers=wrong)).status_code == 401
        listing = (await http.get("/v1/conversations?limit=500", headers=ADMIN)).json()
        assert conv in [item["id"] for item in listing["conversations"]]
        one = (await http.get(f"/v1/conversations/{conv}", headers=ADMIN)).json()
        assert [e["role"] for e in one["transcript"]] == ["user", "assistant"]
        assert (await http.get("/v1/conversations/nope", headers=ADMIN)).status_code == 404
        assert (await http.get("/healthz")).json()["status"] == "ok"


async def test_an_idle_socket_is_closed_with_the_idle_code(tmp_path: Path) -> None:
    srv = bell_server(bell_settings(tmp_path, idle_timeout=0.5))
    try:
        async with client(srv.ws_url) as c:
            await c.hello()
            with pytest.raises(ConnectionClosed) as closed:
                await c.recv(timeout=5)
        assert closed.value.rcvd.code == 4000 and closed.value.rcvd.reason == "idle_timeout"
    finally:
        srv.stop()


async def test_a_restart_loses_nothing_and_a_pending_confirmation_still_works(
    tmp_path: Path, database_url: str
) -> None:
    settings = bell_settings(tmp_path, database_url=database_url)  # SQLite, and PostgreSQL in CI
    srv = bell_server(settings)
    try:
        async with client(srv.ws_url) as c:
            conv = (await c.hello())["conversation_id"]
            cred = c.credential
            await c.say("before the restart")
            request = (await c.say("ring 7"))[-1]
    finally:
        srv.stop()

    srv = bell_server(settings)  # same data directory, a new process state
    try:
        async with client(srv.ws_url) as c:
            ready = await c.hello(**cred)
            assert ready["resumed"] is True
            assert [e["role"] for e in ready["transcript"]] == ["user", "assistant", "user"]
            again = await c.recv()
            assert again["type"] == "confirmation_request" and again["id"] == request["id"]
            events = await c.answer(request["id"], True)
            assert last(events, "action_finished")["ok"] is True
            # Resumed through the model: worded exactly as a yes in time is.
            assert last(events, "assistant_message")["text"] == "Done: Rang the bell 7 times."
            assert RUNG.count((conv, 7)) == 1
            # The conversation carries on normally after the interrupted turn.
            assert last(await c.say("and after?"), "assistant_message")
        async with client(srv.ws_url) as c:
            ready = await c.hello(**cred)
        roles = [e["role"] for e in ready["transcript"]]
        assert roles == ["user", "assistant", "user", "action", "assistant", "user", "assistant"]
        assert "pending_confirmation" not in ready
    finally:
        srv.stop()


async def test_a_confirmation_outlives_an_idle_close_and_the_expired_turn(tmp_path: Path) -> None:
    srv = bell_server(bell_settings(tmp_path, idle_timeout=1.5))
    try:
        async with client(srv.ws_url) as c:
            conv = (await c.hello())["conversation_id"]
            cred = c.credential
            request = (await c.say("ring 8"))[-1]
            with pytest.raises(ConnectionClosed):
                await c.recv(timeout=5)  # idle: closed by the server
        # Nobody comes back within the grace period: the turn is gone.
        sessions = srv.app.state.sessions.sessions
        await eventually(lambda: conv not in sessions, "the grace period to drop the session")
        async with client(srv.ws_url) as c:
            ready = await c.hello(**cred)
            assert ready["pending_confirmation"] == request["id"]
            assert (await c.recv())["id"] == request["id"]
            events = await c.answer(request["id"], True)
        assert last(events, "assistant_message")["text"] == "Done: Rang the bell 8 times."
        assert RUNG.count((conv, 8)) == 1
    finally:
        srv.stop()


async def test_two_tabs_on_one_conversation_see_the_same_turn_and_answer_once(server) -> None:
    async with client(server.ws_url) as a, client(server.ws_url) as b:
        conv = (await a.hello())["conversation_id"]
        cred = a.credential
        assert (await b.hello(**cred))["resumed"] is True
        request = (await a.say("ring 12"))[-1]
        assert (await b.until_end())[-1] == request  # the other tab is asked too
        await b.send(type="user_message", text="meanwhile")
        assert (await b.recv())["code"] == "busy"
        await a.send(type="confirmation_response", id=request["id"], approved=True)
        await b.send(type="confirmation_response", id=request["id"], approved=True)
        for tab in (a, b):
            events = await tab.until_end()
            if events[-1]["type"] == "error":  # the slower answer finds nothing left to answer
                assert events[-1]["code"] == "unknown_confirmation"
                events = await tab.until_end()
            assert last(events, "assistant_message")["text"] == "Done: Rang the bell 12 times."
    assert RUNG.count((conv, 12)) == 1


async def test_typing_no_while_a_confirmation_is_open_declines_it(server) -> None:
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        request = (await c.say("ring 7"))[-1]
        assert request["type"] == "confirmation_request"
        await c.send(type="user_message", text="what time is it")
        assert (await c.recv())["code"] == "busy"  # other words still wait for the card
        events = await c.say("nope, not now")
        assert last(events, "action_finished")["ok"] is False
        assert (conv, 7) not in RUNG
        await c.send(type="confirmation_response", id=request["id"], approved=True)
        assert (await c.recv())["code"] == "unknown_confirmation"  # declined already
