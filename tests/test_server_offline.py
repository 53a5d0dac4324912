"""The demo store end to end: real knowledge base, offline model, demo orders, real uvicorn + websocket.

One server for the module (loading the embedding model and indexing is the cost). The clock is the
demo date, so the return windows in examples/demo-store/orders.json mean what the README says.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.app.settings import Settings
from tests.ws_helpers import client, last

DEMO_NOW = "2026-11-21T17:00:00Z"  # /tmp/shopdesk/demo-orders.md


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    settings = Settings(data=tmp_path_factory.mktemp("offline"), now=DEMO_NOW)

    def make(port: int):
        return build_app(settings.model_copy(update={"port": port}))

    srv = BackgroundServer(make, settings=settings).start(timeout=600)
    yield srv
    srv.stop()


def _actions(events: list[dict]) -> list[tuple[str, bool]]:
    return [(e["action"], e["ok"]) for e in events if e["type"] == "action_finished"]


async def test_a_policy_question_is_answered_with_a_citation(server) -> None:
    # Demo conversation 1 (/tmp/shopdesk/demo-conversations.md, README).
    async with client(server.ws_url) as c:
        await c.hello()
        answer = last(await c.say("Can I return an engraved mug?"), "assistant_message")
        assert "final sale" in answer["text"] and "[1]" in answer["text"]
        assert answer["citations"][0]["source"] == "personalised.md"
        assert answer["citations"][0]["heading"].startswith("Personalised")

        refunds = last(await c.say("How long do refunds take?"), "assistant_message")
        assert refunds["citations"][0]["source"] == "refunds.md"

        cars = last(await c.say("Do you sell cars?"), "assistant_message")
        assert "don't know" in cars["text"] and cars["citations"] == []


async def test_a_full_return_from_question_to_tracking(server) -> None:
    # Demo conversation 2, typed as a shopper would.
    async with client(server.ws_url) as c:
        await c.hello()
        reply = last(await c.say("Hi! I want to return the mug from my order"), "assistant_message")
        assert "order number" in reply["text"] and "email" in reply["text"]

        events = await c.say("It's WK-1001, maya.chen@example.com")
        assert _actions(events) == [("lookup_order", True)]
        assert "why" in last(events, "assistant_message")["text"].lower()

        events = await c.say("I changed my mind, it doesn't go with my kitchen")
        assert _actions(events) == [("check_eligibility", True)]
        assert "$34.00" in last(events, "assistant_message")["text"]

        request = (await c.say("Yes please"))[-1]
        assert request["type"] == "confirmation_request"
        assert request["action"] == "create_return_authorization"
        assert request["summary"].startswith("Return 1 × Sage speckled stoneware mug from WK-1001")
        assert "$34.00" in request["summary"]

        events = await c.answer(request["id"], True)
        assert _actions(events) == [("create_return_authorization", True)]
        rma = last(events, "action_finished")["result"]["rma_id"]
        label_request = events[-1]
        assert label_request["type"] == "confirmation_request", events
        assert label_request["action"] == "generate_label"
        assert label_request["arguments"]["rma_id"] == rma

        events = await c.answer(label_request["id"], True)
        label = last(events, "action_finished")["result"]
        assert label["rma_id"] == rma and label["label_url"].startswith(server.http_url)
        final = last(events, "assistant_message")["text"]
        assert rma in final and label["label_url"] in final

        events = await c.say("Where is my parcel?")
        tracking = last(events, "action_finished")
        assert tracking["action"] == "fetch_tracking" and tracking["ok"]
        assert label["tracking_number"] in last(events, "assistant_message")["text"]

    async with httpx.AsyncClient() as http:
        pdf = await http.get(label["label_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    workflow = server.app.state.services.workflow
    assert [r.id for r in workflow.for_customer("maya.chen@example.com")] == [rma]


async def test_a_declined_confirmation_creates_nothing(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        await c.say("I want to return the print from order WK-1003")
        await c.say("priya.raman@example.com")
        await c.say("I changed my mind")
        request = (await c.say("yes"))[-1]
        assert request["action"] == "create_return_authorization"
        events = await c.answer(request["id"], False)
    assert _actions(events) == [("create_return_authorization", False)]
    assert "action_started" not in [e["type"] for e in events]
    assert server.app.state.services.workflow.for_customer("priya.raman@example.com") == []


async def test_a_personalised_items_change_of_mind_return_is_refused_with_the_reason(
    server,
) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        await c.say("I'd like to return the engraved mug from order WK-1002")
        await c.say("d.okafor@example.com")
        events = await c.say("I changed my mind")
    check = last(events, "action_finished")
    assert check["action"] == "check_eligibility"
    line = check["result"]["lines"][0]
    assert line["eligible"] is False and line["sku"] == "CER-MUG-ENGR"
    answer = last(events, "assistant_message")["text"].lower()
    assert "personalised" in answer or "personalized" in answer or "final sale" in answer
    assert "confirmation_request" not in [e["type"] for e in events]
    assert server.app.state.services.workflow.for_customer("d.okafor@example.com") == []


async def test_a_strangers_order_is_not_found(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        events = await c.say("Where is my order WK-1009? maya.chen@example.com")  # Hannah's order
    lookup = last(events, "action_finished")
    assert lookup["action"] == "lookup_order" and lookup["ok"] is False
    text = last(events, "assistant_message")["text"]
    assert "couldn't find an order with that number for that email address" in text
    assert "hannah" not in text.lower() and "vase" not in text.lower()


async def test_the_transcript_of_a_return_survives_a_reconnect(server) -> None:
    async with client(server.ws_url) as c:
        await c.hello()
        cred = c.credential
        await c.say("How long do I have to return something?")
        await c.say("I'd like to return the cereal bowl from order WK-1011")
    async with client(server.ws_url) as c:
        ready = await c.hello(**cred)
    roles = [e["role"] for e in ready["transcript"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert ready["transcript"][1]["citations"]
