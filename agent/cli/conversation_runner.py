"""Play corpus conversations through the real app: uvicorn on 127.0.0.1, the `/ws` protocol, REST.

Each conversation gets its own app on its own data directory (copied from one prepared with the
store's orders), so a return made in one conversation never changes what another one sees. The
knowledge base is indexed once per run and shared. Only stable surfaces are used: `build_app`,
`Settings`, the websocket events of DESIGN.md and the `/v1` REST routes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from agent.app.settings import Settings
from agent.cli.conversation_corpus import Confirm, Conversation, SetupStep

END_OF_TURN = frozenset({"assistant_message", "confirmation_request", "error"})
# Used when the server does not list its actions: the built-in ones that change something.
DEFAULT_SIDE_EFFECTS = frozenset({"create_return_authorization", "generate_label", "capture_lead"})
Event = dict[str, Any]


@dataclass
class Step:
    """One thing the shopper did and every event the server sent until the turn ended."""

    sent: str
    events: list[Event] = field(default_factory=list)

    @property
    def error(self) -> Event | None:
        return next((e for e in self.events if e.get("type") == "error"), None)


@dataclass
class Played:
    conversation: Conversation
    steps: list[Step] = field(default_factory=list)
    problem: str | None = None  # the conversation could not be played to its end
    note: str | None = None  # played as far as it could go (a person took over)
    rma_id: str | None = None  # the return made in setup: "{rma}" in turns and expectations
    seconds: float = 0.0

    @property
    def events(self) -> list[Event]:
        return [event for step in self.steps for event in step.events]


class StalledError(Exception):
    """The shopper could not go on (no card to answer, setup refused)."""


class Arena:
    """What one run shares: the settings, the indexed knowledge base, a prepared data directory."""

    def __init__(self, settings: Settings, workdir: Path, timeout: float) -> None:
        self.settings = settings
        self.workdir = workdir
        self.timeout = timeout
        self.kb: Any = None
        self.template = workdir / "template"
        self.side_effects: frozenset[str] = DEFAULT_SIDE_EFFECTS
        self._count = 0

    def prepare(self) -> None:
        """Index the knowledge base and make the template data directory (migrated, orders in)."""
        from knowledge import KnowledgeBase

        self.kb = KnowledgeBase(Path(self.settings.kb), self.workdir / "knowledge")
        self.kb.index()
        server = self._server(self.template)
        try:
            self.side_effects = _side_effects(server.http_url, self.settings.admin_token)
        finally:
            server.stop()

    def _settings(self, data: Path, port: int) -> Settings:
        # A fresh Settings (not a copy) so each conversation's clock starts at `now` again.
        values = self.settings.model_dump() | {"data": data, "port": port, "database_url": None}
        return Settings(**values)

    def _server(self, data: Path) -> Any:
        from agent.app.background import BackgroundServer
        from agent.app.server import build_app

        def make(port: int) -> Any:
            return build_app(self._settings(data, port), kb=self.kb)

        return BackgroundServer(make, settings=self.settings).start()

    def play(self, conversation: Conversation) -> Played:
        """One conversation on a server of its own; never raises for what the server does."""
        self._count += 1
        data = self.workdir / f"c{self._count:04d}"
        shutil.copytree(self.template, data)
        started = time.perf_counter()
        server = self._server(data)
        played = Played(conversation)
        try:
            asyncio.run(self._play(server, played, data))
        finally:
            server.stop()
            shutil.rmtree(data, ignore_errors=True)
        played.seconds = time.perf_counter() - started
        return played

    async def _play(self, server: Any, played: Played, data: Path) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                setup = played.conversation.setup
                played.rma_id = await _setup(server.http_url, self.settings.admin_token, setup)
                if setup:
                    await _emails_out(self._settings(data, server.port).resolved_database_url)
                await _chat(server.ws_url, self.settings.secret, played)
        except TimeoutError:
            played.problem = f"timed out after {self.timeout:g} s"
        except StalledError as exc:
            played.problem = str(exc)
        except OSError as exc:
            played.problem = f"connection failed: {exc}"


def _side_effects(http_url: str, token: str) -> frozenset[str]:
    """The actions that wait for a confirmation, as the server lists them (GET /v1/actions)."""
    try:
        response = httpx.get(
            f"{http_url}/v1/actions", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        actions = response.json()["actions"]
        return frozenset(a["name"] for a in actions if a.get("confirm"))
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return DEFAULT_SIDE_EFFECTS


async def _setup(http_url: str, token: str, steps: list[SetupStep]) -> str | None:
    """Returns and staff decisions through the admin REST API, before the shopper arrives; the
    id of the last return made."""
    if not steps:
        return None
    headers = {"Authorization": f"Bearer {token}"}
    rma_id: str | None = None
    async with httpx.AsyncClient(base_url=http_url, headers=headers, timeout=30) as client:
        for step in steps:
            if step.return_ is not None:
                made = step.return_
                body = {
                    "order_id": made.order,
                    "lines": [{"sku": sku, "quantity": made.quantity} for sku in made.items],
                    "reason": made.reason,
                    "customer_email": made.email,
                }
                response = await client.post("/v1/returns", json=body)
                if response.status_code >= 400:
                    raise StalledError(f"setup: the return was refused: {response.text[:300]}")
                rma_id = response.json()["id"]
            elif step.decide is not None:
                if rma_id is None:
                    raise StalledError("setup: `decide` needs a `return` before it")
                body = step.decide.model_dump(exclude_none=True)
                response = await client.patch(f"/v1/returns/{rma_id}", json=body)
                if response.status_code >= 400:
                    raise StalledError(f"setup: the decision was refused: {response.text[:300]}")
    return rma_id


async def _emails_out(database_url: str, patience: float = 20.0) -> None:
    """Wait until the server has sent the emails the setup's decisions queued: the shopper of a
    setup arrives after the store's email, so the approval email has made the label (a race
    otherwise decides whether the shopper is offered one or told it is ready)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    query = sa.text("SELECT count(*) FROM email_messages WHERE status = 'pending' AND attempts = 0")
    try:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if not connection.execute(query).scalar():
                    return
            await asyncio.sleep(0.05)
    finally:
        engine.dispose()


