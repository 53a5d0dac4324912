"""What an action receives and returns: the per-call context, the result base class and the error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # the services module pulls in SQLAlchemy; actions only need the type
    from actions.services import ActionServices


def _new_key() -> str:
    return uuid.uuid4().hex


@dataclass(kw_only=True)
class ActionContext:
    """One action call's world: the shopper verified in this conversation (or None), the services
    (order store, policy, workflow, carrier), the clock reading for the call and its idempotency key.

    `now` is required: it is a reading of the product's one clock (`services.clock()`), never a
    default taken from the wall clock."""

    services: ActionServices
    now: datetime
    customer_email: str | None = None
    idempotency_key: str = field(default_factory=_new_key)
    conversation_id: str | None = None

    def __post_init__(self) -> None:
        # Emails compare case-insensitively everywhere; normalise once at the boundary.
        if self.customer_email is not None:
            self.customer_email = self.customer_email.strip().lower() or None
        if self.now.tzinfo is None:
            self.now = self.now.replace(tzinfo=UTC)


class ActionResult(BaseModel):
    """Base of every action's result. `message` is one plain sentence for the shopper, built by code;
    the offline model and the widget show it as is."""

    model_config = ConfigDict(extra="forbid")

    message: str


class ActionError(Exception):
    """An action refused or failed. `code` is machine-readable (`order_not_found`, `final_sale`, …);
    `message` is one plain sentence the shopper can read."""

    def __init__(
        self, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"ActionError({self.code!r}, {self.message!r})"
