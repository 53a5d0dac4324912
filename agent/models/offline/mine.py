"""A verified shopper's own orders, without an order number: `list_my_orders` lists them, and the
shopper's words (an item they name, an order number) pick one; with several and nothing to go on,
the shopper is asked which, the orders named.

The shopper is verified already (signed in by the host page, or by an earlier lookup), so the
listed orders are theirs: the identity scoping is the action's, not the model's.
"""

from __future__ import annotations

import re
from typing import Any

from agent.models.base import ModelReply
from agent.models.offline import slots
from agent.models.offline.memory import Memory
from agent.models.offline.routing import QUESTION_START_RE, RETURN_RE

LIST_TOOL = "list_my_orders"
# "my order", "our parcels", "what did I order": about the shopper's own orders, not the policy.
MINE_RE = re.compile(
    r"\b(?:my|our) (?:last |latest |recent |new |most recent )?(?:orders?|purchases?|parcels?|"
    r"packages?|stuff|things|deliver(?:y|ies)|shipments?)\b|"
    r"\bwhat (?:did|have) (?:i|we) (?:just )?(?:order(?:ed)?|buy|bought)\b|"
    r"\b(?:i|we) (?:just )?(?:ordered|bought)\b",
    re.I,
)
# Orders still on their way: "where's my order?" of several most likely means one of these.
ON_THE_WAY = frozenset({"shipped", "processing", "placed", "paid", "in_transit"})


class SignedIn(Memory):
    # Provided by the Planner.
    def say(self, text: str) -> ModelReply:
        raise NotImplementedError

    def call(self, name: str, arguments: dict[str, Any]) -> ModelReply:
        raise NotImplementedError

    def can_list_orders(self) -> bool:
        verified = self.facts.customer_email
        return bool(verified) and LIST_TOOL in self.tools and self.email() == verified

    def about_my_orders(self) -> bool:
        """A verified shopper talking about their own order(s)."""
        return self.can_list_orders() and MINE_RE.search(self.text) is not None

    def signed_in_intent(self, intent: str) -> str:
        """A verified shopper's "my order" is about their order, and "the aprons are too small"
        starts a return: there is no order number to wait for."""
        if intent not in ("", "question") or not self.can_list_orders():
            return intent
        asks = QUESTION_START_RE.match(self.text) is not None  # "can I send back the vases?"
        if slots.find_reason(self.text) and (not asks or RETURN_RE.search(self.text)):
            return "return"
        return "lookup" if self.about_my_orders() else intent

    def listed_orders(self) -> list[dict[str, Any]]:
        listing = self.conv.last(LIST_TOOL, ok=True)
        if listing is None:
            return []
        return [o for o in listing.result.get("orders") or [] if isinstance(o, dict)]

    def my_order(self, what: str) -> tuple[str | None, ModelReply | None]:
        """The order number the shopper means, from their list — or the reply that gets there."""
        listing = self.conv.last(LIST_TOOL, ok=True)
        if listing is None:
            failed = [o for o in self.turn if o.name == LIST_TOOL and not o.ok]
            if failed:
                return None, self.say(failed[-1].message)
            return None, self.call(LIST_TOOL, {})
        orders = self.listed_orders()
        if not orders:
            return None, self.say(
                f"{listing.message} If you have an order number, tell me and I'll look."
            )
        picked = self.pick_listed(orders, tracking="track" in what)
        if picked is not None:
            return str(picked.get("order_id")), None
        numbers = [str(o.get("order_id")) for o in orders]
        named = ", ".join(numbers[:-1]) + f" or {numbers[-1]}"
        return None, self.say(
            f"{listing.message} Which one is this about — {named}? "
            "The order number or an item on it is enough."
        )

    def pick_listed(self, orders: list[dict[str, Any]], tracking: bool) -> dict[str, Any] | None:
        if len(orders) == 1:
            return orders[0]
        for text in self.user_texts(self.scope_start()):
            holding = [o for o in orders if slots.match_items(text, o.get("items") or [])]
            if len(holding) == 1:
                return holding[0]
            if holding:  # the item is on several orders: the newest (the list is newest first)
                return holding[0]
        if tracking:
            moving = [o for o in orders if str(o.get("status")) in ON_THE_WAY]
            if len(moving) == 1:
                return moving[0]
        return None
