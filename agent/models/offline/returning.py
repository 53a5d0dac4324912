"""The offline model's return flow: the items and reason read from the shopper, each item's
eligibility checked and relayed, the return offered in words, then authorized and its label made.

A shopper who asks whether something can go back ("can I send back the engraved mug?", "how many
days do I have left to return my print?") gets the policy's answer first: the items are checked
without a reason (the action's own default), and the result — the last day, or that the piece is
final sale — is relayed before the reason is asked for. A shopper who just asks for a return is
asked why straight away, since the reason decides the window and the refund.
"""

from __future__ import annotations

import re
from typing import Any

from agent.models.base import ModelReply
from agent.models.offline import slots
from agent.models.offline.memory import Memory
from agent.models.offline.routing import (
    ASK_REASON_EXAMPLES,
    OFFER_PERSON,
    OFFER_RETURN,
    QUESTION_START_RE,
    RETURN_RE,
)
from agent.models.offline.state import ToolOutcome

# Reasons that are the shopper's choice, not a fault: a refusal for one of these may not be final.
BUYER_REASONS = frozenset({"changed_mind", "wrong_size", "no_longer_needed", "ordered_by_mistake"})
FAULT_HINT = (
    " If it arrived damaged or we made a mistake with it, tell me what happened and I'll check "
    "again."
)
# "how many days do I have left", "until when can I…", "is it too late to…": the return window.
WINDOW_RE = re.compile(
    r"\b(?:how many days|how long|how much time)\b.{0,40}\b(?:left|still)\b|"
    r"\b(?:until|till|til) when\b|\blast day\b|\btoo late\b|\bdays left\b|\btime left\b|"
    r"\bstill (?:return|send|within|in time|eligible|returnable)\b|\bdeadline\b",
    re.I,
)

# The words of "so can I still send them back, then?": nothing asked but the return itself.
ASKING_AGAIN = frozenset(
    {"return", "send", "back", "so", "them", "they", "still", "then", "really"}
)
OWN_RE = re.compile(r"\b(?:my|our|mine|ours)\b", re.I)


def asks_if_returnable(text: str) -> bool:
    """A question whether (or until when) something can go back, not a request to send it."""
    asks = QUESTION_START_RE.match(text) is not None or text.rstrip().endswith("?")
    return bool(WINDOW_RE.search(text)) or (asks and RETURN_RE.search(text) is not None)


