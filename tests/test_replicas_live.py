"""Two real uvicorn replicas of one store (one PostgreSQL schema, the real Redis, a data directory
each): a conversation's sockets on either replica see every turn, a confirmation can be answered
on either, staff reply from either, and one turn runs at a time across both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.chat.identity import sign_email
from agent.models.base import ModelReply
from tests.console_helpers import sign_in
from tests.replica_helpers import drop_keys, replica, shared
from tests.scripted_model import ScriptedModel
from tests.ws_helpers import SLOW_GATE, Client, bell_server, client, eventually, last

MAYA, ORDER = "maya.chen@example.com", "WK-1001"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    scripted = ScriptedModel("replicas")
    yield scripted
    scripted.close()


def replicas_of(pg_url: str, tmp_path: Path, model_name: str) -> Iterator[tuple[Any, Any]]:
    common = shared(pg_url, model=model_name)
    a = bell_server(replica(tmp_path / "a", common))  # migrates and imports the orders first
    try:
        b = bell_server(replica(tmp_path / "b", common))
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()
        drop_keys(common["redis_prefix"])


@pytest.fixture
def pair(pg_url: str, tmp_path: Path, model: ScriptedModel) -> Iterator[tuple[Any, Any]]:
    model.queue.clear()
    yield from replicas_of(pg_url, tmp_path, model.name)


@pytest.fixture
def bell_pair(pg_url: str, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Replicas whose model holds a `slow …` turn until the test opens SLOW_GATE."""
    yield from replicas_of(pg_url, tmp_path, "belltest/bell")


