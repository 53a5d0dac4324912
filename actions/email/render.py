"""Render an outbox message: jinja2 templates (plain text, and HTML with autoescape on), headers
from the configuration and the product's clock, attachments. The result is the exact message sent.

Everything in a context that came from a shopper or the model (names, notes, replies) is escaped
in the HTML part; the subject is rendered as text with line breaks removed (no header injection).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from actions.email.events import SUBJECTS, EmailEvent

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_SUBJECT = 200


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


def _envs() -> tuple[Environment, Environment]:
    loader = FileSystemLoader(str(TEMPLATES))
    common: dict[str, Any] = {"loader": loader, "undefined": StrictUndefined,
                              "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}  # fmt: skip
    text = Environment(autoescape=False, **common)  # noqa: S701 - plain text, never HTML
    html = Environment(autoescape=select_autoescape(["html"], default=True), **common)
    return text, html


TEXT_ENV, HTML_ENV = _envs()


@cache
def _subject_template(event: EmailEvent) -> Template:
    return TEXT_ENV.from_string(SUBJECTS[event])  # compiled once: subjects render in hot paths


def render_subject(event: EmailEvent, context: dict[str, Any]) -> str:
    subject = _subject_template(event).render(**context)
    return re.sub(r"[\r\n\t]+", " ", subject).strip()[:MAX_SUBJECT]


def render_bodies(event: EmailEvent, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) for the event's templates."""
    text = TEXT_ENV.get_template(f"{event.value}.txt").render(**context)
    html = HTML_ENV.get_template(f"{event.value}.html").render(**context)
    return text, html


def message_id(outbox_id: str, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "shopdesk.local"
    return f"<{outbox_id}.{secrets.token_hex(4)}@{domain}>"


def build_message(
    *,
    outbox_id: str,
    event: EmailEvent,
    mail_from: str,
    to: str,
    subject: str,
    context: dict[str, Any],
    now: datetime,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    text, html = render_bodies(event, context)
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(outbox_id, mail_from)
    msg["X-Shopdesk-Event"] = event.value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.mime.partition("/")
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg


__all__ = ["Attachment", "build_message", "message_id", "render_bodies", "render_subject"]
