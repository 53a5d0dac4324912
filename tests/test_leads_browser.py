"""The widget's "keep me posted" form in real headless Chromium against a real shopdesk server
(offline model, demo knowledge): offered after a handoff, consent required, thanks shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import (
    DEMO_KB,
    AppServer,
    Frames,
    W,
    free_port,
    make_settings,
    new_page,
    open_widget,
    send,
    wait_until,
)

from actions.builtin.leads import form_consent_text
from actions.store.leads import list_leads

pytestmark = pytest.mark.timeout(180)

HANDOFF_ASK = "can I talk to a human? my email is lee.park@example.com"
HOSTILE_INTEREST = '<img src=x onerror="window.__pwned=1">new mugs'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("leads-browser")
    port = free_port()
    app = AppServer(make_settings(root / "data", DEMO_KB, port, []), port)
    app.start()
    yield app
    app.stop()


@pytest.fixture
def page(pw_browser: Any) -> Iterator[Any]:
    page = new_page(pw_browser, 1280, 800)
    yield page
    page.context.close()


def stored(server: AppServer, email: str) -> list[Any]:
    store = server.server.config.app.state.services.store
    return [lead for lead in list_leads(store) if lead.email == email]


def hand_off(page: Any, frames: Frames) -> None:
    n = len(frames.received)
    send(page, HANDOFF_ASK)
    wait_until(
        page,
        lambda: (
            any(f.get("type") == "handoff" for f in frames.received[n:])
            and any(f.get("type") == "assistant_message" for f in frames.received[n:])
        ),
        timeout=45,
        what="the handoff and the reply",
    )


def test_form_appears_after_a_handoff_needs_consent_and_thanks_as_text(
    server: AppServer, page: Any
) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    assert page.locator(f"{W} .sd-leadcard").count() == 0  # nothing before a handoff
    hand_off(page, frames)

    form = page.locator(f"{W} .sd-leadcard")
    form.wait_for()
    assert form.get_attribute("aria-label") == "Want to hear from us?"
    email = form.locator(".sd-lead-email")
    assert email.input_value() == "lee.park@example.com"  # the address the shopper typed
    box = form.locator(".sd-lead-consent")
    assert not box.is_checked()
    assert form.locator(".sd-consent").inner_text().strip() == form_consent_text("Willow & Kiln")
    # The form sits after the assistant's reply, not between the handoff and it.
    last_row = page.locator(f"{W} .sd-log > .sd-row").last
    assert "sd-row-lead" in (last_row.get_attribute("class") or "")

    form.locator(".sd-lead-interest").fill(HOSTILE_INTEREST)
    form.get_by_role("button", name="Keep me posted").click()
    error = form.locator(".sd-lead-error")
    error.wait_for(state="visible")
    assert "tick the box" in error.inner_text()
    assert form.get_by_role("button", name="Keep me posted").is_enabled()
    assert stored(server, "lee.park@example.com") == []
    sent = [f for f in frames.sent if f.get("type") == "lead"]
    assert sent and sent[-1]["consent"] is False

    box.check()
    form.get_by_role("button", name="Keep me posted").click()
    thanks = form.locator(".sd-lead-thanks")
    thanks.wait_for()
    assert "lee.park@example.com" in thanks.inner_text()
    assert "<img" in thanks.inner_text()  # the shopper's words, shown as text
    assert page.evaluate("window.__pwned") is None
    assert form.locator("input").count() == 0
    [lead] = stored(server, "lee.park@example.com")
    assert lead.source == "widget_form" and lead.consent
    assert lead.conversation_id == frames.of("ready")[0]["conversation_id"]
    assert frames.of("lead_saved") and not page.errors


def test_no_thanks_closes_the_form_and_a_reload_does_not_offer_it_again(
    server: AppServer, page: Any
) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    hand_off(page, frames)
    form = page.locator(f"{W} .sd-leadcard")
    form.wait_for()
    form.get_by_role("button", name="No thanks").click()
    form.wait_for(state="detached")
    assert not [f for f in frames.sent if f.get("type") == "lead"]

    page.reload()
    wait_until(page, lambda: len(frames.of("ready")) == 2, what="ready after the reload")
    page.locator(f"{W} .sd-panel").wait_for()
    page.wait_for_timeout(300)
    assert page.locator(f"{W} .sd-leadcard").count() == 0  # once per conversation
    assert not page.errors


# A scripted socket (no server): the return trigger, a reconnect mid-form, once per conversation.
FAKE_PAGE = """<!doctype html><html lang="en"><head><title>Host</title></head><body>
<script src="http://shop.test/widget.js" data-shopdesk="http://shop.test"
  data-email="maya@example.com" data-signature="abc" async></script></body></html>"""
RETURN_DONE = {"type": "action_finished", "action": "create_return_authorization", "ok": True,
               "result": {"rma_id": "RMA-ABC234", "message": "Return RMA-ABC234 created."}}  # fmt: skip


def test_a_new_return_offers_the_form_once_and_a_reconnect_keeps_it(pw_browser: Any) -> None:
    import json

    from widget.pages import load_assets

    sockets: list[Any] = []
    sent: list[dict[str, Any]] = []

    def push(ws: Any, **event: Any) -> None:
        ws.send(json.dumps(event))

    def handle(ws: Any) -> None:
        sockets.append(ws)

        def on_message(text: str | bytes) -> None:
            event = json.loads(text)
            sent.append(event)
            if event["type"] == "hello":
                push(ws, type="ready", conversation_id="c1", transcript=[],
                     lead_form={"consent_text": "Yes, email me <b>please</b>."})  # fmt: skip
            elif event["type"] == "user_message" and event["text"] == "refused":
                push(ws, **{**RETURN_DONE, "ok": False, "result": {"code": "final_sale"}})
                push(ws, type="assistant_message", text="That one is final sale.", citations=[])
            elif event["type"] == "user_message":
                push(ws, **RETURN_DONE)
                push(ws, type="assistant_message", text="Your return is started.", citations=[])

        ws.on_message(on_message)

    context = pw_browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(5_000)
    js = load_assets()["widget.js"].body
    page.route("http://shop.test/", lambda r: r.fulfill(body=FAKE_PAGE, content_type="text/html"))
    page.route("http://shop.test/widget.js",
               lambda r: r.fulfill(body=js, content_type="text/javascript"))  # fmt: skip
    page.route_web_socket("ws://shop.test/ws", handle)
    try:
        page.goto("http://shop.test/")
        open_widget(page)
        form = page.locator(f"{W} .sd-leadcard")
        send(page, "refused")
        page.locator(f"{W} .sd-msg.sd-assistant").nth(1).wait_for()
        page.wait_for_timeout(200)
        assert form.count() == 0  # a refused return is not a reason to ask

        send(page, "start my return")
        form.wait_for()
        assert form.locator(".sd-lead-email").input_value() == "maya@example.com"
        # The server's words, as text.
        assert form.locator(".sd-consent").inner_text().strip() == "Yes, email me <b>please</b>."
        form.locator(".sd-lead-interest").fill("new mugs")

        sockets[-1].close(code=1012, reason="restart")
        wait_until(page, lambda: len([e for e in sent if e["type"] == "hello"]) == 2,
                   what="the reconnect")  # fmt: skip
        page.wait_for_timeout(200)
        assert form.count() == 1 and form.locator(".sd-lead-interest").input_value() == "new mugs"

        send(page, "start another return")
        # The fake's transcript is empty, so after the reconnect: the greeting, then this reply.
        page.locator(f"{W} .sd-msg.sd-assistant").nth(1).wait_for()
        page.wait_for_timeout(200)
        assert form.count() == 1  # once per conversation
        form.locator(".sd-lead-consent").check()
        form.get_by_role("button", name="Keep me posted").click()
        wait_until(page, lambda: any(e["type"] == "lead" for e in sent), what="the lead event")
        lead = next(e for e in sent if e["type"] == "lead")
        assert lead == {"type": "lead", "email": "maya@example.com", "interest": "new mugs",
                        "consent": True}  # fmt: skip
        push(sockets[-1], type="error", code="invalid_email", message="Check the address.",
             about="lead")  # fmt: skip
        form.locator(".sd-lead-error").wait_for()
        assert form.locator(".sd-lead-error").inner_text() == "Check the address."
        assert page.locator(f"{W} .sd-banner").is_hidden()  # the form's error stays in the form
        assert not errors
    finally:
        context.close()
