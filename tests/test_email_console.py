"""Emails from the running app: staff decisions in the console and status changes over REST queue
the right email in their own transaction; the console's outbox lists and shows what was sent; a
bounce shows on the returns page; a reply after hours goes to the email the shopper left."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import sign_in
from email_helpers import TEAM, Sink, html_of, start_smtp, text_of
from starlette.testclient import TestClient

from actions.store.models import EmailMessageRow
from agent.app.server import build_app
from agent.app.settings import Settings

DEMO_KB = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "knowledge"
ADMIN = {"Authorization": "Bearer demo-admin-token"}
MAYA = "maya.chen@example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[Sink]:
    sink = Sink()
    controller = start_smtp(sink)
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def app_client(
    tmp_path_factory: pytest.TempPathFactory, smtp: Sink
) -> Iterator[tuple[Any, TestClient]]:
    data = tmp_path_factory.mktemp("email-console")
    settings = Settings(
        data=data, kb=DEMO_KB, now="2026-11-21T17:00:00Z", fulfilment_email=TEAM,
        smtp_url=f"smtp://127.0.0.1:{smtp.port}",
    )  # fmt: skip
    app = build_app(settings)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield app, client


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll for something the app's own email loop does; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return found


def outbox_events(app: Any, rma_id: str) -> list[str]:
    with app.state.services.store.reading() as s:
        found = (
            s.query(EmailMessageRow).filter_by(rma_id=rma_id).order_by(EmailMessageRow.created_at)
        )
        return [row.event for row in found.all()]


def create(client: TestClient, order: str, sku: str, reason: str) -> dict[str, Any]:
    body = {"order_id": order, "lines": [{"sku": sku, "quantity": 1}], "reason": reason}
    response = client.post("/v1/returns", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


def mail(smtp: Sink, to: str, subject: str) -> Any:
    return wait_for(
        lambda: next((m for m in smtp.to(to) if subject in str(m["Subject"])), None),
        f"the email “{subject}” to {to}",
    )


def test_console_approval_emails_the_shopper_the_label(
    app_client: tuple[Any, TestClient], smtp: Sink
) -> None:
    app, client = app_client
    rma = create(client, "WK-1001", "CER-PLT-SAGE", "damaged")["id"]
    assert outbox_events(app, rma) == ["return_in_review", "fulfilment_new_return"]
    csrf = sign_in(client)
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    response = client.post(f"/console/api/returns/{rma}/approve", headers=headers)
    assert response.status_code == 200
    assert outbox_events(app, rma)[-1] == "return_approved"  # committed with the approval
    message = mail(smtp, MAYA, f"Your return {rma} is approved")
    [label] = list(message.iter_attachments())
    assert label.get_filename() == f"return-label-{rma}.pdf"
    assert label.get_payload(decode=True).startswith(b"%PDF")
    assert "/labels/" in text_of(message)
    client.cookies.clear()


def test_console_rejection_emails_the_reason(
    app_client: tuple[Any, TestClient], smtp: Sink
) -> None:
    app, client = app_client
    rma = create(client, "WK-1003", "PRT-HERON-A3", "damaged")["id"]
    csrf = sign_in(client)
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    reason = "The print's corner crease is in our dispatch photo <i>before</i> it shipped."
    response = client.post(f"/console/api/returns/{rma}/reject", data={"reason": reason}, headers=headers)  # fmt: skip
    assert response.status_code == 200
    message = mail(smtp, "priya.raman@example.com", "we can't accept it")
    assert f"The reason: {reason}" in text_of(message)
    assert "&lt;i&gt;before&lt;/i&gt;" in html_of(message)
    client.cookies.clear()


def test_rest_status_changes_email_the_shopper_and_a_refused_change_emails_nothing(
    app_client: tuple[Any, TestClient], smtp: Sink
) -> None:
    app, client = app_client
    rma = create(client, "WK-1011", "CER-BWL-CEREAL", "changed_mind")
    assert rma["status"] == "approved"
    assert outbox_events(app, rma["id"]) == ["return_requested", "return_approved", "fulfilment_new_return"]  # fmt: skip
    url = f"/v1/returns/{rma['id']}"
    assert client.patch(url, json={"status": "item_received"}, headers=ADMIN).status_code == 200
    assert outbox_events(app, rma["id"])[-1] == "item_received"
    assert client.patch(url, json={"status": "refunded"}, headers=ADMIN).status_code == 200
    assert outbox_events(app, rma["id"])[-1] == "refunded"
    before = outbox_events(app, rma["id"])
    refused = client.patch(url, json={"status": "approved"}, headers=ADMIN)
    assert refused.status_code == 409
    assert outbox_events(app, rma["id"]) == before
    refund = mail(smtp, "grace.kim@example.com", "Your refund")
    assert "5 to 10 business days" in text_of(refund)
    team = mail(smtp, TEAM, f"New return {rma['id']}")
    assert "grace.kim@example.com" in text_of(team)


def test_the_outbox_page_lists_every_email_and_shows_one_as_sent(
    app_client: tuple[Any, TestClient], smtp: Sink
) -> None:
    app, client = app_client
    assert client.get("/console/outbox", follow_redirects=False).status_code == 303
    rma = create(client, "WK-1012", "CER-PLNT-SM", "changed_mind")["id"]
    outbox = app.state.services.email
    wait_for(lambda: all(m.status == "sent" for m in outbox.messages() if m.rma_id == rma), "sent")
    sign_in(client)
    page = client.get("/console/outbox").text
    assert "Outbox" in page and "noah.fischer@example.com" in page
    assert f"Your return {rma} is approved" in page and "return approved" in page
    assert re.search(r'mail-status sent">sent<', page)
    approved = next(
        m for m in outbox.messages() if m.rma_id == rma and m.event == "return_approved"
    )
    view = client.get(f"/console/outbox/{approved.id}").text
    assert "noah.fischer@example.com" in view and "Message-ID" in view
    assert f"return-label-{rma}.pdf" in view and 'sandbox=""' in view and "srcdoc=" in view
    assert "<script" not in view.split("srcdoc=")[1].split(">")[0]  # the HTML part stays inert
    assert client.get("/console/outbox/eml_nope").status_code == 404
    client.cookies.clear()


def test_a_bounced_email_shows_on_the_returns_page_in_words(
    app_client: tuple[Any, TestClient], smtp: Sink
) -> None:
    app, client = app_client
    smtp.refuse = "550 5.1.1 <d.okafor@example.com>: Recipient address rejected: User unknown"
    try:
        rma = create(client, "WK-1002", "CER-MUG-SAGE", "damaged")["id"]
        outbox = app.state.services.email
        wait_for(lambda: outbox.bounces([rma]), "the bounce")
    finally:
        smtp.refuse = None
    sign_in(client)
    queue = client.get("/console/returns").text
    card = queue.split(f'data-rma="{rma}"')[1].split('class="buttons"')[0]
    assert "email bounced: the address does not exist" in card and "User unknown" in card
    listed = queue.split("Emails that bounced")[1]
    assert rma in listed and "d.okafor@example.com" in listed and "return in review" in listed
    assert "email bounced: the address does not exist" in client.get("/console/outbox").text
    client.cookies.clear()


def test_a_staff_reply_reaches_the_follow_up_email_when_the_shopper_has_left(
    app_client: tuple[Any, TestClient], smtp: Sink
) -> None:
    app, client = app_client
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
        conv = ws.receive_json()["conversation_id"]
        ws.send_json({"type": "user_message", "text": "can I talk to a human?"})
        while ws.receive_json()["type"] != "assistant_message":
            pass
        ws.send_json({"type": "user_message", "text": "I have to go, email me at sam.rivers@example.com"})  # fmt: skip
        while (event := ws.receive_json())["type"] != "message_received":
            pass
        assert "sam.rivers@example.com" in (event.get("notice") or "")
        csrf = sign_in(client)
        headers = {"x-csrf-token": csrf, "accept": "application/json"}
        url = f"/console/api/conversations/{conv}/reply"
        assert client.post(url, data={"text": "Still here?"}, headers=headers).status_code == 200
        assert ws.receive_json()["type"] == "agent_message"  # seen live: no email for this one
    sessions = app.state.sessions.sessions
    wait_for(lambda: conv not in sessions or not sessions[conv].sockets, "the widget to close")
    reply = "Yes, the <b>oak</b> bench comes in two lengths & we can hold one for you."
    assert client.post(url, data={"text": reply}, headers=headers).status_code == 200
    message = mail(smtp, "sam.rivers@example.com", "A reply from Willow & Kiln")
    assert reply in text_of(message) and "Sam" in text_of(message)
    assert "&lt;b&gt;oak&lt;/b&gt;" in html_of(message) and "&amp; we can hold" in html_of(message)
    assert [m for m in smtp.to("sam.rivers@example.com") if "Still here?" in text_of(m)] == []
    client.cookies.clear()
