"""Each email a shopper (or the fulfilment team) gets, received by a real SMTP server on loopback:
headers from the configuration and the product's clock, the words of the text part, the HTML part,
and for an approval the return label as a real PDF."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from email_helpers import (
    FROM,
    NOW,
    TEAM,
    Sink,
    email_services,
    html_of,
    new_return,
    start_smtp,
    text_of,
)

from actions.email import OutboxCodeSender
from actions.services import ActionServices
from actions.store.models import EmailMessageRow

MAYA = "maya.chen@example.com"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, str]]:
    sink = Sink()
    controller = start_smtp(sink)
    yield sink, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def svc(tmp_path: Path, database_url: str, smtp: tuple[Sink, str]) -> Iterator[ActionServices]:
    services = email_services(tmp_path, database_url, smtp_url=smtp[1])
    yield services
    services.close()


def deliver(svc: ActionServices) -> int:
    assert svc.email is not None
    return asyncio.run(svc.email.deliver_due())


def only(messages: list[EmailMessage], subject: str) -> EmailMessage:
    found = [m for m in messages if subject in str(m["Subject"])]
    assert len(found) == 1, [str(m["Subject"]) for m in messages]
    return found[0]


def assert_headers(message: EmailMessage, to: str) -> None:
    assert str(message["From"]) == FROM
    assert str(message["To"]) == to
    assert str(message["Date"]) == format_datetime(NOW)  # the settings' clock, not the wall's
    assert re.fullmatch(r"<eml_[0-9a-f]{20}\.[0-9a-f]{8}@willowandkiln\.example>", str(message["Message-ID"]))  # fmt: skip


def test_new_return_emails_the_shopper_its_rma_and_next_steps(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    assert deliver(svc) == 3  # the request, the approval (with its label) and the team's note
    message = only(sink.to(MAYA), "received your return request")
    assert_headers(message, MAYA)
    assert str(message["Subject"]) == f"We've received your return request {rma.id}"
    text = text_of(message)
    assert f"Your return number is {rma.id}" in text and "1 × Sage speckled stoneware mug" in text
    assert "Next steps" in text and "drop it off with the carrier" in text
    assert "comes in a separate email" in text
    html = html_of(message)
    assert f"<strong>{rma.id}</strong>" in html and "<ol" in html


def test_approval_email_attaches_the_return_label_as_a_pdf_and_links_it(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    deliver(svc)
    message = only(sink.to(MAYA), "is approved")
    assert_headers(message, MAYA)
    after = svc.workflow.get(rma.id)
    assert after is not None and after.label is not None and after.status == "label_sent"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"return-label-{rma.id}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_payload(decode=True)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    text = text_of(message)
    assert after.label.url in text and after.label.tracking_number in text
    assert "Print the label" in text
    assert f'href="{after.label.url}"' in html_of(message)


def test_return_that_needs_a_person_emails_that_it_is_being_reviewed(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    assert rma.status == "manual_review"
    deliver(svc)
    [message] = sink.to(MAYA)  # one email: the request's confirmation says who decides
    assert_headers(message, MAYA)
    assert str(message["Subject"]) == f"Your return {rma.id} is being reviewed"
    text = text_of(message)
    assert "reviews returns like this one by hand" in text and "keep the items" in text
    assert "Reason: arrived damaged" in text
    team = only(sink.to(TEAM), "New return")
    assert "waiting for a staff review" in text_of(team) and "/console/returns" in text_of(team)


def test_rejection_email_gives_the_reason_and_escapes_it_in_html(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    deliver(svc)
    reason = "The photos show wear from use <b>not</b> transit damage & chips."
    svc.workflow.transition(rma.id, "rejected", note=reason)
    deliver(svc)
    message = only(sink.to(MAYA), "we can't accept it")
    assert_headers(message, MAYA)
    assert f"The reason: {reason}" in text_of(message)
    html = html_of(message)
    assert "&lt;b&gt;not&lt;/b&gt;" in html and "<b>not</b>" not in html and "&amp; chips" in html


def test_item_received_email_says_what_happens_next(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    deliver(svc)
    svc.workflow.transition(rma.id, "item_received", received_condition="as new")
    deliver(svc)
    message = only(sink.to(MAYA), "has arrived")
    assert_headers(message, MAYA)
    text = text_of(message)
    assert "has arrived at our studio" in text and "within 3 business days" in text
    assert "$34.00" in text


def test_refund_email_gives_the_amount_the_method_and_the_timing(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    svc.workflow.transition(rma.id, "item_received")
    svc.workflow.transition(rma.id, "refunded")
    deliver(svc)
    message = only(sink.to(MAYA), "Your refund")
    assert_headers(message, MAYA)
    assert str(message["Subject"]) == f"Your refund for {rma.id}: $34.00"
    text = text_of(message)
    assert "$34.00 as a refund to the original payment method" in text
    assert "5 to 10 business days" in text and "Reference: " in text
    assert "<strong>$34.00</strong>" in html_of(message)


def test_store_credit_refund_email_says_it_is_ready_now(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind", resolution="store_credit")
    svc.workflow.transition(rma.id, "item_received")
    svc.workflow.transition(rma.id, "refunded")
    deliver(svc)
    text = text_of(only(sink.to(MAYA), "Your refund"))
    assert "as store credit" in text and "ready to use now" in text


def test_collection_request_emails_the_shopper_and_the_fulfilment_team(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    rma = new_return(svc, "WK-1006", "FUR-OAK-SIDE", "changed_mind")
    deliver(svc)
    sink.messages.clear()
    assert svc.email is not None
    with svc.store.writing() as s:
        queued = svc.email.enqueue_return_email(
            s, "collection_requested", rma, method="freight_collection",
            method_words="a freight collection we arrange",
        )  # fmt: skip
    assert len(queued) == 2
    deliver(svc)
    shopper = only(sink.to("jwhitfield@example.com"), "arrange the collection")
    assert_headers(shopper, "jwhitfield@example.com")
    text = text_of(shopper)
    assert "goes back by a freight collection we arrange" in text and "no parcel label" in text
    team = only(sink.to(TEAM), "Collection to arrange")
    assert_headers(team, TEAM)
    assert rma.id in text_of(team) and "jwhitfield@example.com" in text_of(team)


def test_verification_code_email_carries_the_code_and_the_outbox_forgets_it(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    sink, _url = smtp
    assert svc.email is not None
    sender = OutboxCodeSender(svc.email)
    asyncio.run(sender.send_code("maya.chen@example.com", "482913", "Willow & Kiln"))
    deliver(svc)
    [message] = sink.messages
    assert_headers(message, MAYA)
    assert "482913" not in str(message["Subject"])  # subjects show on lock screens and lists
    assert "verification code is: 482913" in text_of(message)
    assert "482913" in html_of(message) and "10 minutes" in text_of(message)
    with svc.store.reading() as s:
        [row] = s.query(EmailMessageRow).all()
        assert row.status == "sent" and row.raw is None and "482913" not in str(row.context)
    found = svc.email.message(row.id)
    assert found is not None and found[1] is None  # nothing left to show
    with pytest.raises(ValueError):
        asyncio.run(sender.send_code("maya.chen@example.com", "12ab56", "Willow & Kiln"))


def test_without_a_fulfilment_address_only_the_shopper_is_emailed(
    tmp_path: Path, database_url: str, smtp: tuple[Sink, str]
) -> None:
    sink, url = smtp
    svc = email_services(tmp_path, database_url, smtp_url=url, fulfilment_email=None)
    try:
        new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
        deliver(svc)
        assert [str(m["To"]) for m in sink.messages] == [MAYA]
    finally:
        svc.close()


def test_a_return_received_while_its_label_was_being_made_is_emailed_without_a_label(
    svc: ActionServices, smtp: tuple[Sink, str]
) -> None:
    from actions.email.labels import ReturnLabels

    sink, _url = smtp
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    carrier = svc.carrier

    class SlowCarrier:
        """The carrier answers after staff have already marked the parcel received."""

        def create_label(self, record, order):  # type: ignore[no-untyped-def]
            label = carrier.create_label(record, order)
            svc.workflow.transition(record.id, "item_received")
            return label

        def label_bytes(self, name: str) -> bytes | None:
            return carrier.label_bytes(name)

    labels = ReturnLabels(svc.workflow, SlowCarrier(), svc.store)  # type: ignore[arg-type]
    assert labels(rma.id) is None
    after = svc.workflow.get(rma.id)
    assert after is not None and after.status == "item_received" and after.label is None
