"""The scripted model (tests/scripted_model.py) driven over the real websocket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agent.models.base import ModelReply
from tests.scripted_model import ScriptedModel
from tests.ws_helpers import bell_server, bell_settings, client, last

LONG = "Most items can be returned within thirty days of delivery, unused and in their box [1]."


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    scripted = ScriptedModel("ws")
    yield scripted
    scripted.close()


@pytest.fixture(scope="module")
def server(model: ScriptedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    srv = bell_server(
        bell_settings(tmp_path_factory.mktemp("scripted"), model=model.name, max_rounds=3)
    )
    yield srv
    srv.stop()


async def test_deltas_arrive_in_order_before_the_final_message(server, model) -> None:
    model.reply(LONG)
    async with client(server.ws_url) as c:
        await c.hello()
        events = await c.say("how long do I have to return things?")
    deltas = [e["text"] for e in events if e["type"] == "assistant_delta"]
    assert len(deltas) >= 3
    assert [e["type"] for e in events] == ["assistant_delta"] * len(deltas) + ["assistant_message"]
    assert "".join(deltas) == LONG == events[-1]["text"]
    assert events[-1]["citations"][0]["source"] == "returns.md"


async def test_a_tool_round_trip_shows_the_action_then_the_answer(server, model) -> None:
    model.call("lookup_order", order_id="WK-9999", email="nobody@example.com")
    model.then(lambda messages, tools: ModelReply(text="I could not find that order."))
    async with client(server.ws_url) as c:
        await c.hello()
        events = await c.say("order WK-9999, nobody@example.com")
    kinds = [e["type"] for e in events if e["type"] != "assistant_delta"]
    assert kinds == ["action_started", "action_finished", "assistant_message"]
    assert last(events, "action_finished")["ok"] is False
    assert last(events, "assistant_message")["text"] == "I could not find that order."


async def test_invalid_arguments_and_the_round_limit_end_the_turn_politely(server, model) -> None:
    model.raw_call("lookup_order", "{not json")
    model.endless("unknown_tool")
    async with client(server.ws_url) as c:
        await c.hello()
        events = await c.say("do something odd")
        final = last(events, "assistant_message")
        assert "couldn't finish" in final["text"]
        model.queue.clear()
        model.repeat_last = False
        model.reply("Back to normal.")
        assert last(await c.say("hello?"), "assistant_message")["text"] == "Back to normal."


async def test_a_handoff_marks_the_conversation_for_the_inbox(server, model) -> None:
    model.call("handoff_to_human", reason="The shopper asked for a person.")
    model.reply("A person from the store will join shortly.")
    async with client(server.ws_url) as c:
        conv = (await c.hello())["conversation_id"]
        events = await c.say("can I talk to a human?")
    assert last(events, "handoff")["reason"] == "The shopper asked for a person."
    assert events[-1]["type"] == "assistant_message"
    admin = {"Authorization": "Bearer demo-admin-token"}
    async with httpx.AsyncClient(base_url=server.http_url, headers=admin) as http:
        inbox = (await http.get("/v1/conversations?status=handoff")).json()["conversations"]
        assert [item["id"] for item in inbox] == [conv]
        assert (await http.get("/v1/conversations?status=bogus")).status_code == 400
