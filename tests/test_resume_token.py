"""The shopper's credential over a real uvicorn server and real websockets: a conversation id is a
name, the resume token is what resumes, a guest verification expires, and faults leave the
conversation usable. The model is scripted (tests/scripted_model.py); orders are the demo store's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from actions.store.models import WebhookDeliveryRow
from agent.app.settings import DEMO_STORE
from agent.chat.identity import sign_email
from agent.models.base import ModelReply
from tests.console_helpers import PASSWORD
from tests.scripted_model import ScriptedModel
from tests.ws_helpers import RUNG, Client, bell_server, bell_settings, client, last

DEMO_NOW = "2026-11-21T17:00:00Z"  # the demo orders' return windows are open then
MAYA, ORDER, TRACKING = "maya.chen@example.com", "WK-1001", "1Z9W4K01000007919"
MUG = "Sage speckled stoneware mug"
ADMIN = {"Authorization": "Bearer demo-admin-token"}
HIDDEN = "Order details hidden — verify again to see them."


def settings_for(data: Path, model: ScriptedModel) -> Any:
    return bell_settings(
        data,
        model=model.name,
        orders=DEMO_STORE / "orders.json",
        now=DEMO_NOW,
        messages_per_minute=100,
    )


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    scripted = ScriptedModel("cred")
    yield scripted
    scripted.close()


@pytest.fixture(autouse=True)
def fresh_script(model: ScriptedModel) -> None:
    model.queue.clear()
    model.repeat_last = False


@pytest.fixture(scope="module")
def server(model: ScriptedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    srv = bell_server(settings_for(tmp_path_factory.mktemp("cred"), model))
    yield srv
    srv.stop()


def relay(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
    """Words the last action's outcome the way the action put it."""
    result = json.loads(messages[-1]["content"])
    inner = result.get("result") or result.get("error") or {}
    return ModelReply(text=str(inner.get("message", "")))


async def verify_as_maya(c: Client, model: ScriptedModel) -> list[dict[str, Any]]:
    model.call("lookup_order", order_id=ORDER, email=MAYA).then(relay)
    events = await c.say(f"my order is {ORDER}, email {MAYA}")
    assert last(events, "action_finished")["ok"] is True
    return events


async def ask_for_tracking(c: Client, model: ScriptedModel) -> list[dict[str, Any]]:
    model.call("fetch_tracking", order_id=ORDER).then(relay)
    return await c.say("where is my parcel?")


def assert_asked_to_verify(events: list[dict[str, Any]]) -> None:
    finished = last(events, "action_finished")
    assert finished["ok"] is False and finished["result"]["code"] == "identity_required"
    shown = json.dumps(events)
    assert MAYA not in shown and TRACKING not in shown and MUG not in shown


# ---- resume by token -------------------------------------------------------------------------
async def test_a_verified_conversations_id_without_its_token_resumes_nothing_and_cannot_act(
    server, model
) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        await verify_as_maya(c, model)
        conv = c.credential["conversation_id"]
    wrong = "A" * 43
    for probe in ({"conversation_id": conv}, {"conversation_id": conv, "resume_token": wrong}):
        async with client(server.ws_url) as attacker:
            ready = await attacker.hello(**probe)
            assert ready["conversation_id"] != conv
            assert ready["transcript"] == [] and ready["verified"] is False
            assert ready["resumed"] is False and "not found" in ready["notice"]
            assert_asked_to_verify(await ask_for_tracking(attacker, model))


async def test_the_token_resumes_and_a_rotated_token_no_longer_does(server, model) -> None:
    async with client(server.ws_url) as c:
        before = (await c.hello())["resume_token"]
        rotated = last(await verify_as_maya(c, model), "session")
        assert rotated["verified"] is True and rotated["resume_token"] != before
        credential = dict(c.credential)
    assert credential["resume_token"] == rotated["resume_token"]
    assert len(before) >= 43  # 256 bits, url-safe base64
    async with client(server.ws_url) as c:
        ready = await c.hello(**credential)
        assert ready["conversation_id"] == credential["conversation_id"]
        assert ready["resumed"] is True and ready["verified"] is True
        assert ready["resume_token"] == credential["resume_token"]
        assert MUG in json.dumps(ready["transcript"])
        events = await ask_for_tracking(c, model)
        assert last(events, "action_finished")["ok"] is True
    async with client(server.ws_url) as c:
        stale = await c.hello(conversation_id=credential["conversation_id"], resume_token=before)
    assert stale["conversation_id"] != credential["conversation_id"]
    assert stale["transcript"] == [] and stale["verified"] is False


