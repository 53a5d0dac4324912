"""What the email side is configured with: the sender, the fulfilment team, SMTP, retry knobs.

Built from the one settings model (agent/app/settings.py) by the composition root; nothing here
reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_FROM = "Willow & Kiln <returns@willowandkiln.example>"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    ssl: bool  # smtps://: TLS from the first byte
    starttls: bool | None  # True: required; None: when the server offers it; False: never
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0

    def __repr__(self) -> str:  # the password never reaches a log line
        who = f"{self.username}:***@" if self.username else ""
        scheme = "smtps" if self.ssl else "smtp"
        return f"SmtpConfig({scheme}://{who}{self.host}:{self.port}, starttls={self.starttls})"


def _flag(values: dict[str, list[str]], name: str) -> bool | None:
    raw = values.get(name, [""])[-1].strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    return None


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://user:password@host:587?starttls=1` or `smtps://host:465`; ValueError otherwise
    (the message never repeats the password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError("the SMTP URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("the SMTP URL needs a host name")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ValueError("the SMTP URL's port is not a number") from None
    query = parse_qs(parts.query)
    timeout = float(query.get("timeout", ["20"])[-1])
    return SmtpConfig(
        host=parts.hostname, port=port, ssl=parts.scheme == "smtps",
        starttls=False if parts.scheme == "smtps" else _flag(query, "starttls"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=max(1.0, min(timeout, 120.0)),
    )  # fmt: skip


def address_ok(value: str) -> bool:
    _name, addr = parseaddr(value)
    return "@" in addr and "\n" not in value and "\r" not in value and len(value) <= 320


@dataclass(frozen=True)
class EmailConfig:
    """`smtp` None: the embedded default, each message an .eml file in `<data>/outbox`."""

    mail_from: str = DEFAULT_FROM
    store_name: str = "Willow & Kiln"
    fulfilment_email: str | None = None
    smtp: SmtpConfig | None = None
    public_url: str = "http://localhost:8000"
    outbox_dir: Path | None = None  # default <data>/outbox
    base_delay: float = 60.0  # seconds before the first retry; doubles each time
    max_delay: float = 3600.0
    max_attempts: int = 8
    poll_interval: float = 5.0
