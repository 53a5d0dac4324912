"""A webhook receiver on loopback (stdlib http.server in a thread) for the webhook tests.

With a secret it verifies every request the way a store's developer would, with the
`standardwebhooks` library, and answers 401 to a bad signature or to a timestamp more than five
minutes from the clock (a replay). The library compares against the wall clock; the receiver
compares against the test's clock instead, so no expectation depends on today's date.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE = timedelta(minutes=5)


class ClockedWebhook(Webhook):
    """The library's verifier with its timestamp check read from an injected clock."""

    def __init__(self, secret: str, clock: Callable[[], datetime]) -> None:
        super().__init__(secret)
        self._clock = clock

    # `Webhook.verify` calls its private `__verify_timestamp`, i.e. `_Webhook__verify_timestamp`.
    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:  # noqa: N802
        try:
            stamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except ValueError:
            raise WebhookVerificationError("Invalid Signature Headers") from None
        now = self._clock()
        if stamp < now - TOLERANCE:
            raise WebhookVerificationError("Message timestamp too old")
        if stamp > now + TOLERANCE:
            raise WebhookVerificationError("Message timestamp too new")
        return stamp


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    verdict: str  # "ok", "failing on purpose", or the library's reason for refusing


class _Server(ThreadingHTTPServer):
    # Senders post up to 50 deliveries at once each; the default listen backlog (5) would refuse
    # some connections when two replicas send together.
    request_queue_size = 256


class Receiver:
    """Answers `fail_first` requests with 500 (after verifying them), then 200."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        secret: str | None = None,
        fail_first: int = 0,
    ) -> None:
        self.clock, self.secret, self.fail_first = clock, secret, fail_first
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.handle(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shopdesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def verdict(self, headers: dict[str, str], body: bytes) -> str:
        if self.secret is None:
            return "ok"
        try:
            ClockedWebhook(self.secret, self.clock).verify(body, headers)
        except WebhookVerificationError as exc:
            return str(exc)
        return "ok"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        verdict = self.verdict(headers, body)
        with self._lock:
            failing = verdict == "ok" and len(self.requests) < self.fail_first
            status = 401 if verdict != "ok" else (500 if failing else 200)
            self.requests.append(
                Received(headers, body, status, "failing on purpose" if failing else verdict)
            )
        return status

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