async def test_the_token_never_travels_in_webhooks_the_admin_api_the_console_or_logs(
    server, model, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    services = server.app.state.services
    services.webhooks.subscribe("http://127.0.0.1:9/hook", ["*"])
    async with client(server.ws_url) as c:
        tokens = [(await c.hello())["resume_token"]]
        tokens.append(last(await verify_as_maya(c, model), "session")["resume_token"])
        model.call("handoff_to_human", reason="The shopper asked for a person.")
        model.reply("A person from the store will join shortly.")
        assert last(await c.say("can I talk to a person?"), "handoff")
        conv = c.credential["conversation_id"]

    with services.store.reading() as s:  # the exact bodies the sender signs and posts
        bodies = s.scalars(sa.select(WebhookDeliveryRow.body)).all()
    seen = {"webhooks": "\n".join(bodies)}
    async with httpx.AsyncClient(base_url=server.http_url, headers=ADMIN) as http:
        seen["admin one"] = (await http.get(f"/v1/conversations/{conv}")).text
        seen["admin list"] = (await http.get("/v1/conversations?limit=200")).text
    with httpx.Client(base_url=server.http_url) as console:
        form = console.get("/console/login").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        data = {"csrf": csrf, "name": "Sam", "password": PASSWORD}
        assert console.post("/console/login", data=data).status_code == 303
        for path in ("/console", f"/console/c/{conv}", f"/console/api/conversations/{conv}"):
            page = console.get(path)
            assert page.status_code == 200, path
            seen[path] = page.text
    seen["logs"] = caplog.text
    assert (
        conv in seen["webhooks"]
        and conv in seen["admin one"]
        and conv in seen[f"/console/c/{conv}"]
    )
    for where, text in seen.items():
        for token in tokens:
            assert token not in text, where
    # Stored only as its sha256: the database cannot hand it out either.
    engine = server.app.state.conversations.engine
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT resume_token_hash FROM agent_conversations WHERE id = :id"),
            {"id": conv},
        ).one()
    assert row[0] == hashlib.sha256(tokens[-1].encode()).hexdigest()


# ---- verification that expires ---------------------------------------------------------------
async def test_after_idle_minutes_a_resume_hides_order_data_and_identity_actions_ask_again(
    server, model
) -> None:
    clock = server.app.state.settings.clock
    async with client(server.ws_url) as c:
        await c.hello()
        await verify_as_maya(c, model)
        credential = dict(c.credential)
    clock.advance(timedelta(minutes=31))  # the next person at the shared computer
    async with client(server.ws_url) as c:
        ready = await c.hello(**credential)
        assert ready["conversation_id"] == credential["conversation_id"]
        assert ready["resumed"] is True and ready["verified"] is False
        assert "order details are hidden" in ready["notice"]
        assert ready["resume_token"] != credential["resume_token"]
        shown = json.dumps(ready["transcript"], ensure_ascii=False)
        assert HIDDEN in shown and MUG not in shown and MAYA not in shown
        events = await ask_for_tracking(c, model)
        assert_asked_to_verify(events)
        told_the_model = json.dumps(model.calls[-1]["messages"], ensure_ascii=False)
        assert MUG not in told_the_model and MAYA not in told_the_model
    async with client(server.ws_url) as c:  # the token from before the expiry is spent
        again = await c.hello(**credential)
    assert again["conversation_id"] != credential["conversation_id"]


async def test_an_open_chat_left_idle_ends_its_verification_before_the_next_message(
    server, model
) -> None:
    clock = server.app.state.settings.clock
    async with client(server.ws_url) as c:
        await c.hello()
        await verify_as_maya(c, model)
        clock.advance(timedelta(minutes=45))
        events = await ask_for_tracking(c, model)
        assert events[0]["type"] == "session" and events[0]["verified"] is False
        assert_asked_to_verify(events)
        # Verifying again works, and shows the order again.
        events = await verify_as_maya(c, model)
        assert last(events, "session")["verified"] is True
        assert MUG in json.dumps(events, ensure_ascii=False)


async def test_a_signed_in_shopper_is_not_signed_out_by_idle_time(server, model) -> None:
    secret = server.app.state.settings.secret
    identity = {"email": MAYA, "signature": sign_email(MAYA, secret)}
    async with client(server.ws_url) as c:
        assert (await c.hello(identity=identity))["verified"] is True
        credential = dict(c.credential)
    server.app.state.settings.clock.advance(timedelta(hours=2))
    async with client(server.ws_url) as c:
        ready = await c.hello(**credential, identity=identity)
        assert ready["resumed"] is True and ready["verified"] is True and "notice" not in ready
        assert last(await ask_for_tracking(c, model), "action_finished")["ok"] is True


async def test_starting_over_drops_the_verified_conversation(server, model) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        await verify_as_maya(c, model)
        conv = c.credential["conversation_id"]
    async with client(server.ws_url) as c:  # "Start over": a hello without the id or token
        ready = await c.hello()
        assert ready["conversation_id"] != conv and ready["verified"] is False
        assert_asked_to_verify(await ask_for_tracking(c, model))