class ReturnFlows(Memory):
    # Provided by the Planner.
    def say(self, text: str) -> ModelReply:
        raise NotImplementedError

    def call(self, name: str, arguments: dict[str, Any]) -> ModelReply:
        raise NotImplementedError

    def call_many(self, name: str, argument_sets: list[dict[str, Any]]) -> ModelReply:
        raise NotImplementedError

    def relay(self, outcomes: list[ToolOutcome] | None = None) -> str:
        raise NotImplementedError

    def verified_order(self, what: str) -> tuple[dict[str, Any] | None, ModelReply | None]:
        raise NotImplementedError

    # Reading the request --------------------------------------------------------------------------
    @staticmethod
    def asks_again(text: str) -> bool:
        """After the offer, "can I send them back?" asks for what was just offered."""
        rest = slots.content_terms(text) - ASKING_AGAIN
        return asks_if_returnable(text) and not rest

    def asks_about_own_window(self) -> bool:
        """A question about the window of the shopper's own order ("how many days do I have left
        to return my print?")."""
        text = self.text
        own = OWN_RE.search(text) is not None or bool(self.order_ids_in(text))
        # "how long do I still have to wait for my order?" is about the parcel, not the window
        returning = RETURN_RE.search(text) is not None or "returnable" in text.lower()
        return (
            own and returning and "check_eligibility" in self.tools and bool(WINDOW_RE.search(text))
        )

    def resolution_note(self, since: int) -> str:
        """Eligibility is worded as a refund; say so when the shopper asked for something else."""
        resolution = self.resolution(since)
        if resolution == "refund":
            return ""
        return f" You asked for {resolution.replace('_', ' ')} instead of a refund."

    def return_flow(self, consent: bool | None) -> ModelReply:
        order, reply = self.verified_order("a return")
        if reply is not None:
            return reply
        assert order is not None
        since = self.scope_start()
        done = [o for o in self.turn if o.name in ("create_return_authorization", "generate_label")]
        if done:
            return self.after_authorization()
        offered = [o for o in self.offered_checks(since) if o.ok and self.eligible(o)]
        if consent is not None and offered:
            if not consent:
                return self.say(
                    "No problem — I haven't started a return. Anything else I can help with?"
                )
            return self.authorize(offered, since)
        picked = self.items(order, since)
        reason = self.reason(since)
        if picked and reason is None and self.asked_if_returnable(since):
            first_look = self.first_look(order, picked, since)
            if first_look is not None:
                return first_look
        if not picked or reason is None:
            return self.ask_item_and_reason(order, [item for item, _ in picked], reason)
        current = [o for o in self.turn if o.name == "check_eligibility"]
        if current:
            return self.after_checks(current, reason, since)
        return self.call_many(
            "check_eligibility",
            [
                {
                    "order_id": order["order_id"],
                    "sku": item["sku"],
                    "quantity": qty,
                    "reason": reason,
                }
                for item, qty in picked
            ],
        )

    def asked_if_returnable(self, since: int) -> bool:
        return any(asks_if_returnable(text) for text in self.user_texts(since))

    def first_look(
        self, order: dict[str, Any], picked: list[tuple[dict[str, Any], int]], since: int
    ) -> ModelReply | None:
        """Check the items without a reason and say what the policy allows; None once done."""
        current = [o for o in self.turn if o.name == "check_eligibility"]
        if current:
            return self.after_first_look(current, [item for item, _ in picked])
        if any(o.name == "check_eligibility" and o.index > since for o in self.conv.outcomes):
            return None  # looked already: now the reason
        return self.call_many(
            "check_eligibility",
            [
                {"order_id": order["order_id"], "sku": item["sku"], "quantity": qty}
                for item, qty in picked
            ],
        )

    def after_first_look(
        self, checks: list[ToolOutcome], picked: list[dict[str, Any]]
    ) -> ModelReply:
        if not all(o.ok for o in checks):
            return self.say(self.relay())
        if not any(self.eligible(o) for o in checks):  # final sale, past the window: say so
            return self.say(f"{self.relay()}{FAULT_HINT} {OFFER_PERSON}")
        names = slots.join_or([f"the {i.get('name')}" for i in picked], "and")
        return self.say(
            f"{self.relay()} If you'd like to return {names}, what's the reason — "
            f"{ASK_REASON_EXAMPLES}?"
        )

    def after_checks(self, checks: list[ToolOutcome], reason: str, since: int) -> ModelReply:
        """Relay each item's eligibility; offer the return if any item qualifies."""
        if any(self.eligible(o) for o in checks if o.ok):
            return self.say(f"{self.relay()}{self.resolution_note(since)} {OFFER_RETURN}")
        if not all(o.ok for o in checks):
            return self.say(self.relay())
        # A fault may still qualify where a change of mind didn't.
        hint = FAULT_HINT if reason in BUYER_REASONS else ""
        return self.say(f"{self.relay()}{hint} {OFFER_PERSON}")

    def ask_item_and_reason(
        self, order: dict[str, Any], picked: list[dict[str, Any]], reason: str | None
    ) -> ModelReply:
        prefix = self.relay()
        if not picked:
            names = [f"the {i.get('name')}" for i in order.get("items") or []]
            text = f"Which item would you like to return: {slots.join_or(names)}?"
            if reason is None:
                text += f" And why are you returning it — {ASK_REASON_EXAMPLES}?"
        else:
            names = [f"the {i.get('name')}" for i in picked]
            text = (
                f"Could you tell me why you're returning {slots.join_or(names, 'and')} — "
                f"{ASK_REASON_EXAMPLES}?"
            )
        return self.say(f"{prefix} {text}" if prefix else text)

    def authorize(self, checks: list[ToolOutcome], since: int) -> ModelReply:
        tool = self.tools.get("create_return_authorization")
        if tool is None:
            return self.say(f"I can't start returns here. {OFFER_PERSON}")
        first = checks[0].arguments
        lines = [
            {"sku": o.arguments.get("sku"), "quantity": o.arguments.get("quantity", 1)}
            for o in checks
        ]
        arguments: dict[str, Any] = {"order_id": first.get("order_id")}
        if "lines" in tool.properties:
            arguments["lines"] = lines
        else:
            arguments.update(lines[0])
        arguments["reason"] = first.get("reason")
        if "resolution" in tool.properties:
            arguments["resolution"] = self.resolution(since)
        return self.call("create_return_authorization", arguments)

    def after_authorization(self) -> ModelReply:
        created = [o for o in self.turn if o.name == "create_return_authorization"]
        labels = [o for o in self.turn if o.name == "generate_label"]
        if created and created[-1].ok and not labels:
            rma = created[-1].result
            if (
                rma.get("status") == "approved"
                and rma.get("needs_label", rma.get("return_shipping_required", True))
                and "generate_label" in self.tools
                and rma.get("rma_id")
            ):
                return self.call("generate_label", {"rma_id": rma["rma_id"]})
        text = self.relay()
        if labels and not labels[-1].ok and labels[-1].code == "declined":
            text = (
                self.relay(created)
                + " I haven't made a label yet — just ask whenever you want one."
            )
        if created and created[-1].ok is False and created[-1].code == "declined":
            text = "No problem — I haven't started a return. Anything else I can help with?"
        return self.say(text or "Done.")
