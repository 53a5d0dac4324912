"""How a rendered message leaves: an .eml file in the data directory (the embedded default, so a
store sees what would be sent), or SMTP (`smtp://` with STARTTLS when offered or required,
`smtps://`, authentication from the URL). smtplib runs in a worker thread.

A transport raises `Bounced` when the receiving side refused the message for good (SMTP 5xx on the
recipient or the data) and `TemporaryFailure` for anything worth trying again (4xx, refused or
dropped connections, timeouts, our own sign-in refused).
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from actions.email.config import SmtpConfig
from actions.files import FileKind, FileStore


class Bounced(Exception):
    def __init__(self, words: str, detail: str) -> None:
        super().__init__(detail)
        self.words, self.detail = words, detail


class TemporaryFailure(Exception):
    pass


class Withdrawn(Exception):
    """Not a transport's: the return was cancelled or rejected before its approval email went
    out, so that email must not go at all."""


class Transport(Protocol):
    name: str

    async def send(self, message: EmailMessage, *, key: str) -> str | None:
        """Send; returns where it went (a file name) or None. `key` names the message."""
        ...


class EmlFileTransport:
    """Each message as `<kind>/<key>.eml` in the file store (actions/files.py: `<data>/outbox` by
    default), written whole (a reader never sees half a file) and readable on every replica when
    the store is shared."""

    name = "eml"

    def __init__(self, files: FileStore, kind: FileKind = "outbox") -> None:
        self.files, self.kind = files, kind

    def read(self, file_name: str) -> bytes | None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}\.eml", file_name):
            return None
        return self.files.get(self.kind, file_name)

    def path_for(self, file_name: str) -> Path | None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}\.eml", file_name):
            return None
        return self.files.path(self.kind, file_name)

    async def send(self, message: EmailMessage, *, key: str) -> str | None:
        return await asyncio.to_thread(self._write, message, key)

    def _write(self, message: EmailMessage, key: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:180] + ".eml"
        self.files.put(self.kind, name, message.as_bytes())
        return name


# Enhanced status codes (RFC 3463) and basic replies, in words a store owner reads.
_BOUNCE_WORDS = (
    (r"5\.1\.(1|6|10)\b", "the address does not exist"),
    (r"5\.1\.2", "the address's domain does not take email"),
    (r"5\.1\.3|^553", "the address is not valid"),
    (r"5\.2\.2|^552", "the mailbox is full"),
    (r"5\.2\.1", "the mailbox is disabled"),
    (r"5\.7\.\d", "the receiving server refused it as not allowed (spam or policy)"),
    (r"^554", "the receiving server refused it"),
    (r"^55[01]", "the receiving server refused the address"),
)


def bounce_words(code: int, text: str) -> str:
    probe = f"{code} {text}"
    for pattern, words in _BOUNCE_WORDS:
        if re.search(pattern, probe):
            return words
    return "the receiving mail server refused it"


def _text(raw: bytes | str) -> str:
    value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(value.split())[:300]


class SmtpTransport:
    name = "smtp"

    def __init__(self, config: SmtpConfig, envelope_from: str) -> None:
        self.config = config
        self.envelope_from = parseaddr(envelope_from)[1] or envelope_from  # the bare address

    async def send(self, message: EmailMessage, *, key: str) -> str | None:
        await asyncio.to_thread(self._send, message)
        return None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = ssl.create_default_context()
        if cfg.ssl:
            return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        client.ehlo()
        offered = client.has_extn("starttls")
        if cfg.starttls and not offered:
            client.close()
            raise TemporaryFailure("the mail server does not offer STARTTLS, which is required")
        if offered and cfg.starttls is not False:
            client.starttls(context=context)
            client.ehlo()
        return client

    def _send(self, message: EmailMessage) -> None:
        cfg = self.config
        try:
            client = self._connect()
            try:
                if cfg.username:
                    client.login(cfg.username, cfg.password or "")
                client.send_message(message, from_addr=self.envelope_from)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            _raise(code, _text(text), "recipient refused")
        except smtplib.SMTPDataError as exc:
            _raise(exc.smtp_code, _text(exc.smtp_error), "message refused")
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(
                f"the mail server refused our sign-in ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise TemporaryFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}"[:300]) from None


def _raise(code: int, text: str, what: str) -> None:
    detail = f"{code} {text}".strip()
    if 500 <= code < 600:
        raise Bounced(bounce_words(code, text), detail)
    raise TemporaryFailure(f"{what}: {detail}")


__all__ = [
    "Bounced",
    "EmlFileTransport",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "Withdrawn",
    "bounce_words",
]
