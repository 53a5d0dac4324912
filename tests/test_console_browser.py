"""The staff console in real headless Chromium: a shopper's widget and a staff member's console in
two browser contexts against one real shopdesk server (demo clock, offline model).

Also saves the README screenshots console-inbox.png and console-conversation.png (to docs/ under
`make screenshots`, to a temporary folder otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import (
    DEMO_KB,
    AppServer,
    Frames,
    W,
    console_sign_in,
    converse,
    free_port,
    make_settings,
    new_page,
    open_widget,
    send,
    wait_until,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("console")
    port = free_port()
    app = AppServer(make_settings(root / "data", DEMO_KB, port, []), port)
    app.start()
    yield app
    app.stop()


def staff_page(pw_browser: Any, contexts: list[Any], server: AppServer, name: str) -> Any:
    page = new_page(pw_browser, 1360, 860)
    contexts.append(page.context)
    page.goto(server.url + "/console")
    assert page.url.endswith("/console/login")  # refused until signed in
    console_sign_in(page, server.url, name)
    page.locator("#live.on").wait_for()  # the event stream is connected
    return page


def shopper_page(pw_browser: Any, contexts: list[Any], server: AppServer) -> tuple[Any, Frames]:
    page = new_page(pw_browser)
    contexts.append(page.context)
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    return page, frames


def test_handoff_staff_reply_and_hand_back(
    pw_browser: Any, contexts: list[Any], server: AppServer, screenshot_dir: Path
) -> None:
    staff = staff_page(pw_browser, contexts, server, "Sam")
    other = staff_page(pw_browser, contexts, server, "Priya")  # a second signed-in colleague
    shopper, frames = shopper_page(pw_browser, contexts, server)

    turn = converse(shopper, frames, "Can I talk to a person please?")
    handoff = [f for f in turn if f.get("type") == "handoff"]
    assert handoff and handoff[0]["message"] == "A member of our team will reply here."
    shopper.locator(f"{W} .sd-notice", has_text="team will reply here").wait_for()

    # Both consoles list it as needing a person, without a reload.
    for page in (staff, other):
        page.locator(".row.status-pending").first.wait_for()
    # Open it by its link: a live update may re-render the list under a click at that moment.
    href = staff.locator(".row.status-pending a").first.get_attribute("href")
    assert href and href.startswith("/console/c/")
    staff.goto(server.url + href)
    staff.get_by_role("button", name="Assign to me").click()
    staff.locator("#conv-status", has_text="Assigned").wait_for()
    other.locator(".row.status-assigned", has_text="Sam").wait_for()

    staff.fill("#reply", "Hi, Sam from the studio here. How can I help?")
    staff.get_by_role("button", name="Send reply").click()
    agent = shopper.locator(f"{W} .sd-msg.sd-agent")
    agent.wait_for()
    assert "Sam from the studio" in agent.inner_text()

    # While a person owns it the AI stays quiet: the server acknowledges with `message_received`
    # only when it has decided that no AI turn runs. The message reaches the console live.
    start = len(frames.received)
    send(shopper, "My bench arrived scratched, what can you do?")
    wait_until(shopper, lambda: bool(frames.of("message_received")), what="message_received")
    assert [f for f in frames.received[start:] if f.get("type") == "assistant_message"] == []
    staff.locator(".msg.user", has_text="bench arrived scratched").wait_for()
    staff.fill("#reply", "So sorry! Could you send a photo? I'll sort out a replacement.")
    staff.get_by_role("button", name="Send reply").click()
    shopper.locator(f"{W} .sd-msg.sd-agent", has_text="send a photo").wait_for()
    staff.locator(".msg.staff", has_text="send a photo").wait_for()
    assert [f for f in frames.received[start:] if f.get("type") == "assistant_message"] == []
    staff.screenshot(path=str(screenshot_dir / "console-conversation.png"))

    # Hand back to the AI: the next question gets an AI answer again.
    staff.get_by_role("button", name="Hand back to AI").click()
    staff.locator("#conv-status", has_text="With AI").wait_for()
    turn = converse(shopper, frames, "How long do I have to return a print?")
    answers = [f for f in turn if f.get("type") == "assistant_message"]
    assert answers and "14" in answers[-1]["text"]
    assert not staff.errors and not shopper.errors  # type: ignore[attr-defined]


def test_large_refund_waits_for_review_then_the_label(
    pw_browser: Any, contexts: list[Any], server: AppServer
) -> None:
    staff = staff_page(pw_browser, contexts, server, "Sam")
    shopper, frames = shopper_page(pw_browser, contexts, server)
    converse(shopper, frames, "Hi! I want to return the walnut bench from my order")
    converse(shopper, frames, "It's WK-1007, elena.petrova@example.com")
    converse(shopper, frames, "I changed my mind, it's too big")
    turn = converse(shopper, frames, "Yes please", approve=True)
    created = [f for f in turn if f.get("action") == "create_return_authorization"]
    assert created[-1]["result"]["status"] == "manual_review"
    rma = created[-1]["result"]["rma_id"]

    staff.goto(server.url + "/console/returns")
    card = staff.locator(f".rma-card[data-rma='{rma}']")
    card.wait_for()
    assert "over the $500.00 review limit" in card.inner_text()
    card.get_by_role("button", name="Approve").click()
    staff.locator(".empty", has_text="Nothing waiting").wait_for()
    staff.locator(".rows.compact", has_text=rma).wait_for()

    # A bench goes back by freight collection: the widget says so, and offers no label.
    told = shopper.locator(
        f"{W} .sd-msg.sd-assistant",
        has_text=f"{rma} (1 × Walnut entry bench from order WK-1007) is approved",
    )
    told.wait_for()
    assert "is approved" in told.inner_text() and "freight collection" in told.inner_text()
    assert "create the prepaid return label" not in told.inner_text()
    turn = converse(shopper, frames, "Can I get the return label now?", approve=True)
    assert not [f for f in turn if f.get("type") == "confirmation_request"]
    assert not [f for f in turn if f.get("action") == "generate_label" and f.get("ok")]
    answer = [f for f in turn if f.get("type") == "assistant_message"][-1]["text"]
    assert "freight collection" in answer and "/labels/" not in answer
    assert shopper.locator(f"{W} .sd-labelcard").count() == 0


def test_a_staff_approval_shows_in_every_open_widget_of_the_shopper_with_the_label_step(
    pw_browser: Any, contexts: list[Any], server: AppServer
) -> None:
    staff = staff_page(pw_browser, contexts, server, "Sam")
    first, first_frames = shopper_page(pw_browser, contexts, server)
    converse(first, first_frames, "I want to return the dinner set from my order")
    converse(first, first_frames, "It's WK-1022, will.grant@example.com")
    converse(first, first_frames, "we changed our minds")
    turn = converse(first, first_frames, "Yes please", approve=True)
    created = [f for f in turn if f.get("action") == "create_return_authorization"]
    assert created[-1]["result"]["status"] == "manual_review"
    rma = created[-1]["result"]["rma_id"]
    # The same shopper in another conversation (another tab, another day), verified there too.
    second, second_frames = shopper_page(pw_browser, contexts, server)
    converse(second, second_frames, "WK-1022, will.grant@example.com")

    staff.goto(server.url + "/console/returns")
    staff.locator(f".rma-card[data-rma='{rma}']").get_by_role("button", name="Approve").click()
    staff.locator(".rows.compact", has_text=rma).wait_for()

    offer = "Would you like me to create the prepaid return label now?"
    for page in (first, second):
        told = page.locator(
            f"{W} .sd-msg.sd-assistant",
            has_text=f"{rma} (1 × Dinner set for six, 18 pieces from order WK-1022) is approved",
        )
        told.wait_for()
        assert "is approved" in told.inner_text() and offer in told.inner_text()
    # The label step, in the conversation that did not make the return.
    turn = converse(second, second_frames, "yes", approve=True)
    labels = [f for f in turn if f.get("action") == "generate_label" and f.get("ok")]
    assert labels and labels[-1]["result"]["label_url"]
    second.locator(f"{W} .sd-labelcard a.sd-label").wait_for()

    # A new conversation asking about it verifies the shopper, then answers with the status.
    third, third_frames = shopper_page(pw_browser, contexts, server)
    converse(third, third_frames, "what's happening with my return?")
    turn = converse(third, third_frames, "WK-1022, will.grant@example.com")
    assert not [f for f in turn if f.get("action") == "create_return_authorization"]
    status = third.locator(
        f"{W} .sd-msg.sd-assistant",
        has_text=f"{rma} (1 × Dinner set for six, 18 pieces from order WK-1022) is approved",
    )
    status.wait_for()
    assert "is approved" in status.inner_text() and "drop it off" in status.inner_text()
    assert not (staff.errors or first.errors or second.errors or third.errors)  # type: ignore[attr-defined]


def test_inbox_filters_search_and_screenshot(
    pw_browser: Any, contexts: list[Any], server: AppServer, screenshot_dir: Path
) -> None:
    shopper, frames = shopper_page(pw_browser, contexts, server)
    converse(shopper, frames, "Can I return an engraved mug?")
    waiting, waiting_frames = shopper_page(pw_browser, contexts, server)
    converse(waiting, waiting_frames, "I need to speak to someone about a gift order")
    staff = staff_page(pw_browser, contexts, server, "Sam")
    staff.locator(".row.status-open").first.wait_for()
    staff.locator(".tab", has_text="With AI").click()
    staff.wait_for_url("**status=open")
    assert staff.locator(".row.status-assigned").count() == 0
    staff.goto(server.url + "/console?q=WK-1007")
    rows = staff.locator(".row")
    assert rows.count() == 1 and "elena.petrova@example.com" in rows.first.inner_text()
    staff.goto(server.url + "/console")
    staff.locator(".row.status-pending").first.wait_for()
    staff.screenshot(path=str(screenshot_dir / "console-inbox.png"))