# ---- faults ----------------------------------------------------------------------------------
async def test_a_failed_write_of_an_approval_leaves_the_same_card_answerable(
    server, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = server.app.state.conversations
    real = store.resolve_confirmation
    failed: list[str] = []

    def fails_once(confirmation_id: str, status: str) -> bool:
        if not failed:
            failed.append(confirmation_id)
            raise sa.exc.OperationalError("UPDATE agent_confirmations", {}, OSError("disk I/O"))
        return real(confirmation_id, status)

    model.call("ring_bell", times=3).then(relay)
    async with client(server.ws_url) as c:
        await c.hello()
        conv = c.credential["conversation_id"]
        request = (await c.say("ring the bell three times"))[-1]
        assert request["type"] == "confirmation_request"
        monkeypatch.setattr(store, "resolve_confirmation", fails_once)
        error = (await c.answer(request["id"], True))[-1]
        assert error["type"] == "error" and error["code"] == "answer_not_saved"
        assert "answer it again" in error["message"] and "saved" not in error["message"][-40:]
        assert (conv, 3) not in RUNG
        events = await c.answer(request["id"], True)
        assert last(events, "action_finished")["ok"] is True
        assert last(events, "assistant_message")["text"] == "Rang the bell 3 times."
        assert RUNG.count((conv, 3)) == 1
        model.reply("Anything else?")
        assert (await c.say("thanks"))[-1]["text"] == "Anything else?"  # no busy wedge


async def test_a_return_made_just_before_a_crash_is_shown_when_the_shopper_comes_back(
    tmp_path: Path, model
) -> None:
    settings = settings_for(tmp_path, model)
    srv = bell_server(settings)
    try:
        store = srv.app.state.conversations
        real_append = store.append

        def dies_before_the_result(conv_id: str, role: str, content: dict, citations=None):
            if role == "tool" and content.get("name") == "create_return_authorization":
                raise RuntimeError("the process died here: nothing after the action is stored")
            return real_append(conv_id, role, content, citations)

        store.append = dies_before_the_result
        async with client(srv.ws_url) as c:
            await c.hello()
            await verify_as_maya(c, model)
            line = {"sku": "CER-MUG-SAGE", "quantity": 1}
            model.call(
                "create_return_authorization",
                order_id=ORDER,
                lines=[line],
                reason="changed_mind",
                resolution="refund",
            )
            request = (await c.say("please return one mug, I changed my mind"))[-1]
            assert request["type"] == "confirmation_request"
            events = await c.answer(request["id"], True)
            rma = last(events, "action_finished")["result"]["rma_id"]
            assert events[-1]["type"] == "error"
            credential = dict(c.credential)
    finally:
        srv.stop()

    srv = bell_server(settings)  # a new server process over the same data directory
    try:
        async with client(srv.ws_url) as c:
            ready = await c.hello(**credential)
        assert ready["resumed"] is True
        made = [e for e in ready["transcript"] if e.get("action") == "create_return_authorization"]
        assert made and made[-1]["ok"] is True
        shown = made[-1]["result"]["result"]  # as stored results are shown: {ok, result}
        assert shown["rma_id"] == rma and "prepaid return label" in shown["message"]
        returns = srv.app.state.services.workflow.for_customer(MAYA)
        assert [r.id for r in returns if r.order_id == ORDER] == [rma]  # the same one, not two
    finally:
        srv.stop()


async def test_an_error_says_the_message_is_saved_only_when_it_was(
    server, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = server.app.state.conversations
    real_append, real_shown = store.append, store.shown_messages
    faults = {"append": 0, "load": 0}

    def append(conv_id: str, role: str, content: dict, citations=None):
        if role == "user" and faults["append"]:
            faults["append"] -= 1
            raise sa.exc.OperationalError("INSERT INTO agent_messages", {}, OSError("disk full"))
        return real_append(conv_id, role, content, citations)

    def shown_messages(conv_id: str, hidden: frozenset[str]):
        if faults["load"]:
            faults["load"] -= 1
            raise sa.exc.OperationalError("SELECT", {}, OSError("disk I/O"))
        return real_shown(conv_id, hidden)

    monkeypatch.setattr(store, "append", append)
    monkeypatch.setattr(store, "shown_messages", shown_messages)
    async with client(server.ws_url) as c:
        faults["load"] = 1  # the transcript cannot be read: no ready, and hello may be sent again
        assert (await c.hello())["code"] == "internal_error"
        assert (await c.hello())["type"] == "ready"
        faults.update(append=1, load=1)  # the next message is not stored; the one after it is
        lost = (await c.say("first try"))[-1]
        assert lost["code"] == "internal_error" and "saved" not in lost["message"]
        kept = (await c.say("second try"))[-1]
        assert kept["code"] == "internal_error" and "Your message is saved" in kept["message"]
        model.reply("Here I am.")
        assert (await c.say("third try"))[-1]["text"] == "Here I am."
        credential = dict(c.credential)
    async with client(server.ws_url) as c:
        ready = await c.hello(**credential)
    said = [e["text"] for e in ready["transcript"] if e["role"] == "user"]
    assert said == ["second try", "third try"]
