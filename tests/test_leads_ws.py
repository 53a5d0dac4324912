"""Lead capture over /ws on a real uvicorn server: the widget form's `lead` event, and the model's
capture_lead call with the shopper's confirmation. The model is scripted; knowledge is canned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actions.builtin.leads import form_consent_text
from actions.store.leads import list_leads
from agent.models.base import ModelReply
from tests.scripted_model import ScriptedModel
from tests.ws_helpers import bell_server, bell_settings, client, last


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    scripted = ScriptedModel("leads")
    yield scripted
    scripted.close()


@pytest.fixture(scope="module")
def server(model: ScriptedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = bell_server(bell_settings(tmp_path_factory.mktemp("leads-ws"), model=model.name))
    yield srv
    srv.stop()


def leads(server: Any, email: str) -> list[Any]:
    return [x for x in list_leads(server.app.state.services.store) if x.email == email]


def notes(server: Any, conv_id: str) -> list[str]:
    store = server.app.state.conversations
    return [m.content["content"] for m in store.messages(conv_id) if m.role == "system-note"]


def relay(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
    import json

    result = json.loads(messages[-1]["content"])
    inner = result.get("result") or result.get("error") or {}
    return ModelReply(text=str(inner.get("message", "")))


async def test_ready_tells_the_widget_the_consent_words_to_show(server) -> None:
    async with client(server.ws_url) as c:
        ready = await c.hello()
    assert ready["lead_form"] == {"consent_text": form_consent_text("Willow & Kiln")}


async def test_form_lead_needs_the_ticked_box_then_saves_once_with_a_note(server) -> None:
    email = "form.shopper@example.com"
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        await c.send(type="lead", email=email, interest="new mugs", consent=False)
        refused = await c.recv()
        assert (refused["type"], refused["code"], refused["about"]) == (
            "error",
            "consent_required",
            "lead",
        )
        assert leads(server, email) == []

        await c.send(type="lead", email=email.upper(), interest="new mugs", consent=True)
        saved = await c.recv()
        assert saved["type"] == "lead_saved" and email in saved["message"]
        await c.send(type="lead", email=email, interest="New  Mugs", consent=True)
        again = await c.recv()
        assert again["type"] == "lead_saved" and "already" in again["message"]
        # The socket is still a chat: nothing about the form touched the conversation's turn.
        assert last(await c.say("still here?"), "assistant_message")
    [lead] = leads(server, email)
    assert (lead.source, lead.conversation_id, lead.interest) == ("widget_form", conv, "New Mugs")
    assert lead.consent and lead.consent_text == form_consent_text("Willow & Kiln")
    assert lead.consented_at.tzinfo is not None
    assert sum("new mugs" in n.lower() and email in n for n in notes(server, conv)) == 2


async def test_bad_lead_frames_get_a_form_error_and_the_socket_stays(server) -> None:
    async with client(server.ws_url) as c:
        await c.send(type="lead", email="early@example.com", interest="", consent=True)
        early = await c.recv()
        assert (early["code"], early["about"]) == ("no_conversation", "lead")
        await c.hello()
        cases = [
            ({"email": "a@example.com", "consent": "yes"}, "invalid_event"),  # strict boolean
            ({"email": "a@example.com"}, "invalid_event"),  # no consent at all
            ({"email": "x" * 400, "consent": True}, "invalid_event"),
            ({"email": "a@example.com", "interest": "y" * 201, "consent": True}, "invalid_event"),
            ({"email": "not-an-email", "consent": True}, "invalid_email"),
            ({"email": "", "consent": True}, "invalid_email"),
        ]
        for fields, code in cases:
            await c.send(type="lead", **fields)
            event = await c.recv()
            assert (event["type"], event["code"], event.get("about")) == ("error", code, "lead")
            assert "Traceback" not in event["message"]
        assert last(await c.say("hello again"), "assistant_message")
    assert leads(server, "a@example.com") == []


async def test_lead_events_have_their_own_rate_limit(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        codes = []
        for n in range(9):  # bell_settings: 8 a minute
            await c.send(type="lead", email=f"r{n}@example.com", interest="x", consent=True)
            codes.append((await c.recv()).get("code"))
        assert codes[:8] == [None] * 8 and codes[8] == "rate_limited"
        # Chat messages have their own budget, untouched by the form.
        assert last(await c.say("a chat message"), "assistant_message")


async def test_model_capture_waits_for_the_shoppers_yes_and_stores_those_words(
    server, model
) -> None:
    email = "chat.shopper@example.com"
    model.call("capture_lead", email=email, interest="restock of the sage mug", consent=True)
    model.then(relay)
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        events = await c.say("tell me when the sage mug is back, chat.shopper@example.com")
        request = events[-1]
        assert request["type"] == "confirmation_request" and request["action"] == "capture_lead"
        assert email in request["summary"]
        assert leads(server, email) == []  # nothing until the shopper says yes
        done = await c.answer(request["id"], True)
    finished = last(done, "action_finished")
    assert finished["ok"] and finished["result"]["source"] == "chat"
    [lead] = leads(server, email)
    assert (lead.source, lead.conversation_id) == ("chat", conv)
    assert lead.consent_text == request["summary"]


async def test_model_claiming_consent_false_is_refused_without_asking(server, model) -> None:
    email = "no.consent@example.com"
    model.call("capture_lead", email=email, interest="sales", consent=False)
    model.then(relay)
    async with client(server.ws_url) as c:
        await c.hello()
        events = await c.say("maybe email me, no.consent@example.com")
    assert "confirmation_request" not in [e["type"] for e in events]
    assert "tick the box" in last(events, "assistant_message")["text"]
    assert leads(server, email) == []
