"""Requests no action serves — cancel an order, change an address, a double charge, an invoice:
the shopper is told so in words and offered a person, never shown an order summary or policy text
that does not do what they asked.

Each kind of request is served as soon as the store registers an action for it: a tool whose name
holds one of the kind's verbs (`cancel_order`, `update_address`) takes the request instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.models.offline.memory import Memory
from agent.models.offline.routing import OFFER_PERSON
from agent.models.offline.slots import find_emails
from agent.models.questions import only_questions

_ORDER_DETAILS = (
    r"(?:order|address|e-?mail|name|engrav\w*|delivery|shipping|street|details|phone|postcode|"
    r"zip|apartment|flat|house number)"
)


POLICY_ASK_RE = re.compile(
    r"^\W*(?:(?:can|could|may) (?:i|we)|how (?:do|can|would) (?:i|we)|is it possible|"
    r"do you (?:allow|let))\b",
    re.I,
)


@dataclass(frozen=True)
class Kind:
    pattern: re.Pattern[str]
    verbs: tuple[str, ...]  # a tool whose name holds one of these serves the request
    what: str  # "I can't {what} from this chat"


KINDS = (
    Kind(
        re.compile(r"\bcancel(?:l?ing)?\b|\bcancellation\b", re.I),  # not "was it cancelled?"
        ("cancel",),
        "cancel an order or a return",
    ),
    Kind(
        re.compile(
            # a verb with its object ("update the shipping address"), not "any update on my order"
            rf"\b(?:change|update|edit|modify|amend|fix)\s+(?:the|my|our|it|that|this|a|an)\b"
            rf"(?:\W+\w+){{0,8}}?\W+{_ORDER_DETAILS}\b|"
            r"\b(?:address|e-?mail|name) change\b|\bwrong (?:street|address|house|postcode|zip)\b",
            re.I,
        ),
        ("change", "update", "edit", "modify", "address"),
        "change the details of an order",
    ),
    Kind(
        re.compile(r"\badd\b(?:\W+\w+){0,5}?\W+to (?:my|the|this|that) order\b", re.I),
        ("add", "modify", "edit"),
        "add to an order",
    ),
    Kind(
        re.compile(r"\bre-?send\b|\bsend (?:it|them|the \w+) again\b", re.I),
        ("resend", "send"),
        "resend that",
    ),
    Kind(
        re.compile(r"\bsplit\b|\bthe rest later\b|\bship (?:the )?(?:in-stock|available)\b", re.I),
        ("split", "ship"),
        "split a shipment",
    ),
    Kind(
        re.compile(
            r"\b(?:charged|billed) (?:me )?(?:twice|two times|double)\b|\bdouble[- ]charged\b|"
            r"\bovercharged\b|\bcharged (?:me )?(?:the )?wrong\b",
            re.I,
        ),
        ("charge", "billing", "payment"),
        "sort out a payment problem",
    ),
    Kind(re.compile(r"\bcomplain(?:t|ts|ing)?\b", re.I), ("complaint",), "take a complaint"),
    Kind(re.compile(r"\binvoices?\b", re.I), ("invoice",), "make an invoice"),
    Kind(
        re.compile(r"\b(?:call|phone|ring) (?:me|us)\b|\bcall(?:ed)? (?:me )?back\b", re.I),
        ("call", "callback"),
        "arrange a call",
    ),
)


class Unserved(Memory):
    def unserved_kind(self, text: str) -> Kind | None:
        # "can I still cancel an order?" asks about the policy; with the order named, it asks us.
        if only_questions(text) or (
            POLICY_ASK_RE.match(text) and not self.order_ids_in(text) and not find_emails(text)
        ):
            return None
        for kind in KINDS:
            if kind.pattern.search(text) and not self._served(kind):
                return kind
        return None

    def _served(self, kind: Kind) -> bool:
        return any(verb in name.split("_") for name in self.tools for verb in kind.verbs)

    def unserved_reply(self) -> str | None:
        """The words for a request no action serves: in this message, or in the one before when
        this one only adds the details (an email, the order number)."""
        kind = self.unserved_kind(self.text)
        if kind is None and self.gives_details() and len(self.conv.user_turns) > 1:
            previous = self.conv.user_turns[-2][1]
            if OFFER_PERSON in self.conv.previous_assistant_text():
                kind = self.unserved_kind(previous)
        if kind is None:
            return None
        return (
            f"I'm sorry — I can't {kind.what} from this chat, but a person from the store can. "
            f"{OFFER_PERSON}"
        )
