"""The console's guard rails over HTTP: nothing without a session, CSRF on every change, sign-out
kills the session, rate-limited sign-in; handoff webhooks, old `handoff` rows, business hours."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from console_helpers import sign_in
from starlette.testclient import TestClient

from actions.clock import Clock
from agent.app.server import build_app
from agent.app.settings import Settings
from agent.console.inbox import InboxStore, within_business_hours
from agent.store.conversations import ConversationStore

DEMO_KB = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "knowledge"


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TestClient]]:
    data = tmp_path_factory.mktemp("console-api")
    app = build_app(Settings(data=data, kb=DEMO_KB, now="2026-11-21T17:00:00Z"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield app, client


def handed_off(client: TestClient) -> str:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
        conv = ws.receive_json()["conversation_id"]
        ws.send_json({"type": "user_message", "text": "can I talk to a human?"})
        while ws.receive_json()["type"] != "assistant_message":
            pass
    return conv


PAGES = ["/console", "/console/returns", "/console/c/abc"]
API_GET = ["/console/api/conversations", "/console/api/conversations/abc", "/console/events"]
API_POST = [
    "/console/api/conversations/abc/reply",
    "/console/api/conversations/abc/assign",
    "/console/api/conversations/abc/resolve",
    "/console/api/conversations/abc/handback",
    "/console/api/conversations/abc/note",
    "/console/api/conversations/abc/tags",
    "/console/api/returns/RMA-ABCDEF/approve",
    "/console/api/returns/RMA-ABCDEF/reject",
    "/console/logout",
]


def test_without_signing_in_every_console_page_and_call_is_refused(app_client) -> None:
    _app, client = app_client
    client.cookies.clear()
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"
    for path in API_GET:
        assert client.get(path).status_code == 401, path
    for path in API_POST:
        assert client.post(path, data={"text": "hi"}).status_code == 401, path
    client.cookies.set("shopdesk_staff", "made-up-session", path="/console")
    assert client.get("/console/api/conversations").status_code == 401
    client.cookies.clear()


def test_a_forged_csrf_token_is_refused_and_the_real_one_works(app_client) -> None:
    _app, client = app_client
    conv = handed_off(client)
    csrf = sign_in(client)
    url = f"/console/api/conversations/{conv}/note"
    json_accept = {"accept": "application/json"}
    assert client.post(url, data={"text": "x"}, headers=json_accept).status_code == 403
    forged = {"x-csrf-token": "forged" + csrf[6:], **json_accept}
    assert client.post(url, data={"text": "x"}, headers=forged).status_code == 403
    real = {"x-csrf-token": csrf, **json_accept}
    assert client.post(url, data={"text": "Called her back"}, headers=real).status_code == 200
    detail = client.get(f"/console/api/conversations/{conv}").json()["conversation"]
    assert detail["notes"][0]["text"] == "Called her back"
    client.cookies.clear()


def test_a_staff_session_cannot_be_reused_after_sign_out(app_client) -> None:
    _app, client = app_client
    csrf = sign_in(client)
    cookie = client.cookies.get("shopdesk_staff")
    assert client.get("/console/api/conversations").status_code == 200
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("shopdesk_staff", cookie, path="/console")  # a copied cookie
    assert client.get("/console/api/conversations").status_code == 401
    assert client.get("/console", follow_redirects=False).status_code == 303
    client.cookies.clear()


def test_sign_in_is_rate_limited(app_client) -> None:
    app, client = app_client
    page = client.get("/console/login")
    codes = []
    for i in range(7):
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        page = client.post(
            "/console/login", data={"csrf": token, "name": "x", "password": f"guess-{i}"}
        )
        codes.append(page.status_code)
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    app.state.staff_auth._failures.clear()  # the other tests sign in from the same client
    client.cookies.clear()


def test_handoff_and_resolve_fire_conversation_webhooks(app_client) -> None:
    app, client = app_client
    services = app.state.services
    services.webhooks.subscribe("http://127.0.0.1:9/hook", ["*"])
    conv = handed_off(client)
    csrf = sign_in(client)
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    listed = client.get("/console/api/conversations?status=pending").json()["conversations"]
    assert conv in [c["id"] for c in listed]
    assert client.post(f"/console/api/conversations/{conv}/resolve", headers=headers).is_success
    events = [d["event"] for d in services.webhooks.deliveries()]
    assert "conversation.handoff" in events and "conversation.resolved" in events
    client.cookies.clear()


def test_old_handoff_rows_read_as_pending(tmp_path: Path) -> None:
    store = ConversationStore(
        f"sqlite:///{tmp_path / 'c.db'}", clock=Clock(datetime(2026, 11, 21, 17, tzinfo=UTC))
    )
    store.migrate()
    record = store.create()
    with store.engine.begin() as conn:  # a row as the pre-console server wrote it
        conn.execute(sa.text("UPDATE agent_conversations SET status = 'handoff'"))
    assert store.get(record.id).status == "pending"
    assert [i.id for i in InboxStore(store).list(status="pending")] == [record.id]
    store.close()


def test_business_hours_decide_whether_to_ask_for_an_email() -> None:
    settings = Settings()
    assert within_business_hours(settings, datetime(2026, 11, 21, 17, tzinfo=UTC))  # Sat noon NY
    assert not within_business_hours(settings, datetime(2026, 11, 22, 17, tzinfo=UTC))  # Sunday
    assert not within_business_hours(settings, datetime(2026, 11, 21, 3, tzinfo=UTC))  # 10pm NY


def test_staff_reject_a_large_refund_with_a_reason_the_shopper_sees(app_client) -> None:
    app, client = app_client
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
        ws.receive_json()

        def say(text: str) -> list[dict[str, Any]]:
            ws.send_json({"type": "user_message", "text": text})
            events = []
            while True:
                event = ws.receive_json()
                events.append(event)
                if event["type"] == "confirmation_request":
                    ws.send_json(
                        {"type": "confirmation_response", "id": event["id"], "approved": True}
                    )
                if event["type"] in {"assistant_message", "error"}:
                    return events

        say("I want to return the dinner set from my order")
        say("It's WK-1022, will.grant@example.com")
        say("I changed my mind")
        events = say("Yes please")
        created = [e for e in events if e.get("action") == "create_return_authorization"]
        rma = created[-1]["result"]["rma_id"]
        assert created[-1]["result"]["status"] == "manual_review"

        csrf = sign_in(client)
        headers = {"x-csrf-token": csrf, "accept": "application/json"}
        queue = client.get("/console/returns").text
        assert rma in queue and "over the $500.00 review limit" in queue
        url = f"/console/api/returns/{rma}/reject"
        assert client.post(url, data={"reason": ""}, headers=headers).status_code == 422
        reason = "Dinner sets can only be returned unopened."
        response = client.post(url, data={"reason": reason}, headers=headers)
        assert response.status_code == 200 and response.json()["rma"]["status"] == "rejected"
        # The decision reaches the open widget as the assistant's words, with the stored reason.
        status = ws.receive_json()
        assert status["type"] == "action_finished" and status["action"] == "get_return_status"
        told = ws.receive_json()
        assert told["type"] == "assistant_message" and reason.rstrip(".") in told["text"]
        assert rma in told["text"] and "not approved" in told["text"]
    assert app.state.services.workflow.get(rma).note == reason
    assert client.post(url, data={"reason": reason}, headers=headers).status_code == 409
    client.cookies.clear()


def _return_over_the_limit(client) -> str:
    """A shopper asks for a return that needs a staff review; the conversation's id."""
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
        conv = ws.receive_json()["conversation_id"]
        for text in (
            "I want to return the dinner set from my order",
            "It's WK-1022, will.grant@example.com",
            "I changed my mind",
            "Yes please",
        ):
            ws.send_json({"type": "user_message", "text": text})
            while True:
                event = ws.receive_json()
                if event["type"] == "confirmation_request":
                    ws.send_json(
                        {"type": "confirmation_response", "id": event["id"], "approved": True}
                    )
                if event["type"] in {"assistant_message", "error"}:
                    break
    return conv


def test_return_reasons_and_statuses_are_shown_in_words_in_the_returns_queue(app_client) -> None:
    _, client = app_client
    _return_over_the_limit(client)
    sign_in(client)
    queue = client.get("/console/returns").text
    assert "changed their mind" in queue
    assert "Reason: <strong>changed_mind" not in queue
    client.cookies.clear()


def test_an_action_result_is_a_readable_summary_with_the_json_behind_a_toggle(app_client) -> None:
    _, client = app_client
    conv = _return_over_the_limit(client)
    sign_in(client)
    page = client.get(f"/console/c/{conv}").text
    assert "<details><summary>Details (JSON)</summary><pre>" in page
    summaries = [part.split("</ul>")[0] for part in page.split('class="act-summary"')[1:]]
    assert summaries and all("{" not in line and "_" not in line for line in summaries)
    assert any("Order WK-1022" in line for line in summaries)
    client.cookies.clear()
