"""The offline model's flows for a return already made: its status in any conversation (verifying
the shopper first when needed), "why?" after a rejection, and "what happens now?".

Everything said comes from `get_return_status`'s result (its `message`, `rejection_reason` and
`next_step`): the model never words a decision itself.
"""

from __future__ import annotations

import re
from typing import Any

from agent.models.base import ModelReply
from agent.models.offline import slots
from agent.models.offline.memory import Memory
from agent.models.offline.routing import OFFER_PERSON, RMA_RE, classify
from agent.models.offline.state import ToolOutcome

STATUS_TOOL = "get_return_status"
TIMING_RE = re.compile(r"\b(?:when|how long|how soon|how many days)\b", re.I)
ALL_RE = re.compile(r"\b(?:returns|all|every|any)\b", re.I)


class StatusFlows(Memory):
    # Provided by the Planner.
    def say(self, text: str) -> ModelReply:
        raise NotImplementedError

    def call(self, name: str, arguments: dict[str, Any]) -> ModelReply:
        raise NotImplementedError

    def verified_order(self, what: str) -> tuple[dict[str, Any] | None, ModelReply | None]:
        raise NotImplementedError

    # Flows --------------------------------------------------------------------------------------
    def status_flow(self) -> ModelReply:
        """The shopper's returns: all, those of the order they name, or the one they name."""
        done = [o for o in self.turn if o.name == STATUS_TOOL]
        if done:
            return self.say(self.status_words(done[-1]))
        failed = [o for o in self.turn if o.name == "lookup_order" and not o.ok]
        if failed:
            return self.say(failed[-1].message)
        verified = self.facts.customer_email
        if not verified or (self.email() or verified) != verified:
            _order, reply = self.verified_order("checking on your return")
            if reply is not None:
                return reply
        return self.call(STATUS_TOOL, self.status_arguments())

    def status_arguments(self) -> dict[str, Any]:
        """The return or order the shopper named since asking; else the return made in this
        conversation ("what happens now?"); else all of their returns."""
        since = self.status_scope()
        for index, text in reversed(self.conv.user_turns):
            if index <= since:
                break
            found = RMA_RE.search(text)
            if found:
                return {"rma_id": found.group(0).upper()}
            orders = self.order_ids_in(text, index)
            if orders:
                return {"order_id": orders[-1]}
        rma = self.last_rma()
        if rma and rma.get("rma_id") and not ALL_RE.search(self.text):
            return {"rma_id": rma["rma_id"]}
        return {}

    def status_scope(self) -> int:
        """Details count from the message that asked about the return (just before it)."""
        for index, text in reversed(self.conv.user_turns):
            if classify(text, self.tools, self.order_re, self.meaning) in ("status", "next", "why"):
                return index - 1
        return self.conv.last_user_index - 1

    def status_words(self, outcome: ToolOutcome) -> str:
        """The status as the action worded it; a question about timing also gets its passage."""
        text = outcome.message
        refunded = any(r.get("status") == "refunded" for r in outcome.result.get("returns") or [])
        if outcome.ok and refunded and TIMING_RE.search(self.text):
            # "when will I see the money?" of a refund already issued: how long refunds take
            asked = next(c for c in re.split(r"[?.!,;]", self.text) if TIMING_RE.search(c))
            quote = self.cited_quote(f"{asked} how long does a refund take")
            if quote:
                text = f"{text} {quote}"
        return text

    def cited_quote(self, question: str) -> str:
        facts = self.facts
        if not facts.answerable:
            return ""
        # The topic is known (the question is rewritten around it): fit alone, not retrieval's
        # order, which the rest of the message (order number, item) pulls elsewhere.
        rank, passage = max(
            enumerate(facts.passages),
            key=lambda pair: (self.passage_score(question, pair[1], rank=-1), -pair[0]),
        )
        return f"{slots.best_sentences(question, passage.text)} [{rank + 1}]"

    def why_flow(self) -> ModelReply | None:
        """'why?' after a rejection: the reason the store gave (None: not about a return)."""
        outcome = self.conv.last(STATUS_TOOL, ok=True)
        if outcome is None or outcome.index > self.conv.last_user_index:
            return self.next_flow() if self.last_rma() else None
        for item in outcome.result.get("returns") or []:
            if item.get("status") == "rejected":
                reason = str(item.get("rejection_reason") or "").strip().rstrip(".")
                said = f"We couldn't approve return {item.get('rma_id')}"
                said += f" because: {reason}." if reason else "; our team gave no reason."
                return self.say(f"{said} {item.get('next_step') or ''} {OFFER_PERSON}")
        items = outcome.result.get("returns") or []
        if items:
            return self.say(str(items[0].get("next_step") or outcome.message))
        return None

    def next_flow(self) -> ModelReply | None:
        """'what happens now?' about a return in this conversation (None: there is none)."""
        if self.last_rma() is None:
            return None
        return self.status_flow()
