"""Decisions reach the shopper: every open widget of theirs hears of a status change made through
the REST API, in words with the next step, and it is in each conversation's transcript on reload.
And a new conversation asking about a return gets its status (the offline model, verifying first).

The demo store on a real uvicorn server (real knowledge base, offline model, demo orders), the
shopper's widgets as real websocket clients, staff as REST calls with the admin token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.app.settings import Settings
from agent.chat.identity import sign_email
from tests.ws_helpers import Client, client, last

DEMO_NOW = "2026-11-21T17:00:00Z"
ADMIN = {"Authorization": "Bearer demo-admin-token"}
WILL, MAYA = "will.grant@example.com", "maya.chen@example.com"
OFFER = "Would you like me to create the prepaid return label now?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    settings = Settings(data=tmp_path_factory.mktemp("notices"), now=DEMO_NOW)

    def make(port: int) -> Any:
        return build_app(settings.model_copy(update={"port": port}))

    srv = BackgroundServer(make, settings=settings).start(timeout=600)
    yield srv
    srv.stop()


def rest(server: BackgroundServer, method: str, path: str, **body: Any) -> dict[str, Any]:
    response = httpx.request(method, server.http_url + path, json=body or None, headers=ADMIN)
    assert response.status_code < 300, response.text
    return dict(response.json())


def signed(email: str) -> dict[str, str]:
    return {"email": email, "signature": sign_email(email, "willow-and-kiln-demo-secret")}


async def told(c: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decision as a widget receives it: the status result, then the assistant's words."""
    status = await c.recv()
    assert status["type"] == "action_finished" and status["action"] == "get_return_status"
    words = await c.recv()
    assert words["type"] == "assistant_message", words
    return status["result"]["returns"][0], words


async def reload(server: BackgroundServer, ready: dict[str, Any]) -> list[dict[str, Any]]:
    resume = {"conversation_id": ready["conversation_id"]}
    if ready.get("resume_token"):
        resume["resume_token"] = ready["resume_token"]
    async with client(server.ws_url) as again:
        back = await again.hello(**resume, identity=signed(WILL))
        assert back["conversation_id"] == ready["conversation_id"]
        return list(back["transcript"])


async def test_every_open_widget_of_the_shopper_hears_each_decision_and_no_one_else(
    server,
) -> None:
    # Over the $500 review limit: the dinner set waits for staff.
    rma = rest(server, "POST", "/v1/returns", order_id="WK-1022", reason="changed_mind",
               lines=[{"sku": "CER-DIN-SET12"}])  # fmt: skip
    assert rma["status"] == "manual_review"
    async with (
        client(server.ws_url) as first,
        client(server.ws_url) as second,
        client(server.ws_url) as maya,
    ):
        ready_one = await first.hello(identity=signed(WILL))
        ready_two = await second.hello(identity=signed(WILL))
        await maya.hello(identity=signed(MAYA))
        assert ready_one["conversation_id"] != ready_two["conversation_id"]

        rest(server, "PATCH", f"/v1/returns/{rma['id']}", status="approved", note="Looks fine")
        for widget in (first, second):
            item, words = await told(widget)
            assert item["rma_id"] == rma["id"] and item["label_offer"] is True
            assert f"Return {rma['id']}" in words["text"] and "is approved" in words["text"]
            assert words["text"].endswith(OFFER)

        # Maya's widget heard nothing: the next thing it gets is the answer to her own message.
        events = await maya.say("hello")
        assert {e["type"] for e in events} == {"assistant_delta", "assistant_message"}
        assert all(rma["id"] not in e["text"] for e in events)

        # The label step: a yes to the offer in the second conversation makes the label.
        card = (await second.say("yes please"))[-1]
        assert card["type"] == "confirmation_request" and card["action"] == "generate_label"
        events = await second.answer(card["id"], True)
        label = last(events, "action_finished")["result"]
        assert label["label_url"].startswith(server.http_url + "/labels/")

        rest(server, "PATCH", f"/v1/returns/{rma['id']}", status="item_received")
        for widget in (first, second):
            item, words = await told(widget)
            assert item["status"] == "item_received" and "We've received" in words["text"]
        rest(server, "PATCH", f"/v1/returns/{rma['id']}", status="refunded")
        for widget in (first, second):
            item, words = await told(widget)
            assert item["refund"]["amount"] == rma["refund_total"]
            assert "went back to your original payment method" in words["text"]

    for ready in (ready_one, ready_two):
        transcript = await reload(server, ready)
        said = [e["text"] for e in transcript if e["role"] == "assistant"]
        assert any(f"Return {rma['id']}" in t and t.endswith(OFFER) for t in said)
        assert any("We've received" in t for t in said)
        assert any("is refunded" in t for t in said)
        shown = [e for e in transcript if e["role"] == "action"]
        assert {e["action"] for e in shown} >= {"get_return_status"}


