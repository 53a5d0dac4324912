"""The seam between `lookup_order` and the store's verification rules (agent/chat/verification.py).

`lookup_order` is where a guest proves who they are (order number + email). What else that takes,
and how many wrong tries are allowed, is the chat server's business: it plugs an `IdentityGate`
into the action services. Without one (the CLI's `actions call`) a lookup is a plain match.

The client's address is not part of an action's arguments (a model must never choose it); the chat
socket sets `CLIENT_ADDRESS` for everything it runs, and the turn's task inherits it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from actions.context import ActionContext, ActionError
    from actions.records import Order

CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("shopdesk_client_address", default=None)


class IdentityGate(Protocol):
    async def before_lookup(self, ctx: ActionContext, order_id: str, email: str) -> None:
        """Raise ActionError when this lookup may not even be tried (locked, signed-only)."""
        ...

    async def lookup_failed(self, ctx: ActionContext, order_id: str, email: str) -> ActionError:
        """Count a failed match; the error to answer with (not found, or now locked)."""
        ...

    async def lookup_matched(self, ctx: ActionContext, order: Order, email: str) -> None:
        """The pair matched: raise ActionError to withhold the order (a code must come first)."""
        ...


__all__ = ["CLIENT_ADDRESS", "IdentityGate"]
