"""What the conversation so far establishes: the order, email, item, reason and resolution the
shopper gave, and what the actions returned. Read from the messages on every call, newest first;
the verified shopper and the order-number pattern come from the request's facts."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.models.base import ModelRequest, PassageFact
from agent.models.offline import slots
from agent.models.offline.intent_vectors import IntentVectors
from agent.models.offline.order_ids import learn_shape
from agent.models.offline.routing import (
    FLOWS,
    QUESTION_START_RE,
    RMA_RE,
    Tool,
    classify,
    read_tools,
)
from agent.models.offline.state import Conversation, ToolOutcome, read_conversation

# A reason is about a thing the shopper has: "it", "the bowls", "our order" ("I don't want to pay
# for shipping" says no such thing).
THING_RE = re.compile(
    r"\b(?:it|its|it's|they|them|they're|this|these|those|the|my|our|arrived|came)\b", re.I
)


def states_reason(text: str) -> bool:
    """Says why something is coming back, not asking ("we changed our minds about the candle
    holders", not "what if it arrives broken?")."""
    asks = QUESTION_START_RE.match(text) is not None or text.rstrip().endswith("?")
    return not asks and THING_RE.search(text) is not None and slots.find_reason(text) is not None


class Memory:
    def __init__(self, request: ModelRequest, meaning: IntentVectors | None = None) -> None:
        self.meaning = meaning  # routing by sentence vectors, when the app gave an encoder
        self.conv: Conversation = read_conversation(request.messages)
        self.tools: dict[str, Tool] = read_tools(request.tools)
        self.facts = request  # passages, confidence, the verified shopper: structured, not parsed
        self.order_re = learn_shape(request.order_id_pattern, *self._store_texts())
        self.turn: list[ToolOutcome] = self.conv.this_turn()
        self.text = self.conv.last_user_text

    def _store_texts(self) -> tuple[list[str], list[str], list[str]]:
        """Texts the store wrote, where its own order numbers show their prefix: its actions'
        results, its knowledge base, and (least telling: generic) the actions' descriptions."""
        results = [json.dumps(o.result) for o in self.conv.outcomes if o.ok]
        passages = [p.text for p in self.facts.passages]
        described = [
            text
            for tool in self.tools.values()
            for text in (tool.description, *tool.examples, json.dumps(tool.properties))
        ]
        return results, passages, described

    def expecting_order(self, index: int) -> bool:
        """Did the assistant, just before this user message, ask for an order number?"""
        before = [text for i, text in self.conv.assistant_texts if i < index]
        return bool(before) and "order number" in before[-1].lower()

    def order_ids_in(self, text: str, index: int | None = None) -> list[str]:
        at = self.conv.last_user_index if index is None else index
        text = RMA_RE.sub(" ", text)  # a return's number is not an order's ("RMA-UQD394")
        return self.order_re.find(text, expecting=self.expecting_order(at))

    def gives_details(self) -> bool:
        """Does the latest message carry details an ongoing request was waiting for?"""
        text = self.text
        return bool(
            self.order_ids_in(text)
            or slots.find_emails(text)
            or slots.find_reason(text)
            or (len(slots.words(text)) <= 8 and self.match_item_any(text))
        )

    def ongoing_flow(self) -> str | None:
        """The request the shopper was in the middle of, if the assistant's last words asked for
        something (a question mark) and the latest message is a reply to it."""
        asked = self.conv.previous_assistant_text().rstrip().endswith("?")
        if not asked and not self.gives_details():
            return None
        for _index, text in reversed(self.conv.user_turns[:-1]):
            intent = classify(text, self.tools, self.order_re, self.meaning)
            if intent in FLOWS or intent.startswith("tool:"):
                return intent
            if intent in ("", "question") and states_reason(text):
                return "return"  # the reason came first, the order number after
            if intent in ("question", "greeting", "thanks", "person", "no"):
                return None
        return None

    def scope_start(self) -> int:
        """Details count from the last authorization (or its decline): a new return starts fresh."""
        start = -1
        for outcome in self.conv.outcomes:
            if outcome.index > self.conv.last_user_index:
                continue
            # A refusal does not end it: the shopper may add that it arrived damaged, say.
            if outcome.name == "create_return_authorization":
                start = outcome.index
        return start

    def user_texts(self, since: int = -1) -> list[str]:
        """The shopper's messages after `since`, newest first."""
        return [text for index, text in reversed(self.conv.user_turns) if index > since]

    def order_id(self) -> str | None:
        for index, text in reversed(self.conv.user_turns):
            found = self.order_ids_in(text, index)
            if found:
                return found[-1]
        lookup = self.conv.last("lookup_order", ok=True)
        return str(lookup.result.get("order_id")) if lookup else None

    def email(self) -> str | None:
        for text in self.user_texts():
            found = slots.find_emails(text)
            if found:
                return found[-1]
        return self.facts.customer_email

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The order a successful lookup returned for this number (the shopper is verified)."""
        for outcome in reversed(self.conv.outcomes):
            if outcome.name == "lookup_order" and outcome.ok:
                if same_order(order_id, str(outcome.result.get("order_id", ""))) or same_order(
                    order_id, str(outcome.arguments.get("order_id", ""))
                ):
                    return outcome.result
            if outcome.name == "list_my_orders" and outcome.ok:  # the verified shopper's own
                for listed in outcome.result.get("orders") or []:
                    if same_order(order_id, str(listed.get("order_id", ""))):
                        return dict(listed)
        return None

    def match_item_any(self, text: str) -> bool:
        lookup = self.conv.last("lookup_order", ok=True)
        if lookup and slots.match_items(text, lookup.result.get("items") or []):
            return True
        listing = self.conv.last("list_my_orders", ok=True)
        orders = listing.result.get("orders") or [] if listing else []
        return any(slots.match_items(text, o.get("items") or []) for o in orders)

    def offered_checks(self, since: int) -> list[ToolOutcome]:
        """The eligibility checks of the latest round of checking (one per item asked about)."""
        checks = [
            o for o in self.conv.outcomes if o.name == "check_eligibility" and o.index > since
        ]
        if not checks:
            return []
        last_user_before = max(
            (index for index, _ in self.conv.user_turns if index < checks[-1].index), default=-1
        )
        return [o for o in checks if o.index > last_user_before]

    def items(self, order: dict[str, Any], since: int) -> list[tuple[dict[str, Any], int]]:
        """The order lines (with quantities) the shopper's latest naming message points at."""
        lines = order.get("items") or []
        texts = self.user_texts(since)
        for k, text in enumerate(texts):
            found = slots.match_items(text, lines)
            if not found and slots.EVERYTHING_RE.search(text):
                return [(item, int(item.get("quantity") or 1)) for item in lines]
            if len(found) == 1:
                have = int(found[0].get("quantity") or 1)
                # the newest count said since naming it: "no wait, just two of them"
                counts = (slots.find_units(t, have) for t in texts[: k + 1])
                wanted = next((n for n in counts if n), None) or 1
                return [(found[0], max(1, min(wanted, have)))]
            if found:
                return [(item, 1) for item in found]
        if len(lines) == 1:
            return [(lines[0], 1)]
        return []

    def reason(self, since: int) -> str | None:
        allowed = (
            self.tools["check_eligibility"].enum("reason")
            if "check_eligibility" in self.tools
            else None
        )
        for text in self.user_texts(since):
            found = slots.find_reason(text, allowed)
            if found:
                return found
        return None

    def resolution(self, since: int) -> str:
        tool = self.tools.get("create_return_authorization")
        allowed = tool.enum("resolution") if tool else None
        for text in self.user_texts(since):
            found = slots.find_resolution(text, allowed)
            if found:
                return found
        default = tool.default("resolution") if tool else None
        return str(default or (allowed[0] if allowed else "refund"))

    @staticmethod
    def passage_score(question: str, passage: PassageFact, rank: int) -> float:
        """Retrieval's order, corrected by how well the heading and text fit the question's words
        (a heading naming the topic — "Shipping costs" for "how much is shipping" — counts most).
        Retrieval's first passage keeps a clear lead: it read the question with its typos mended
        and its context ("It's too big for a parcel"), which the raw words here do not."""
        heading = passage.heading.rsplit(">", 1)[-1]
        fit = 0.7 * slots.overlap(question, heading) + 0.3 * slots.overlap(question, passage.text)
        return fit + {0: 0.5, 1: 0.15}.get(rank, 0.0)

    @staticmethod
    def eligible(outcome: ToolOutcome) -> bool:
        if "eligible" in outcome.result:
            return bool(outcome.result["eligible"])
        lines = outcome.result.get("lines") or []
        return bool(lines) and all(line.get("eligible") for line in lines)

    def last_rma(self) -> dict[str, Any] | None:
        """The return this conversation is about: the latest one made here, or the one a status
        check described (the one offered a label, or the only one)."""
        for outcome in reversed(self.conv.outcomes):
            if not outcome.ok:
                continue
            if outcome.name == "create_return_authorization":
                return outcome.result
            if outcome.name == "get_return_status":
                found = outcome.result.get("returns") or []
                offered = [r for r in found if r.get("label_offer")]
                if offered or len(found) == 1:
                    return dict((offered or found)[0])
        return None

    def known_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"order_id": self.order_id(), "email": self.email()}
        rma = self.last_rma()
        if rma:
            values["rma_id"] = rma.get("rma_id")
        label = self.conv.last("generate_label", ok=True)
        if label:
            values["tracking_number"] = label.result.get("tracking_number")
        reason = self.reason(self.scope_start())
        if reason:
            values["reason"] = reason
        return values


def same_order(a: str, b: str) -> bool:
    def norm(value: str) -> str:
        return re.sub(r"[\s#]", "", value).upper()

    def digits(value: str) -> str:
        return "".join(ch for ch in value if ch.isdigit())

    if not a or not b:
        return False
    return norm(a) == norm(b) or (digits(a) != "" and digits(a) == digits(b))
