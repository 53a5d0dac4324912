"""The return portal over HTTP as a browser without JavaScript sees it: a real uvicorn on loopback,
the demo orders, the offline model, and the same workflow the chat uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.chat.identity import sign_email
from tests.portal_helpers import MAYA, Shopper, portal_server
from tests.throttle_helpers import HANNAH


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []
    shoppers: list[Shopper] = []

    def start(**overrides: Any) -> tuple[Any, Shopper, Any]:
        srv, inbox = portal_server(tmp_path / f"data{len(started)}", **overrides)
        started.append(srv)
        shopper = Shopper(srv.http_url)
        shoppers.append(shopper)
        return srv, shopper, inbox

    yield start
    for shopper in shoppers:
        shopper.close()
    for srv in started:
        srv.stop()


def _returns(srv: Any) -> list[Any]:
    return list(srv.app.state.services.workflow.list(order_id="WK-1001"))


def _choose_mug(shopper: Shopper, reason: str = "changed_mind") -> str:
    shopper.get(f"/returns/items?reason={reason}")
    return shopper.post(
        "/returns/items",
        {
            "reason": reason,
            "resolution": "refund",
            "qty:CER-MUG-SAGE": "1",
            "qty:CER-PLT-SAGE": "0",
        },
    )


def test_wrong_email_is_told_in_words_and_shows_no_order(make) -> None:
    _, shopper, _ = make()
    shopper.identify(email="someone.else@example.com")
    assert shopper.status == 422
    assert shopper.alert == (
        "I couldn't find an order with that number for that email address; please check both."
    )
    assert "Sage" not in shopper.text and "autofocus" in shopper.page


def test_the_lines_and_their_fees_show_before_anything_is_created(make) -> None:
    srv, shopper, _ = make()
    shopper.identify()
    assert "Return items from order WK-1001" in shopper.text
    assert "Every item on order WK-1001 can be returned" in shopper.text
    assert "Restocking fee" in shopper.text and "$" in shopper.text
    _choose_mug(shopper)
    assert "Check your return" in shopper.text and "Nothing has been created yet" in shopper.text
    assert _returns(srv) == []


def test_confirming_creates_the_rma_with_its_next_step_and_label(make) -> None:
    srv, shopper, _ = make()
    shopper.identify()
    _choose_mug(shopper)
    shopper.post("/returns/confirm", {"key": _key(shopper)})
    [rma] = _returns(srv)
    assert f"Return {rma.id}" in shopper.text
    assert (
        "prepaid return label" in shopper.text
        and "Download your prepaid return label" in shopper.text
    )
    assert rma.label is not None and rma.label.url in shopper.page
    assert rma.customer_email == MAYA and rma.reason == "changed_mind"


def test_a_double_submit_makes_one_return(make) -> None:
    srv, shopper, _ = make()
    shopper.identify()
    _choose_mug(shopper)
    key, csrf = _key(shopper), shopper.csrf
    cookie = shopper.http.cookies.jar and next(iter(shopper.http.cookies.jar))
    first = shopper.http.post("/returns/confirm", data={"csrf": csrf, "key": key})
    # The second click was sent with the cookie of the review page, before the first answered.
    shopper.http.cookies.clear()
    shopper.http.cookies.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
    second = shopper.http.post("/returns/confirm", data={"csrf": csrf, "key": key})
    [rma] = _returns(srv)
    assert f"Return {rma.id}" in first.text, first.text[-1500:]
    assert f"Return {rma.id}" in second.text, second.text[:2500]


def test_a_damaged_return_waits_for_review(make) -> None:
    srv, shopper, _ = make()
    shopper.identify()
    _choose_mug(shopper, "damaged")
    assert "Our team reviews this return before it's approved" in shopper.text
    shopper.post("/returns/confirm", {"key": _key(shopper)})
    [rma] = _returns(srv)
    assert rma.status == "manual_review" and "waiting for a quick review" in shopper.text
    assert "Download your prepaid return label" not in shopper.text


def test_a_form_without_the_session_token_changes_nothing(make) -> None:
    srv, shopper, _ = make()
    shopper.get("/returns")
    response = shopper.http.post("/returns/identify", data={"csrf": "guess", "order_id": "WK-1001", "email": MAYA})  # fmt: skip
    assert response.status_code == 403
    assert "did not come from this page, so nothing was changed" in response.text
    assert "Return items" not in shopper.get("/returns/items")


def test_an_expired_session_goes_back_to_identify_in_words(make) -> None:
    srv, shopper, _ = make(portal_session_minutes=30)
    shopper.identify()
    _choose_mug(shopper)
    srv.app.state.settings.clock.advance(timedelta(minutes=31))
    shopper.post("/returns/confirm", {"key": _key(shopper)})
    assert "Your return session ended because it was open longer than 30 minutes" in shopper.text
    assert "Enter your order number" in shopper.text and _returns(srv) == []


def test_wrong_tries_lock_the_order_like_the_chat(make) -> None:
    _, shopper, _ = make(limit_verification_failures_per_order="3 per 15 minutes")
    for n in range(3):
        shopper.identify(email=f"guess{n}@example.com")
    assert shopper.alert is not None
    assert "For your security I've paused order look-ups for that order number" in shopper.alert
    assert "Would you like me to pass you" not in shopper.alert
    shopper.identify()  # even the right email now waits
    assert "paused order look-ups" in (shopper.alert or "") and "Return items" not in shopper.text


def test_a_signed_shopper_chooses_among_their_orders(make) -> None:
    srv, shopper, _ = make()
    signature = sign_email(MAYA, srv.app.state.settings.secret)
    shopper.get(f"/returns?email={MAYA}&signature={signature}")
    assert "Which order is it?" in shopper.text and "WK-1001" in shopper.text
    shopper.post("/returns/order", {"order_id": "WK-1001"})
    assert "Return items from order WK-1001" in shopper.text


def test_a_forged_signature_is_refused_in_words(make) -> None:
    _, shopper, _ = make()
    shopper.get(f"/returns?email={MAYA}&signature={'0' * 64}")
    assert (
        shopper.alert is not None
        and "sign-in link from the store's website isn't valid" in shopper.alert
    )


def test_email_code_mode_shows_the_order_only_after_the_code(make) -> None:
    _, shopper, inbox = make(verification="email_code")
    shopper.identify("WK-1009", HANNAH)
    assert shopper.alert is not None and "sent a 6-digit code to h•••@example.com" in shopper.alert
    assert "Heron" not in shopper.text and "Code from the email" in shopper.text
    code = inbox.last_code
    shopper.post("/returns/code", {"code": "000000" if code != "000000" else "111111"})
    assert shopper.alert == "That code doesn't match (4 tries left). Could you check the email and type it again?"  # fmt: skip
    shopper.post("/returns/code", {"code": code})
    assert "Return items from order WK-1009" in shopper.text


def test_signed_mode_refuses_order_and_email(make) -> None:
    _, shopper, _ = make(verification="signed")
    shopper.get("/returns")
    assert "only to shoppers signed in on its website" in shopper.text


def _key(shopper: Shopper) -> str:
    found = re.search(r'name="key" value="([^"]+)"', shopper.page)
    assert found, shopper.text
    return found.group(1)


def _png(colour: tuple[int, int, int] = (200, 80, 60)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


def test_damaged_return_carries_the_photos_added_in_the_portal(make) -> None:
    srv, shopper, _ = make()
    shopper.identify()
    shopper.get("/returns/items?reason=damaged")
    assert "Photos of the problem" in shopper.text
    files = [("photos", ("box.png", _png(), "image/png")), ("photos", ("mug.png", _png((9, 9, 9)), "image/png"))]  # fmt: skip
    shopper.post("/returns/items", {"reason": "damaged", "resolution": "refund", "qty:CER-MUG-SAGE": "1"}, files)  # fmt: skip
    assert "2 photos attached" in shopper.text
    shopper.post("/returns/confirm", {"key": _key(shopper)})
    [rma] = _returns(srv)
    photos = srv.app.state.services.evidence.for_rma(rma.id)
    assert len(photos) == 2 and all(p.content_type in {"image/png", "image/jpeg"} for p in photos)


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(make) -> None:
    srv, shopper, _ = make()
    shopper.identify()
    shopper.get("/returns/items?reason=damaged")
    files = [("photos", ("notes.png", b"%PDF-1.7 not an image at all", "image/png"))]
    shopper.post("/returns/items", {"reason": "damaged", "resolution": "refund", "qty:CER-MUG-SAGE": "1"}, files)  # fmt: skip
    assert shopper.status == 422 and shopper.alert
    assert "Check your return" not in shopper.text
    evidence = srv.app.state.services.evidence
    assert not evidence.root.exists() or not any(evidence.root.iterdir())


async def test_the_return_requested_email_links_to_the_portal(make) -> None:
    from tests.ws_helpers import eventually

    srv, shopper, _ = make()
    shopper.identify()
    _choose_mug(shopper)
    shopper.post("/returns/confirm", {"key": _key(shopper)})
    outbox = srv.app.state.services.email

    def requested() -> Any:
        for item in outbox.messages():
            if item.event == "return_requested":
                found = outbox.message(item.id)
                if found and found[1] is not None:
                    return found[1]
        return None

    await eventually(lambda: requested() is not None, "the return-requested email")
    body = requested().get_body(("plain",)).get_content()
    assert re.search(r"Start a return at http://\S+/returns with your order number", body), body


def test_two_confirms_at_once_make_one_return_on_each_database(make, database_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    srv, shopper, _ = make(database_url=database_url)
    shopper.identify()
    _choose_mug(shopper)
    key, csrf = _key(shopper), shopper.csrf
    [cookie] = list(shopper.http.cookies.jar)

    def click() -> str:  # a tab of the same browser: the same cookie, for the same path
        with httpx.Client(base_url=srv.http_url, follow_redirects=True) as tab:
            tab.cookies.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
            return tab.post("/returns/confirm", data={"csrf": csrf, "key": key}).text

    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda _: click(), range(2)))
    [rma] = _returns(srv)
    assert all(f"Return {rma.id}" in page for page in pages), [
        re.findall(r"<h1>(.*?)</h1>|role=\"alert\"[^>]*>([^<]*)", p) for p in pages
    ]
