"""Logging for an operator: text lines by default, one JSON object a line on request
(`SHOPDESK_LOG_FORMAT=json`), and on every line the conversation and the turn it belongs to.

The ids live in context variables: the chat endpoint sets the conversation once a socket has one,
and each turn sets both for its own task (tasks copy the context they start in, so every line a
turn's callees write carries them). A formatter stamps them on each record through a filter on the
handler, so third-party loggers (uvicorn, httpx) get them too.

What is logged at INFO is the product's own lines: ids, counts, outcomes. Message text, tokens
and secrets are never arguments of a log call; the chat and the turn log ids only.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal, TextIO

conversation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shopdesk_conversation_id", default=None
)
turn_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shopdesk_turn_id", default=None
)

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"
# The attributes every LogRecord has; anything else on a record came from `extra=` and is kept.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "ids",
    "conversation_id",
    "turn_id",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
# A label's random file name is the credential that downloads it: never in an access line.
_CREDENTIAL_PATHS = re.compile(r"(/labels/)[^\s?\"]+")


def new_turn_id() -> str:
    return uuid.uuid4().hex[:16]


@contextlib.contextmanager
def turn_context(conv_id: str, turn: str | None = None) -> Iterator[str]:
    """Inside: every log line carries `conv_id` and a fresh turn id (yielded)."""
    turn = turn or new_turn_id()
    conv_token = conversation_id.set(conv_id)
    turn_token = turn_id.set(turn)
    try:
        yield turn
    finally:
        turn_id.reset(turn_token)
        conversation_id.reset(conv_token)


class ContextIds(logging.Filter):
    """Stamps the current conversation and turn ids on each record (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        conv, turn = conversation_id.get(), turn_id.get()
        record.conversation_id = getattr(record, "conversation_id", None) or conv
        record.turn_id = getattr(record, "turn_id", None) or turn
        parts = [f"conversation={conv}"] if conv else []
        parts += [f"turn={turn}"] if turn else []
        record.ids = f" [{' '.join(parts)}]" if parts else ""
        return True


class RedactCredentials(logging.Filter):
    """uvicorn's access lines name each request's path; a label path is cut to its folder."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(
                _CREDENTIAL_PATHS.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO-8601), level, logger, message, the ids, the
    exception's traceback when there is one, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "conversation_id": getattr(record, "conversation_id", None),
            "turn_id": getattr(record, "turn_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the moment of writing (a test runner swaps it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def handler(fmt: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    out = logging.StreamHandler(stream) if stream is not None else _Stderr()
    out.addFilter(ContextIds())
    out.addFilter(RedactCredentials())
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    out.set_name("shopdesk")
    return out


def configure_logging(
    fmt: LogFormat = "text", level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's lines (the product's `shopdesk.*`, uvicorn's, the libraries')
    through one handler in `fmt`. Idempotent: a second call replaces the handler it added."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "shopdesk"]:
        root.removeHandler(old)
    out = handler(fmt, stream)
    root.addHandler(out)
    root.setLevel(level.upper())
    # uvicorn's loggers bring handlers of their own; route them through ours instead, once.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Chatty libraries stay at WARNING unless asked for DEBUG: their INFO lines are not ours.
    for name in (
        "httpx",
        "httpcore",
        "LiteLLM",
        "litellm",
        "chromadb",
        "sentence_transformers",
        "alembic",
    ):
        logging.getLogger(name).setLevel(logging.DEBUG if level.upper() == "DEBUG" else "WARNING")
    return out


__all__ = [
    "ContextIds",
    "JsonFormatter",
    "LogFormat",
    "configure_logging",
    "conversation_id",
    "handler",
    "new_turn_id",
    "turn_context",
    "turn_id",
]