async def _chat(ws_url: str, secret: str, played: Played) -> None:
    from agent.chat.identity import sign_email

    conversation = played.conversation
    hello: Event = {"type": "hello"}
    if conversation.signed_in:
        email = conversation.signed_in
        hello["identity"] = {"email": email, "signature": sign_email(email, secret)}
    async with connect(ws_url, open_timeout=10, max_size=None) as ws:
        await ws.send(json.dumps(hello))
        await _until(ws, {"ready", "error"})
        card: Event | None = None
        for number, turn in enumerate(conversation.turns, start=1):
            if isinstance(turn, Confirm):
                if card is None:
                    raise StalledError(f"turn {number}: no confirmation card to answer")
                answer = {"type": "confirmation_response", "id": card["id"]}
                step = Step(sent=f"[{'Confirm' if turn.confirm else 'Cancel'}]")
                await ws.send(json.dumps(answer | {"approved": turn.confirm}))
            else:
                text = turn.replace("{rma}", played.rma_id or "")
                step = Step(sent=text)
                await ws.send(json.dumps({"type": "user_message", "text": text}))
            played.steps.append(step)
            step.events = await _until(ws, END_OF_TURN)
            last = step.events[-1]
            if last["type"] == "confirmation_request":
                card = last
            elif last["type"] == "assistant_message":
                card = None
            if any(e.get("type") == "handoff" for e in step.events):
                rest = len(conversation.turns) - number
                if rest:
                    played.note = f"handed to a person at turn {number}; {rest} turns not played"
                return


async def _until(ws: ClientConnection, kinds: frozenset[str] | set[str]) -> list[Event]:
    events: list[Event] = []
    while True:
        event = json.loads(await ws.recv())
        events.append(event)
        if event.get("type") in kinds:
            return events


__all__ = ["Arena", "Played", "Step"]
