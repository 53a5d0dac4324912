"""Servers for the throttling and verification tests: the offline model over the demo orders, on a
real uvicorn on loopback, and a code sender that keeps the codes it was asked to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.app.settings import Settings
from tests.ws_helpers import CannedKnowledge, Client

DEMO_NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
HANNAH = "hannah.schultz@example.com"  # owns WK-1009, shipped with this tracking number:
HANNAH_TRACKING = "9400111899223108378320"


@dataclass
class CapturedCodes:
    """The test's side of the VerificationCodeSender seam: the codes, as the shopper's inbox."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send_code(self, email: str, code: str, store_name: str) -> None:
        self.sent.append((email, code, store_name))

    @property
    def last_code(self) -> str:
        return self.sent[-1][1]


def shop_settings(data: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data": data, "now": DEMO_NOW, "model": "shopdesk/offline"}
    values.update(overrides)
    return Settings(**values)


def shop_server(settings: Settings) -> BackgroundServer:
    def make(port: int) -> Any:
        return build_app(settings.model_copy(update={"port": port}), kb=CannedKnowledge())

    return BackgroundServer(make, settings=settings).start()


def texts(events: list[dict[str, Any]]) -> str:
    """Everything a shopper's widget was sent, as one string (to look for leaked order data)."""
    import json

    return "\n".join(json.dumps(e) for e in events)


async def answer(c: Client, text: str) -> str:
    """Say `text`; the assistant's final words (or the error's)."""
    events = await c.say(text)
    end = events[-1]
    return str(end.get("text") or end.get("message"))


__all__ = [
    "DEMO_NOW",
    "HANNAH",
    "HANNAH_TRACKING",
    "CapturedCodes",
    "answer",
    "shop_server",
    "shop_settings",
    "texts",
]
