"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and the services wired to
it, shared by the email tests."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from actions.clock import Clock
from actions.email import EmailConfig, parse_smtp_url
from actions.policy import evaluate_line
from actions.services import ActionServices, build_services
from actions.store.rma import ReturnAuthorization

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
FROM = "Willow & Kiln <returns@willowandkiln.example>"
TEAM = "fulfilment@willowandkiln.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    """aiosmtpd's handler: answers RCPT with `refuse` when set (e.g. "550 5.1.1 User unknown")."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: str | None = None
    logins: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802,E501  # fmt: skip
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class Authenticator:
    """Accepts one user/password pair over AUTH PLAIN/LOGIN; remembers who signed in."""

    def __init__(self, sink: Sink, user: str, password: str) -> None:
        self.sink, self.user, self.password = sink, user, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:  # fmt: skip
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if (user, password) == (self.user, self.password):
                self.sink.logins.append((user, mechanism))
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def start_smtp(sink: Sink, **kwargs: Any) -> Controller:
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


def email_services(
    tmp_path: Path,
    database_url: str,
    *,
    smtp_url: str | None = None,
    clock: Clock | None = None,
    **config: Any,
) -> ActionServices:
    config.setdefault("fulfilment_email", TEAM)
    settings = EmailConfig(
        mail_from=FROM, public_url="http://shop.test",
        smtp=parse_smtp_url(smtp_url) if smtp_url else None, **config,
    )  # fmt: skip
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test", clock=clock or Clock(NOW, frozen=True), email=settings,
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    return svc


def new_return(
    svc: ActionServices, order_id: str, sku: str, reason: str, resolution: str = "refund"
) -> ReturnAuthorization:
    order = svc.store.find_order(order_id)
    assert order is not None
    item = order.line(sku)
    assert item is not None
    line = evaluate_line(order, item, 1, reason, svc.policy, svc.clock())  # type: ignore[arg-type]
    return svc.workflow.create_authorization(order, [line], reason, resolution, None, None)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return " ".join(str(part.get_content()).split())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())
