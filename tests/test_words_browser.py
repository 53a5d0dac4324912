"""Words, not codes, as people read them in real Chromium: staff in the console, shoppers in the widget
and the return portal. One real shopdesk server (demo store, demo clock, offline model) for the
module; the conversations are made through the widget, as a shopper would.

A code is what a program writes (`label_created`, `wrong_size`); a reader should see words instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
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
    transcript_texts,
)

pytestmark = pytest.mark.timeout(300)

SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
# What a carrier's own words never are: a bare code in brackets, or a delivery spot read as a town.
SHOPPER_NEVER = ("(local)", "delivered in Front door")


@dataclass
class Store:
    server: AppServer
    tracking_conv: str  # a shopper asked where an order in transit is
    return_conv: str  # a shopper returned a bench too large to refund without a person
    rma_id: str
    tracking_answer: str  # the widget's answer about the order in transit
    delivered_answer: str  # the widget's answer about a delivered order
    status_answer: str  # the widget's answer to "what's happening with my return?"
    label_conv: str  # a shopper returned a mug, took the label and asked whether it arrived
    return_tracking_answer: str  # the widget's answer about the return parcel on our own label
    return_widget: str  # everything the widget showed while the bench's return was made
    label_widget: str  # everything the widget showed from the mug's return to its tracking


def codes_in(text: str) -> list[str]:
    return sorted(set(SNAKE_CASE.findall(text)))


def shopper(pw_browser: Any, server: AppServer) -> tuple[Any, Frames]:
    page = new_page(pw_browser)
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    return page, frames


def widget_text(page: Any) -> str:
    """All the widget shows: messages, cards, notices (its shadow root's rendered text)."""
    return str(
        page.evaluate(
            """() => [...document.querySelector('shopdesk-chat').shadowRoot.children]
                  .map(e => e.innerText || '').join('\\n')"""
        )
    )


def last_answer(turn: list[dict[str, Any]]) -> str:
    return str([f for f in turn if f.get("type") == "assistant_message"][-1]["text"])


def staff(pw_browser: Any, server: AppServer, width: int = 1366, height: int = 860) -> Any:
    page = new_page(pw_browser, width, height)
    page.goto(server.url + "/console")
    console_sign_in(page, server.url, "Sam")
    return page


def conversation_of(page: Any, server: AppServer, order_id: str) -> str:
    page.goto(f"{server.url}/console?q={order_id}")
    href = page.locator(".row a").first.get_attribute("href")
    assert href and href.startswith("/console/c/")
    return str(href)


@pytest.fixture(scope="module")
def store(pw_browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("words")
    port = free_port()
    server = AppServer(make_settings(root / "data", DEMO_KB, port, []), port)
    server.start()
    try:
        page, frames = shopper(pw_browser, server)
        tracking = last_answer(
            converse(page, frames, "Where is my order WK-1009? hannah.schultz@example.com")
        )
        delivered = last_answer(
            converse(page, frames, "And where is WK-1001? maya.chen@example.com")
        )
        page.context.close()
        page, frames = shopper(pw_browser, server)
        converse(page, frames, "Hi! I want to return the walnut bench from my order")
        converse(page, frames, "It's WK-1007, elena.petrova@example.com")
        converse(page, frames, "It's the wrong size, too big for our hall. Store credit is fine")
        turn = converse(page, frames, "Yes please", approve=True)
        card = widget_text(page)
        made = [f for f in turn if f.get("action") == "create_return_authorization"]
        assert made and made[-1]["result"]["status"] == "manual_review"
        status = last_answer(converse(page, frames, "What's happening with my return?"))
        page.context.close()
        return_tracking, label_widget = label_and_return_tracking(pw_browser, server)
        console = staff(pw_browser, server)
        convs = [conversation_of(console, server, o) for o in ("WK-1009", "WK-1007", "WK-1001")]
        console.context.close()
        rma = made[-1]["result"]["rma_id"]
        yield Store(
            server, *convs[:2], rma, tracking, delivered, status,
            convs[2], return_tracking, card, label_widget,
        )  # fmt: skip
    finally:
        server.stop()


def label_and_return_tracking(pw_browser: Any, server: AppServer) -> tuple[str, str]:
    """A mug returned in the chat, its label made, then its tracking number asked about: the answer
    about a parcel on the store's own label (the carrier the demo calls `local`), and all the widget
    showed."""
    page, frames = shopper(pw_browser, server)
    try:
        turns = [
            converse(page, frames, text)
            for text in (
                "I'd like to return the sage mug from order WK-1001, I changed my mind",
                "maya.chen@example.com",
                "yes please",
            )
        ]
        labels = [
            f for t in turns for f in t if f.get("action") == "generate_label" and f.get("ok")
        ]
        assert labels, [last_answer(t) for t in turns]
        number = labels[-1]["result"]["tracking_number"]
        answer = last_answer(converse(page, frames, f"Can you track my package {number}?"))
        return answer, widget_text(page)
    finally:
        page.context.close()


# ---- 1. an action's result: words first, the JSON behind a toggle, inside the window ------------
@pytest.mark.parametrize("width", [1366, 800], ids=["laptop", "narrow"])
def test_an_action_result_reads_as_words_and_its_json_opens_inside_the_window(
    pw_browser: Any, store: Store, width: int
) -> None:
    page = staff(pw_browser, store.server, width, 800)
    try:
        for conv in (store.tracking_conv, store.return_conv, store.label_conv):
            page.goto(store.server.url + conv)
            actions = page.locator(".msg.action")
            assert actions.count() >= 1
            for i in range(actions.count()):
                action = actions.nth(i)
                summary = action.locator(".act-summary").inner_text()
                assert summary.strip() and codes_in(summary) == [], summary
                pre = action.locator("details pre")
                assert not pre.is_visible()  # the JSON waits behind its toggle
                action.get_by_text("Details (JSON)").click()
                shown = pre.inner_text()
                assert pre.is_visible() and json.loads(shown)  # the whole result
                assert "\\u00" not in shown  # "2 × mug", not "2 \\u00d7 mug"
                box = pre.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (conv, box)
            overflow = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert overflow[0] <= overflow[1], (conv, overflow)
        assert not page.errors
    finally:
        page.context.close()


def test_the_summary_names_the_order_the_return_and_each_parcels_last_scan_in_words(
    pw_browser: Any, store: Store
) -> None:
    page = staff(pw_browser, store.server)
    try:
        page.goto(store.server.url + store.tracking_conv)
        summaries = page.locator(".act-summary").all_inner_texts()
        assert any("WK-1009" in s and "in transit" in s for s in summaries), summaries
        assert any("(USPS): in transit in Harrisburg, PA" in s for s in summaries), summaries
        page.goto(store.server.url + store.label_conv)
        summaries = page.locator(".act-summary").all_inner_texts()
        parcel = ("our own delivery service", "label created, waiting for the carrier")
        assert any(all(words in s for words in parcel) for s in summaries), summaries
        page.goto(store.server.url + store.return_conv)
        summaries = page.locator(".act-summary").all_inner_texts()
        made = [s for s in summaries if store.rma_id in s]
        assert any("waiting for a staff review" in s and "wrong size" in s for s in made), made
    finally:
        page.context.close()


# ---- 2. the pages staff read --------------------------------------------------------------------
def test_staff_pages_read_statuses_reasons_and_actions_in_words(
    pw_browser: Any, store: Store
) -> None:
    page = staff(pw_browser, store.server)
    try:
        pages = {
            "inbox": "/console",
            "returns queue": "/console/returns",
            "tracking conversation": store.tracking_conv,
            "return conversation": store.return_conv,
            "label conversation": store.label_conv,
            "outbox": "/console/outbox",
            "insights": "/console/insights",
        }
        for name, path in pages.items():
            page.goto(store.server.url + path)
            text = page.inner_text("body")
            assert codes_in(text) == [], (name, codes_in(text))
        page.goto(store.server.url + "/console/returns")
        card = page.locator(f".rma-card[data-rma='{store.rma_id}']").inner_text()
        assert "wrong size" in card and "store credit" in card, card
        page.goto(store.server.url + store.return_conv)
        assert "waiting for a staff review" in page.inner_text(".side")
        assert not page.errors
    finally:
        page.context.close()


def test_an_outbox_email_reads_without_codes(pw_browser: Any, store: Store) -> None:
    page = staff(pw_browser, store.server)
    try:
        page.goto(store.server.url + "/console/outbox")
        links = page.locator("a[href^='/console/outbox/']")
        assert links.count() >= 1  # the review-received email for the bench
        page.goto(store.server.url + str(links.first.get_attribute("href")))
        text = page.inner_text("body")
        assert codes_in(text) == [], codes_in(text)
    finally:
        page.context.close()


# ---- 3. the shopper's side ----------------------------------------------------------------------
def test_a_tracking_answer_in_the_widget_reads_as_words(store: Store) -> None:
    for answer in (store.tracking_answer, store.delivered_answer):
        assert codes_in(answer) == [], answer
        assert not any(bad in answer for bad in SHOPPER_NEVER), answer
    assert "in transit" in store.tracking_answer
    assert "left at: Front door" in store.delivered_answer


def test_a_return_parcel_on_our_own_label_names_the_carrier_in_words(store: Store) -> None:
    answer = store.return_tracking_answer
    assert codes_in(answer) == [] and not any(bad in answer for bad in SHOPPER_NEVER), answer
    assert "our own delivery service" in answer, answer
    shown = store.label_widget  # the label card and the confirmation cards included
    assert codes_in(shown) == [] and not any(bad in shown for bad in SHOPPER_NEVER), shown


def test_the_return_status_answer_reads_as_words(store: Store) -> None:
    assert codes_in(store.status_answer) == [], store.status_answer
    assert store.rma_id in store.status_answer
    assert "waiting for a review" in store.status_answer, store.status_answer


def test_the_widget_shows_a_return_card_and_answers_without_codes(store: Store) -> None:
    shown = store.return_widget
    assert "Walnut entry bench" in shown and "wrong size" in shown, shown
    assert codes_in(shown) == [], codes_in(shown)


def test_the_widget_transcript_shows_no_codes(pw_browser: Any, store: Store) -> None:
    page, frames = shopper(pw_browser, store.server)
    try:
        converse(page, frames, "Where is my order WK-1009? hannah.schultz@example.com")
        shown = "\n".join(transcript_texts(page))
        assert codes_in(shown) == [] and not any(bad in shown for bad in SHOPPER_NEVER), shown
        assert page.locator(f"{W} .sd-msg.sd-assistant").count() >= 1
    finally:
        page.context.close()


def test_the_returns_portal_reads_reasons_and_statuses_in_words(
    pw_browser: Any, store: Store
) -> None:
    page = new_page(pw_browser, 1280, 900)
    try:
        base = store.server.url
        page.goto(base + "/returns")
        seen = [page.inner_text("body")]
        page.get_by_label("Order number").fill("WK-1002")  # an engraved mug: not returnable
        page.get_by_label("Email address").fill("d.okafor@example.com")
        page.get_by_role("button", name="Find my order").click()
        seen.append(page.inner_text("body"))
        reasons = page.get_by_label("Why are they coming back?")
        assert "Wrong size" in reasons.inner_text()
        reasons.select_option("wrong_size")
        page.get_by_role("button", name="Check what can be returned").click()
        seen.append(page.inner_text("body"))
        page.get_by_label("How many Sage speckled stoneware mug to return").select_option("1")
        page.get_by_role("button", name="Review the return").click()
        seen.append(page.inner_text("body"))
        assert "reason: wrong size" in seen[-1], seen[-1]
        page.get_by_role("button", name="Confirm the return").click()
        seen.append(page.inner_text("body"))
        assert "Status: " in seen[-1], seen[-1]
        for text in seen:
            assert codes_in(text) == [] and not any(b in text for b in SHOPPER_NEVER), text
        assert not page.errors
    finally:
        page.context.close()


def test_a_personalised_item_return_reads_as_words_for_the_shopper_and_for_staff(
    pw_browser: Any, store: Store
) -> None:
    page, frames = shopper(pw_browser, store.server)
    try:
        converse(page, frames, "Can I return the engraved mug from WK-1002? d.okafor@example.com")
        converse(page, frames, "Just the engraved one please, I changed my mind")
        shown = widget_text(page)
        assert "Engraved stoneware mug" in shown and codes_in(shown) == [], shown
    finally:
        page.context.close()
    console = staff(pw_browser, store.server)
    try:
        console.goto(store.server.url + conversation_of(console, store.server, "WK-1002"))
        text = console.inner_text("body")
        assert codes_in(text) == [], codes_in(text)
        # The order lookup names its parcel by the last scan, as the tracking does.
        assert "Parcel 1Z9W4K02000015838 (UPS): delivered, left at: Front door" in text, text
    finally:
        console.context.close()