def relay(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
    result = json.loads(messages[-1]["content"])
    inner = result.get("result") or result.get("error") or {}
    return ModelReply(text=str(inner.get("message", "")))


async def join(c: Client, other: Client) -> None:
    """`c` opens the conversation `other` has (the same shopper's second tab)."""
    ready = await c.hello(**other.credential)
    assert ready["resumed"] is True
    assert ready["conversation_id"] == other.credential["conversation_id"]


async def test_a_second_tab_on_the_other_replica_sees_the_whole_turn_once(pair, model) -> None:
    a, b = pair
    async with client(a.ws_url) as on_a, client(b.ws_url) as on_b:
        await on_a.hello()
        await join(on_b, on_a)
        model.reply("Returns are accepted within 30 days of delivery, in their original box.")
        seen_on_a = await on_a.say("how long do I have to return something?")
        seen_on_b = await on_b.until_end()
        assert last(seen_on_a, "assistant_message")["text"].startswith("Returns are accepted")
        assert [e["type"] for e in seen_on_a].count("assistant_delta") > 1  # it streamed
        assert seen_on_b == seen_on_a  # every event, in order, none twice
        # Nothing else arrives on B: the turn ended, no echo follows.
        await on_b.send(type="user_message", text="thanks")
        model.reply("You're welcome.")
        seen_on_b = await on_b.until_end()
        assert last(seen_on_b, "assistant_message")["text"] == "You're welcome."
        assert await on_a.until_end() == seen_on_b


async def test_a_confirmation_asked_on_a_and_approved_on_b_makes_exactly_one_return(
    pair, model
) -> None:
    a, b = pair
    async with client(a.ws_url) as on_a, client(b.ws_url) as on_b:
        await on_a.hello()
        model.call("lookup_order", order_id=ORDER, email=MAYA).then(relay)
        assert last(await on_a.say(f"order {ORDER}, email {MAYA}"), "action_finished")["ok"]
        await join(on_b, on_a)
        lines = [{"sku": "CER-MUG-SAGE", "quantity": 1}]
        model.call(
            "create_return_authorization",
            order_id=ORDER,
            lines=lines,
            reason="changed_mind",
            resolution="refund",
        ).then(relay)
        asked = (await on_a.say("please return one mug, I changed my mind"))[-1]
        assert asked["type"] == "confirmation_request"
        assert (await on_b.until_end())[-1] == asked  # B shows the same card
        answered_on_b = await on_b.answer(asked["id"], True)
        made = last(answered_on_b, "action_finished")
        assert made["ok"] is True and made["action"] == "create_return_authorization"
        assert await on_a.until_end() == answered_on_b  # both tabs saw it
        # It was A's waiting turn that went on (not a second run of the action on B).
        waiting = a.app.state.sessions.sessions[on_a.credential["conversation_id"]]
        await eventually(lambda: not waiting.busy, "A's turn to end")
        assert not b.app.state.sessions.sessions[on_a.credential["conversation_id"]].busy
    returns = a.app.state.services.workflow.for_customer(MAYA)
    assert [r.id for r in returns if r.order_id == ORDER] == [made["result"]["rma_id"]]


async def test_a_staff_reply_sent_through_b_reaches_the_shopper_on_a(pair, model) -> None:
    a, b = pair
    async with client(a.ws_url) as on_a:
        await on_a.hello()
        model.reply("Let me see.")
        await on_a.say("is anyone there?")
        conv = on_a.credential["conversation_id"]
        with httpx.Client(base_url=b.http_url) as console:
            csrf = sign_in(console, "Priya")  # type: ignore[arg-type]
            response = console.post(
                f"/console/api/conversations/{conv}/reply",
                data={"text": "Hi, Priya from the shop here."},
                headers={"x-csrf-token": csrf, "accept": "application/json"},
            )
            assert response.status_code < 400, response.text
        said = await on_a.recv()
        assert said["type"] == "agent_message" and said["text"] == "Hi, Priya from the shop here."
        assert said["name"] == "Priya"
        # A person owns it now, on A too: the shopper's next message gets no AI turn.
        live = a.app.state.sessions.sessions[conv]
        await eventually(lambda: live.human is True, "A to hear that a person took it over")
        asked_before = len(model.calls)
        await on_a.send(type="user_message", text="great, thanks")
        ack = await on_a.recv()
        assert ack["type"] == "message_received"
        assert len(model.calls) == asked_before


async def test_a_message_on_b_while_a_runs_the_turn_is_busy_and_free_once_it_ends(
    bell_pair,
) -> None:
    a, b = bell_pair
    SLOW_GATE.reset()
    async with client(a.ws_url) as on_a, client(b.ws_url) as on_b:
        await on_a.hello()
        await join(on_b, on_a)
        await on_a.send(type="user_message", text="slow question")
        await SLOW_GATE.wait_started()
        await on_b.send(type="user_message", text="hello?")
        refused = await on_b.recv()
        assert refused["type"] == "error" and refused["code"] == "busy"
        assert "Still working" in refused["message"]
        SLOW_GATE.opened.set()
        assert last(await on_a.until_end(), "assistant_message")
        await on_b.until_end()  # the slow turn's events reach B too

        async def accepted() -> bool:
            await on_b.send(type="user_message", text="hello again")
            return (await on_b.until_end())[-1]["type"] == "assistant_message"

        assert await accepted()  # released at the end of the turn: no lease to wait out


async def test_a_decision_made_on_b_is_told_once_in_the_conversation_open_on_both(
    pair,
) -> None:
    a, b = pair
    admin = {"Authorization": "Bearer demo-admin-token"}
    noah = "noah.fischer@example.com"
    body = {"order_id": "WK-1012", "reason": "damaged",
            "lines": [{"sku": "CER-PLNT-SM", "quantity": 2}]}  # fmt: skip
    async with httpx.AsyncClient(base_url=b.http_url, headers=admin) as rest:
        created = await rest.post("/v1/returns", json=body)
        assert created.status_code < 300, created.text
        rma = created.json()
        identity = {"email": noah, "signature": sign_email(noah, "willow-and-kiln-demo-secret")}
        async with client(a.ws_url) as on_a, client(b.ws_url) as on_b:
            await on_a.hello(identity=identity)
            await join(on_b, on_a)
            note = "The photos show the planters were cracked by frost."
            patched = await rest.patch(
                f"/v1/returns/{rma['id']}", json={"status": "rejected", "note": note}
            )
            assert patched.status_code < 300, patched.text
            for widget in (on_a, on_b):
                status, words = await widget.recv(), await widget.recv()
                assert status["type"] == "action_finished", status
                assert status["result"]["returns"][0]["rejection_reason"] == note
                assert words["type"] == "assistant_message" and "was not approved" in words["text"]
        async with client(a.ws_url) as again:
            transcript = (await again.hello(**on_a.credential))["transcript"]
    told = [m for m in transcript if "was not approved" in (m.get("text") or "")]
    assert len(told) == 1  # stored once, though the conversation was open on both replicas


async def test_the_console_on_a_hears_live_of_a_shopper_writing_on_b(pair, model) -> None:
    a, b = pair
    with httpx.Client(base_url=a.http_url) as signing:
        sign_in(signing, "Priya")  # type: ignore[arg-type]
        cookies = dict(signing.cookies)
    async with (
        httpx.AsyncClient(base_url=a.http_url, cookies=cookies, timeout=30) as console,
        console.stream("GET", "/console/events") as stream,
        client(b.ws_url) as on_b,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith("retry:")  # the stream is open
        await on_b.hello()
        model.reply("Happy to help.")
        await on_b.say("do you ship to Canada?")
        conv = on_b.credential["conversation_id"]
        heard: list[dict[str, Any]] = []
        while not any(e["type"] == "conversation.message" for e in heard):
            line = await asyncio.wait_for(anext(lines), 30)
            if line.startswith("data: "):
                heard.append(json.loads(line[6:]))
        assert {e["conversation_id"] for e in heard} == {conv}