async def test_a_rejection_reaches_the_widget_with_the_reason_and_why_gets_it_again(
    server,
) -> None:
    rma = rest(server, "POST", "/v1/returns", order_id="WK-1012", reason="damaged",
               lines=[{"sku": "CER-PLNT-SM", "quantity": 2}])  # fmt: skip
    noah = "noah.fischer@example.com"
    async with client(server.ws_url) as widget:
        await widget.hello(identity=signed(noah))
        note = "The photos show the planters were cracked by frost."
        rest(server, "PATCH", f"/v1/returns/{rma['id']}", status="rejected", note=note)
        item, words = await told(widget)
        assert item["rejection_reason"] == note and "was not approved" in words["text"]
        assert OFFER not in words["text"]
        why = last(await widget.say("why?"), "assistant_message")
        assert "cracked by frost" in why["text"]


async def test_a_new_conversation_asking_about_a_return_verifies_then_gives_its_status(
    server,
) -> None:
    rma = rest(server, "POST", "/v1/returns", order_id="WK-1001", reason="changed_mind",
               lines=[{"sku": "CER-MUG-SAGE"}])  # fmt: skip
    assert rma["status"] == "approved"
    async with client(server.ws_url) as widget:
        await widget.hello()
        asked = last(await widget.say("what's happening with my return?"), "assistant_message")
        assert "order number" in asked["text"] and "email" in asked["text"]
        events = await widget.say(f"WK-1001, {MAYA}")
        ran = [(e["action"], e["ok"]) for e in events if e["type"] == "action_finished"]
        assert ran == [("lookup_order", True), ("get_return_status", True)]
        answer = last(events, "assistant_message")["text"]
        assert f"Return {rma['id']}" in answer and "is approved" in answer
        assert "Sage speckled stoneware mug" in answer
        assert not any(e.get("action") == "create_return_authorization" for e in events)


async def test_a_decision_waits_for_the_turn_under_way_and_keeps_its_calls_together(
    tmp_path,
) -> None:
    """A widget with a confirmation card open hears of the decision after the card is answered:
    the turn's tool call and its result stay together in the transcript."""
    from agent.app.settings import DEMO_STORE
    from tests.ws_helpers import bell_server, bell_settings

    srv = bell_server(bell_settings(tmp_path, messages_per_minute=60, now=DEMO_NOW))
    try:
        srv.app.state.services.store.import_file(DEMO_STORE / "orders.json")
        rma = rest(srv, "POST", "/v1/returns", order_id="WK-1001", reason="damaged",
                   lines=[{"sku": "CER-MUG-SAGE"}])  # fmt: skip
        assert rma["status"] == "manual_review"
        async with client(srv.ws_url) as widget:
            await widget.hello(identity=signed(MAYA))
            card = (await widget.say("ring 2"))[-1]
            assert card["type"] == "confirmation_request"
            rest(srv, "PATCH", f"/v1/returns/{rma['id']}", status="approved")
            turn = await widget.answer(card["id"], True)
            assert [e["type"] for e in turn][-1] == "assistant_message"
            assert not any(e.get("action") == "get_return_status" for e in turn)
            item, words = await told(widget)
            assert item["status"] == "approved" and words["text"].endswith(OFFER)
        async with client(srv.ws_url) as again:
            back = await again.hello(**widget.credential, identity=signed(MAYA))
        roles = [(e["role"], e.get("action")) for e in back["transcript"]]
        bell = roles.index(("action", "ring_bell"))
        status = roles.index(("action", "get_return_status"))
        assert bell < status and ("assistant", None) in roles[bell:status]
        assert all(e.get("ok", True) for e in back["transcript"] if e["role"] == "action")
    finally:
        srv.stop()
