"""Getting email out: bounces recorded on the return, retries with backoff on the product's clock,
SMTP authentication and STARTTLS, the .eml default, and the outbox's transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from email_helpers import NOW, Sink, email_services, free_port, new_return, start_smtp, text_of

from actions.clock import Clock
from actions.email import parse_smtp_url
from actions.services import ActionServices
from actions.store.models import EmailMessageRow
from agent.app.settings import Settings, SettingsError, load_settings

MAYA = "maya.chen@example.com"


def deliver(svc: ActionServices) -> int:
    assert svc.email is not None
    return asyncio.run(svc.email.deliver_due())


def rows(svc: ActionServices) -> list[EmailMessageRow]:
    with svc.store.reading() as s:
        return list(s.query(EmailMessageRow).order_by(EmailMessageRow.created_at).all())


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = start_smtp(handler)
    yield handler, controller.port
    controller.stop()


def test_a_550_bounce_marks_the_email_bounced_and_shows_on_the_return(
    tmp_path: Path, database_url: str, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    handler.refuse = "550 5.1.1 <maya.chen@example.com>: Recipient address rejected: User unknown"
    svc = email_services(tmp_path, database_url, smtp_url=f"smtp://127.0.0.1:{port}", fulfilment_email=None)  # fmt: skip
    rma = new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    assert deliver(svc) == 1
    [row] = rows(svc)
    assert row.status == "bounced" and row.attempts == 1 and handler.messages == []
    assert svc.email is not None
    reason = svc.email.bounces([rma.id])[rma.id]
    assert reason.startswith("the address does not exist") and "User unknown" in reason
    assert deliver(svc) == 0  # a bounce is final: never retried
    [listed] = svc.email.messages()
    assert listed.status_words == "bounced" and listed.event_words == "return in review"
    svc.close()


def test_a_4xx_answer_is_retried_later_with_backoff_then_sent(
    tmp_path: Path, database_url: str, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    handler.refuse = "451 4.3.0 Try again later"
    clock = Clock(NOW, frozen=True)
    svc = email_services(tmp_path, database_url, smtp_url=f"smtp://127.0.0.1:{port}",
                         clock=clock, fulfilment_email=None, base_delay=60.0)  # fmt: skip
    new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    assert deliver(svc) == 1
    [row] = rows(svc)
    assert row.status == "pending" and row.attempts == 1 and "451" in (row.last_error or "")
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=60)
    assert deliver(svc) == 0  # not due yet
    clock.advance(dt.timedelta(seconds=61))
    assert deliver(svc) == 1
    [row] = rows(svc)
    assert row.attempts == 2 and row.next_attempt_at == NOW + dt.timedelta(seconds=61 + 120)
    handler.refuse = None
    clock.advance(dt.timedelta(seconds=121))
    assert deliver(svc) == 1
    [row] = rows(svc)
    assert row.status == "sent" and row.attempts == 3 and len(handler.messages) == 1
    # The message sent on the third attempt is the one rendered on the first: same Date.
    assert str(handler.messages[0]["Date"]) == "Sat, 21 Nov 2026 17:00:00 +0000"
    svc.close()


def test_a_refused_connection_is_retried_until_the_server_is_up(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()  # nothing listens here yet
    clock = Clock(NOW, frozen=True)
    svc = email_services(tmp_path, database_url, smtp_url=f"smtp://127.0.0.1:{port}?timeout=5",
                         clock=clock, fulfilment_email=None, base_delay=30.0)  # fmt: skip
    new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    assert deliver(svc) == 1
    [row] = rows(svc)
    assert row.status == "pending" and "Connection" in (row.last_error or "")
    handler = Sink()
    controller = start_smtp_on(handler, port)
    try:
        clock.advance(dt.timedelta(seconds=30))
        assert deliver(svc) == 1
        assert rows(svc)[0].status == "sent" and len(handler.messages) == 1
    finally:
        controller.stop()
        svc.close()


def start_smtp_on(handler: Sink, port: int, **kwargs):  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


def test_gives_up_after_the_last_attempt(
    tmp_path: Path, database_url: str, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    handler.refuse = "421 4.7.0 Too busy"
    clock = Clock(NOW, frozen=True)
    svc = email_services(tmp_path, database_url, smtp_url=f"smtp://127.0.0.1:{port}",
                         clock=clock, fulfilment_email=None, max_attempts=2)  # fmt: skip
    new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    deliver(svc)
    clock.advance(dt.timedelta(hours=2))
    deliver(svc)
    [row] = rows(svc)
    assert row.status == "failed" and row.attempts == 2
    assert svc.email is not None and svc.email.messages()[0].status_words == "not sent (gave up)"
    svc.close()


def test_smtp_authentication_uses_the_urls_user_and_never_logs_the_password(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from email_helpers import Authenticator

    handler = Sink()
    auth = Authenticator(handler, "shop@willowandkiln.example", "p@ss:w0rd/secret")
    controller = start_smtp(handler, authenticator=auth, auth_required=True, auth_require_tls=False)  # fmt: skip
    good = f"smtp://shop%40willowandkiln.example:p%40ss%3Aw0rd%2Fsecret@127.0.0.1:{controller.port}"
    bad = f"smtp://shop%40willowandkiln.example:wrong-secret@127.0.0.1:{controller.port}"
    caplog.set_level(logging.DEBUG)
    try:
        clock = Clock(NOW, frozen=True)
        wrong = email_services(tmp_path / "a", database_url, smtp_url=bad, clock=clock, fulfilment_email=None)  # fmt: skip
        new_return(wrong, "WK-1001", "CER-PLT-SAGE", "damaged")
        deliver(wrong)
        [row] = rows(wrong)
        assert row.status == "pending" and "refused our sign-in" in (row.last_error or "")
        wrong.close()
        # The same outbox (database), now with the right password: the waiting email goes out.
        svc = email_services(tmp_path / "b", database_url, smtp_url=good, clock=clock, fulfilment_email=None)  # fmt: skip
        clock.advance(dt.timedelta(minutes=2))
        deliver(svc)
        assert [r.status for r in rows(svc)] == ["sent"] and len(handler.messages) == 1
        assert handler.logins and handler.logins[0][0] == "shop@willowandkiln.example"
        svc.close()
    finally:
        controller.stop()
    assert "wrong-secret" not in caplog.text and "p@ss:w0rd/secret" not in caplog.text
    assert "p@ss:w0rd/secret" not in repr(parse_smtp_url(good))


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1)).not_valid_after(dt.datetime(2999, 1, 1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)  # fmt: skip
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                         serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def test_starttls_is_used_when_required_and_the_server_offers_it(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this one certificate
    handler = Sink()
    controller = start_smtp(handler, tls_context=context, require_starttls=True)
    try:
        svc = email_services(tmp_path, database_url, fulfilment_email=None,
                             smtp_url=f"smtp://127.0.0.1:{controller.port}?starttls=1")  # fmt: skip
        new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
        deliver(svc)
        assert rows(svc)[0].status == "sent" and len(handler.messages) == 1
        svc.close()
    finally:
        controller.stop()


def test_required_starttls_on_a_server_without_it_is_not_sent_in_the_clear(
    tmp_path: Path, database_url: str, sink: tuple[Sink, int]
) -> None:
    handler, port = sink
    svc = email_services(tmp_path, database_url, fulfilment_email=None,
                         smtp_url=f"smtp://127.0.0.1:{port}?starttls=1")  # fmt: skip
    new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    deliver(svc)
    [row] = rows(svc)
    assert row.status == "pending" and "STARTTLS" in (row.last_error or "")
    assert handler.messages == []
    svc.close()


def test_by_default_each_email_is_an_eml_file_in_the_data_directory(
    tmp_path: Path, database_url: str
) -> None:
    svc = email_services(tmp_path, database_url)
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    assert deliver(svc) == 3
    outbox = tmp_path / "data" / "outbox"
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 3 and {r.file_name for r in rows(svc)} == {f.name for f in files}
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    approved = next(m for m in parsed if "is approved" in str(m["Subject"]))
    assert str(approved["To"]) == MAYA and rma.id in text_of(approved)  # type: ignore[arg-type]
    [label] = list(approved.iter_attachments())  # type: ignore[attr-defined]
    assert label.get_filename() == f"return-label-{rma.id}.pdf"
    assert label.get_payload(decode=True).startswith(b"%PDF")
    assert all(r.status == "sent" for r in rows(svc))
    svc.close()


def test_a_failed_transaction_enqueues_no_email(tmp_path: Path, database_url: str) -> None:
    svc = email_services(tmp_path, database_url)
    rma = new_return(svc, "WK-1001", "CER-PLT-SAGE", "damaged")
    before = len(rows(svc))
    assert svc.email is not None
    hook = svc.email.on_return_event

    def enqueue_then_fail(s, event, record):  # type: ignore[no-untyped-def]
        hook(s, event, record)
        s.flush()  # the email row is written in the transaction…
        raise RuntimeError("the database went away")  # …which then fails

    svc.email.on_return_event = enqueue_then_fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        svc.workflow.transition(rma.id, "rejected", note="no")
    assert len(rows(svc)) == before
    still = svc.workflow.get(rma.id)
    assert still is not None and still.status == "manual_review"
    svc.close()


def test_the_smtp_url_is_a_secret_of_the_settings(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, smtp_url="smtps://me:hunter2-secret@mail.example:465")
    assert "hunter2-secret" not in repr(settings) and "hunter2-secret" not in str(settings.model_dump())  # fmt: skip
    with pytest.raises(SettingsError) as failed:
        load_settings(smtp_url="http://me:hunter2-secret@mail.example")
    assert "smtp://" in str(failed.value) and "hunter2-secret" not in str(failed.value)
    with pytest.raises(SettingsError):
        load_settings(fulfilment_email="not an address")


@pytest.mark.parametrize(
    ("code", "text", "words"),
    [
        (550, "5.1.1 <x@example.com>: Recipient address rejected: User unknown", "the address does not exist"),
        (552, "5.2.2 Mailbox full", "the mailbox is full"),
        (550, "5.7.1 Message rejected as spam", "the receiving server refused it as not allowed (spam or policy)"),
        (553, "Invalid address", "the address is not valid"),
        (554, "Transaction failed", "the receiving server refused it"),
    ],
)  # fmt: skip
def test_a_bounce_is_told_in_words(code: int, text: str, words: str) -> None:
    from actions.email.transport import bounce_words

    assert bounce_words(code, text) == words


def test_an_approval_email_not_yet_sent_is_withdrawn_when_the_return_is_cancelled(
    tmp_path: Path, database_url: str
) -> None:
    svc = email_services(tmp_path, database_url, fulfilment_email=None)
    rma = new_return(svc, "WK-1001", "CER-MUG-SAGE", "changed_mind")
    svc.workflow.transition(rma.id, "cancelled")  # before the sender's first pass
    deliver(svc)
    status = {r.event: r.status for r in rows(svc)}
    assert status == {"return_requested": "sent", "return_approved": "withdrawn"}
    after = svc.workflow.get(rma.id)
    assert after is not None and after.label is None  # no label made for a cancelled return
    assert svc.email is not None
    approved = next(m for m in svc.email.messages() if m.event == "return_approved")
    assert approved.status_words == "not sent (the return changed first)"
    svc.close()
