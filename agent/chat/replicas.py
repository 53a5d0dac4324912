"""Live sessions across replicas: what a `SessionManager` shares through the bus and turn locks.

- Every event a session emits goes to its sockets here and, over the bus, to the sockets of the
  same conversation on the other replicas (`fanout`; the channel is "conv").
- A turn (new message, late answer) runs under the conversation's turn lock; a message arriving
  while another replica's turn holds it gets the same `busy` answer as a local one.
- The model's history is reloaded when the lock changes hands: another replica has added to the
  conversation since this one last looked.
- An answer to a confirmation whose turn waits on another replica is sent there ("confirm"); that
  replica resolves it and its turn goes on. If that replica dies, its lease lapses, and this
  replica takes the lock and runs the answer through the late path (`resume_turn`); the store's
  atomic resolve makes it run exactly once either way.
- Whether a person owns a conversation ("status") reaches every replica's session.

With the embedded `LocalBus`/`LocalTurnLocks` all of this reduces to today's single process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from agent.chat.bus import Bus, Payload
from agent.chat.events import ErrorEvent, ServerEvent
from agent.chat.live_session import Session
from agent.chat.refusals import is_refusal
from agent.chat.turn_locks import Lease, TurnLocks

if TYPE_CHECKING:
    from agent.chat.sessions import SessionManager

log = logging.getLogger("shopdesk.replicas")

BUSY = ErrorEvent(code="busy", message="Still working on your last message; send this one after.")
ANSWER_FIRST = ErrorEvent(code="busy", message="Please answer the confirmation question first.")
UNKNOWN = ErrorEvent(
    code="unknown_confirmation", message="There is no question waiting for that answer."
)


class Replicas:
    def __init__(self, bus: Bus, locks: TurnLocks, *, lease_seconds: float) -> None:
        self.bus = bus
        self.locks = locks
        self.lease_seconds = lease_seconds
        self.manager: SessionManager | None = None
        self._background: set[asyncio.Task[None]] = set()
        # Leases of turns that have just ended here, on their way back to Redis.
        self._releasing: dict[str, asyncio.Task[None]] = {}

    @property
    def distributed(self) -> bool:
        return self.bus.distributed

    def bind(self, manager: SessionManager) -> None:
        self.manager = manager
        self.bus.subscribe("conv", self._event)
        self.bus.subscribe("confirm", self._answer)
        self.bus.subscribe("status", self._status)

    def _sessions(self) -> dict[str, Session]:
        assert self.manager is not None, "Replicas.bind(manager) first"
        return self.manager.sessions

    # Events ------------------------------------------------------------------------------------
    def fanout(self, conv_id: str, text: str) -> None:
        self.bus.publish("conv", {"conversation_id": conv_id, "event": text})

    async def tell(self, conv_id: str, event: ServerEvent) -> None:
        """Show `event` on every socket of the conversation, on every replica."""
        session = self._sessions().get(conv_id)
        if session is not None:
            await session.emit(event)  # here, and fanned out
        else:
            self.fanout(conv_id, event.model_dump_json())

    async def _event(self, payload: Payload) -> None:
        session = self._sessions().get(str(payload.get("conversation_id")))
        if session is not None:
            await session.emit_local(str(payload.get("event")))

    def set_human(self, conv_id: str, human: bool) -> None:
        session = self._sessions().get(conv_id)
        if session is not None:
            session.human = human
        self.bus.publish("status", {"conversation_id": conv_id, "human": human})

    async def _status(self, payload: Payload) -> None:
        session = self._sessions().get(str(payload.get("conversation_id")))
        if session is not None:
            session.human = bool(payload.get("human"))

    # Turn locks --------------------------------------------------------------------------------
    async def lease(self, session: Session) -> Lease | None:
        """The conversation's lock for a turn here. The shopper may answer the moment the last
        event arrives, before the ended turn's release has reached Redis: that release is waited
        for (ours), and another replica's gets a moment (a few tries) before the answer is busy."""
        lease: Lease | None = None
        for attempt in range(4 if self.distributed else 1):
            releasing = self._releasing.get(session.id)
            if releasing is not None:
                await asyncio.wait({releasing})
            elif attempt:
                await asyncio.sleep(0.05)
            if (lease := await self.locks.acquire(session.id)) is not None:
                break
        if lease is not None and lease.changed_hands:
            session.history = None  # another replica has added to it since
        return lease

    async def wait_lease(self, conv_id: str) -> Lease:
        """The conversation's lock once no turn holds it (a notice waits for the turn to end)."""
        while (lease := await self.locks.acquire(conv_id)) is None:
            await asyncio.sleep(0.05)
        session = self._sessions().get(conv_id)
        if session is not None and lease.changed_hands:
            session.history = None
        return lease

    def keep_until_done(self, session: Session, before: asyncio.Task[None] | None, lease: Lease) -> None:  # fmt: skip
        """Hold `lease` while the turn just started (if one did) runs, then release it."""
        turn = session.turn
        if turn is not None and turn is not before and not turn.done():
            turn.add_done_callback(lambda _: self._release(session.id, lease))
        else:
            self._release(session.id, lease)

    def _release(self, conv_id: str, lease: Lease) -> None:
        task = self._spawn(lease.release())
        self._releasing[conv_id] = task

        def gone(_: object) -> None:
            if self._releasing.get(conv_id) is task:
                del self._releasing[conv_id]

        task.add_done_callback(gone)

    async def busy(self, session: Session, text: str) -> ErrorEvent | None:
        """A message while another replica runs this conversation's turn: as a local busy, and a
        typed "no" at an open card declines it."""
        assert self.manager is not None
        store = self.manager.store
        pending = await store.acall(store.pending_confirmation, session.id)
        if pending is None:
            return BUSY
        if is_refusal(text):
            return await self.manager.confirmation_response(session, pending.id, approved=False)
        return ANSWER_FIRST

    # Confirmations -----------------------------------------------------------------------------
    async def answer_elsewhere(
        self, session: Session, confirmation_id: str, approved: bool
    ) -> ErrorEvent | None:
        """The turn that asked holds the lock on another replica: send it the answer, and watch
        that it is taken (or that replica's lease lapses, and answer it here)."""
        assert self.manager is not None
        store = self.manager.store
        pending = await store.acall(store.pending_confirmation, session.id)
        if pending is None or pending.id != confirmation_id:
            return UNKNOWN
        self.bus.publish(
            "confirm",
            {"conversation_id": session.id, "id": confirmation_id, "approved": approved},
        )
        self._spawn(self._watch_answer(session, confirmation_id, approved))
        return None

    async def _answer(self, payload: Payload) -> None:
        session = self._sessions().get(str(payload.get("conversation_id")))
        confirmation_id = str(payload.get("id"))
        if session is None or confirmation_id not in session.waiting:
            return  # not waiting here; the replica that got the answer watches over it
        assert self.manager is not None
        await self.manager.confirmation_response(
            session, confirmation_id, bool(payload.get("approved"))
        )

    async def _watch_answer(self, session: Session, confirmation_id: str, approved: bool) -> None:
        assert self.manager is not None
        manager, store = self.manager, self.manager.store
        step = min(1.0, self.lease_seconds / 4)
        for _ in range(int(manager.grace_seconds / step) + 1):
            await asyncio.sleep(step)
            pending = await store.acall(store.pending_confirmation, session.id)
            if pending is None or pending.id != confirmation_id:
                return  # answered where the turn runs
            if session.busy:
                continue
            lease = await self.lease(session)
            if lease is None:
                continue  # the asking replica still holds its lease
            before = session.turn
            session.turn = asyncio.create_task(
                manager.late(session, pending, approved), name=f"late-{session.id}"
            )
            self.keep_until_done(session, before, lease)
            return

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        """Let releases finish (the next turn need not wait for a lease to lapse); stop watching."""
        await asyncio.sleep(0)
        if self._background:
            await asyncio.wait(set(self._background), timeout=1.0)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


__all__ = ["Replicas"]
