"""Email: a durable outbox in the order store, jinja2 templates (text + HTML), and transports
(.eml files in the data directory by default, SMTP when configured)."""

from __future__ import annotations

from actions.email.codes import OutboxCodeSender
from actions.email.config import EmailConfig, SmtpConfig, parse_smtp_url
from actions.email.events import EVENTS, EmailEvent
from actions.email.outbox import EmailOutbox, OutboxMessage

__all__ = [
    "EVENTS",
    "EmailConfig",
    "EmailEvent",
    "EmailOutbox",
    "OutboxCodeSender",
    "OutboxMessage",
    "SmtpConfig",
    "parse_smtp_url",
]
