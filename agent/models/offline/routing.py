"""Recognising what the shopper wants from their latest words, and reading the tools on offer.

Intents: yes, no, person, greeting, thanks, status (a return already made), next ("what happens
now?"), why ("why?"), track, label, return, lookup, tool:<name> (a developer's own action, matched
on its examples), question, or '' (no request of its own: details for one already under way).
Regular expressions first: predictable, and easy to read in a review. What they leave unclaimed
may be routed by meaning (intent_vectors.py: sentence vectors against each intent's examples).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from agent.models.base import ToolSpec
from agent.models.offline import asking, slots
from agent.models.offline.asking import ACT_RE, MY_ORDER
from agent.models.offline.intent_vectors import IntentVectors, speaks_of_own
from agent.models.offline.order_ids import EMAIL_RE, OrderShape

log = logging.getLogger(__name__)

OFFER_RETURN = "Shall I start this return for you?"
OFFER_LABEL = "Would you like me to create the prepaid return label now?"
OFFER_PERSON = "Would you like me to pass you to a person from the store?"
ASK_REASON_EXAMPLES = (
    "for example, you changed your mind, it arrived damaged, it's the wrong size, "
    "or we made a mistake with it"
)

PERSON_RE = re.compile(
    r"\b(?:human|real person|a person|someone|somebody|agent|representative|staff|"
    r"customer service|support team|speak to|talk to)\b",
    re.I,
)
# A call back is asked of a person: no action phones anyone.
CALL_BACK_RE = re.compile(
    r"\b(?:call|phone|ring) (?:me|us)\b|\bgive (?:me|us) a (?:call|ring|phone call)\b|"
    r"\bcall ?back\b",
    re.I,
)
GREETING_RE = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))\b(?:\s+there)?[\s!.,]*", re.I
)
SMALL_TALK = frozenset("how are you doing going today everyone team folks it's is".split())
THANKS_RE = re.compile(r"^\s*(?:thanks|thank you|thx|cheers|great,? thanks)\b", re.I)
TRACK_RE = re.compile(
    r"\b(?:track|tracking|where(?:'s| is| are|s| r) (?:my|the|our)\s+(?:\w+\s+)?(?:parcel|"
    r"package|order|delivery|deliveries|shipment|return|item|stuff|thing)s?\b|"
    r"where(?:'s| is| are) (?:it|they|them)|has it shipped|shipped yet|"
    r"when will (?:it|my \w+) (?:arrive|come|be delivered)|delivery status|not arrived|"
    r"hasn't arrived|has not arrived|still waiting)\b",
    re.I,
)
# Other ways a shopper asks after a delivery: that it is not here yet, its news or status, when it
# gets here, the carrier bringing it, a parcel of several still missing.
_PARCEL = r"(?:parcel|package|order|delivery|shipment|stuff|items?|box|boxes|things?)s?"
_SHIPMENT = r"(?:parcel|package|delivery|deliveries|shipment|box|boxes)s?"  # not "order": a lookup
_THEIRS = rf"(?:it|they|(?:my|our|the) (?:\w+ )?{_PARCEL})"
DELIVERY_RE = re.compile(
    r"\b(?:still (?:isn't|is not|isnt|hasn't|has not|hasnt|not) (?:here|arrived|come|turned up|"
    r"shown up|delivered)|(?:isn't|is not|isnt|aren't|are not|not) here yet|"
    r"(?:hasn't|has not|hasnt|haven't|have not|never) (?:come|turned up|shown up|got here|"
    r"been delivered|showed up)|out for delivery|on (?:its|it's|their) way|"
    rf"(?:status|news|updates?|progress|eta|whereabouts) (?:on|of|for|about|with) (?:my|our|the) "
    rf"(?:\w+ )?{_SHIPMENT}|\beta\b|estimated (?:delivery|arrival)|delivery (?:date|estimate)|"
    rf"when (?:is|are|will|does|do|should|would) {_THEIRS} (?:be )?(?:going to |gonna )?"
    r"(?:get here|arrive|come|turn up|show up|be here|here|delivered|reach me|land)|"
    r"when (?:can|should|will) (?:i|we) (?:expect|get|receive) (?:it|them|my|our)|"
    r"where(?:'s| is| are|s) the (?:other|rest|missing|second)|"
    rf"(?:which|what) (?:carrier|courier|delivery (?:company|service))|"
    rf"who(?:'s| is) (?:delivering|bringing|shipping) {_THEIRS})\b",
    re.I,
)
LABEL_RE = re.compile(r"\b(?:label|shipping slip|postage)\b", re.I)
RETURN_RE = re.compile(
    r"\b(?:return|returning|send(?:ing)? back|send (?:it|this|them|the(?: \w+){1,3}) back|sending (?:it|this|them) back|"
    r"refund|exchange|replacement|money back)\b",
    re.I,
)
QUESTION_START_RE = re.compile(
    r"^\s*(?:can|could|do|does|is|are|what|what's|how|when|which|why|will|if|may)\b", re.I
)
LOOKUP_RE = re.compile(
    rf"\b(?:{MY_ORDER}|order status|status of (?:my )?order|look ?up|check (?:on )?my order)\b",
    re.I,
)

# A return already made, asked about: its status, a decision, whether it arrived or was refunded.
_CASE = r"(?:return|refund|claim|rma)"
STATUS_RE = re.compile(
    rf"\b(?:status|news|update|progress)\b.{{0,40}}\b{_CASE}|\b{_CASE}s?\b.{{0,40}}\b(?:status|news)\b|"
    rf"\b{_CASE}\b.{{0,60}}\b(?:approved|accepted|rejected|declined|turned down|refused|go through|"
    r"gone through|went through|sorted|processed|says refunded|been refunded|decided|reviewed)\b|"
    rf"\bwhat(?:'s| is) happening with\b|\bwhat happened (?:with|to)\b.{{0,40}}\b{_CASE}|"
    r"\bhave you (?:refunded|received|got(?:ten)?)\b|"
    r"\bdid you (?:get|receive) (?:my|the|our) (?:\w+ ){0,2}(?:back|parcel|package|return)\b|"
    rf"\bcheck(?:ing)? on (?:my |the )?{_CASE}|\b(?:items|what'?s) (?:are )?on my return\b|"
    rf"\bfor (?:my|the) (?:\w+ ){{0,3}}(?:return|claim)\b|"
    r"\b(?:has|have) (?:the|your) team (?:looked|checked|reviewed|decided)\b",
    re.I,
)
NEXT_RE = re.compile(
    r"\bwhat(?:'s| is)? (?:happens|happening|the next step|next)\b|\bwhat (?:do|should) i do "
    r"(?:now|next)\b|\bwhat happens (?:now|next)\b|\bwhat now\b|\bnow what\b",
    re.I,
)
WHY_RE = re.compile(
    r"^\W*(?:(?:but|so|and|what\W*)\W*)?(?:why|how come)\b(?:\W+(?:not|was it|is that|"
    r"did you|were they)\b)?(?:\W+\w+){0,5}\W*$",
    re.I,
)
RMA_RE = re.compile(r"\bRMA-[A-Z0-9]{4,10}\b", re.I)

FLOWS = ("return", "track", "label", "lookup", "status")
HANDOFF_TOOL = "handoff_to_human"  # the loop's own tool (agent.turn.loop.HANDOFF_TOOL)


@dataclass
class Tool:
    name: str
    description: str
    properties: dict[str, Any]
    required: list[str]
    examples: list[str] = field(default_factory=list)
    defs: dict[str, Any] = field(default_factory=dict)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            found = self.defs.get(ref.rsplit("/", 1)[-1])
            return found if isinstance(found, dict) else {}
        return schema

    def enum(self, param: str) -> list[str] | None:
        schema = self._resolve(self.properties.get(param, {}))
        for option in [schema, *schema.get("anyOf", [])]:
            option = self._resolve(option)
            if "enum" in option:
                return [str(v) for v in option["enum"]]
        return None

    def default(self, param: str) -> Any:
        return self.properties.get(param, {}).get("default")


def read_tools(tools: Sequence[ToolSpec]) -> dict[str, Tool]:
    catalogue: dict[str, Tool] = {}
    for tool in tools:
        params = tool.parameters
        catalogue[tool.name] = Tool(
            name=tool.name,
            description=tool.description.strip(),
            properties=params.get("properties") or {},
            required=list(params.get("required") or []),
            examples=list(tool.examples),
            defs=params.get("$defs") or {},
        )
    return catalogue


# Classifying the shopper's latest words ---------------------------------------------------------
def classify(
    text: str,
    tools: dict[str, Tool],
    order_re: re.Pattern[str] | OrderShape,
    meaning: IntentVectors | None = None,
) -> str:
    """One of: yes, no, person, greeting, thanks, track, label, return, lookup, tool:<name>,
    question, or '' (nothing recognisable: details for an ongoing request). With `meaning`, a
    message no keyword rule claims is routed by its sentence vector (intent_vectors.py)."""
    greeting = GREETING_RE.match(text)
    if greeting:  # "Hi! Can I return…" is the question; "hi, how are you?" is a greeting
        rest = text[greeting.end() :]
        if all(word in SMALL_TALK for word in slots.words(rest)):
            return "greeting"
        text = rest
    text = mend_typos(text)
    short = len(slots.words(text)) <= 6
    if short and slots.is_no(text):
        return "no"
    if short and slots.is_yes(text):
        return "yes"
    if CALL_BACK_RE.search(text) or (
        PERSON_RE.search(text)
        and re.search(r"\b(?:talk|speak|chat|person|human|agent)\b", text, re.I)
    ):
        return "person"
    if THANKS_RE.match(text) and short:
        return "thanks"
    has_order = bool(slots.find_order_ids(text, order_re))
    custom = _best_custom_tool(text, tools)
    if custom:
        return f"tool:{custom}"
    about = _about_a_return(text, tools)
    if about:
        return about
    if "fetch_tracking" in tools and (
        TRACK_RE.search(text) or asks_after_delivery(text, has_order)
    ):
        return "track"
    if LABEL_RE.search(text) and "generate_label" in tools and not QUESTION_START_RE.match(text):
        return "label"
    if (
        LABEL_RE.search(text)
        and "generate_label" in tools
        and re.search(r"\b(my|the)\b", text, re.I)
    ):
        return "label"
    is_question = QUESTION_START_RE.match(text) is not None
    # What is stated reports (a fault, a reason); what is asked, after it or alone, asks.
    said, question = asking.split_ask(text)
    if RETURN_RE.search(text) and "check_eligibility" in tools:
        return _return_or_question(has_order, said, question)
    if slots.find_reason(said) and re.search(r"\b(?:my|it|them|they|arrived|came)\b", said, re.I):
        return "return"
    return _by_lookup_or_meaning(text, tools, order_re, meaning, is_question, has_order)


def _return_or_question(has_order: bool, said: str, question: str) -> str:
    """A message with a return word: a return when it gives an order, asks us to act, asks
    nothing or states a reason; otherwise a question about the rules."""
    if has_order or not question or asking.requests_act(said, question):
        return "return"
    return "return" if slots.find_reason(said) else "question"


def _by_lookup_or_meaning(
    text: str,
    tools: dict[str, Tool],
    order_re: re.Pattern[str] | OrderShape,
    meaning: IntentVectors | None,
    is_question: bool,
    has_order: bool,
) -> str:
    """What no sharper keyword claimed: an order lookup ("my order" said of a request), a request
    recognised by its meaning, details for a request under way, or a question."""
    meant = by_meaning(text, tools, order_re, meaning, has_order)
    asks_us = re.search(r"\b(?:can|could|would|will) you\b|\bplease\b", text, re.I) is not None
    if LOOKUP_RE.search(text) and (asks_us or not is_question) and "lookup_order" in tools:
        # "my order" is in most requests about one: a sharper meaning (its delivery, its
        # return) wins over the plain lookup
        return meant if meant in ("track", "status", "return", "label") else "lookup"
    if meant == "return" and is_question and not (has_order or ACT_RE.search(text)):
        return "question"  # as with the keywords: "can I…?" asks about the policy
    if meant:
        return meant
    if has_order or slots.find_emails(text):
        return ""  # details: for the request under way, or (with none) an order lookup
    if is_question or text.strip().endswith("?") or len(slots.words(text)) > 8:
        return "question"
    return ""


# A delivery asked after in other words (DELIVERY_RE) counts when it is the shopper's own (not
# "which carrier do you use?") and not money they wait for ("my refund still isn't here").
_MONEY_RE = re.compile(r"\b(?:refund|refunded|money|credit|reimburse\w*)\b", re.I)


def asks_after_delivery(text: str, has_order: bool) -> bool:
    return (
        DELIVERY_RE.search(text) is not None
        and (has_order or speaks_of_own(text))
        and not _MONEY_RE.search(text)
    )


def by_meaning(
    text: str,
    tools: dict[str, Tool],
    order_re: re.Pattern[str] | OrderShape,
    meaning: IntentVectors | None,
    has_order: bool,
) -> str | None:
    """The request the message means, by sentence vectors, when it speaks of the shopper's own
    order or parcel and has words beyond its order number and email."""
    if meaning is None or not (has_order or speaks_of_own(text)):
        return None
    bare = EMAIL_RE.sub(" ", text)
    for typed in slots.as_shape(order_re).spans(bare):
        bare = bare.replace(typed, " ")
    bare = " ".join(bare.split()).strip(" ,.;:")
    if len(slots.content_terms(bare)) < 2:
        return None
    custom = [name for name in tools if name not in BUILTIN]
    try:
        return meaning.route(bare, custom, tools)
    except Exception:  # noqa: BLE001 - an encoder that fails leaves the keyword rules in charge
        log.warning("routing by meaning failed; keywords only", exc_info=not meaning.failed)
        meaning.failed = True  # the traceback once, not on every message
        return None


def _about_a_return(text: str, tools: dict[str, Tool]) -> str | None:
    """why / status / next, for a return already made (when the store can report one)."""
    if "get_return_status" not in tools:
        return None
    if WHY_RE.match(text):
        return "why"
    if STATUS_RE.search(text) or RMA_RE.search(text):
        return "status"
    if NEXT_RE.search(text):
        return "next"
    return None


# The request words routing hangs on, so "retrun" and "refnud" still start a return.
KEYWORDS = (
    "return",
    "refund",
    "tracking",
    "track",
    "exchange",
    "replacement",
    "parcel",
    "package",
    "order",
    "broken",
    "arrived",
    "damaged",
    "label",
)


def mend_typos(text: str) -> str:
    """Words one slip away from a routing keyword (same first letter, close spelling), mended."""

    def mend(match: re.Match[str]) -> str:
        word = match.group(0)
        lowered = word.lower()
        for keyword in KEYWORDS:
            if (
                lowered[0] == keyword[0]
                and abs(len(lowered) - len(keyword)) <= 1
                # an inflection ("orders", "broke") is a word of its own, not a slip
                and not (lowered.startswith(keyword) or keyword.startswith(lowered))
            ):
                # short words need a closer match: "trak" is "track", "trick" is not
                needed = 0.85 if len(lowered) <= 5 else 0.8
                if SequenceMatcher(None, lowered, keyword).ratio() >= needed:
                    return keyword
        return word

    return re.sub(r"[A-Za-z]{4,}", mend, text)


BUILTIN = {
    "lookup_order",
    "check_eligibility",
    "create_return_authorization",
    "generate_label",
    "fetch_tracking",
    "get_return_status",
    "list_my_orders",  # used for a verified shopper's "my order" (mine.py), not on its examples
    "capture_lead",  # no offline flow: the widget's form captures leads without the model
    HANDOFF_TOOL,
}


def _best_custom_tool(text: str, tools: dict[str, Tool]) -> str | None:
    """A developer's own action whose examples the text closely matches."""
    best, best_score = None, 0.0
    terms = slots.content_terms(text)
    for tool in tools.values():
        if tool.name in BUILTIN:
            continue
        for example in tool.examples or [tool.description]:
            shared = terms & slots.content_terms(example)
            score = len(shared) / max(1, len(slots.content_terms(example)))
            if len(shared) >= 2 and score >= 0.5 and score > best_score:
                best, best_score = tool.name, score
    return best
