"""Routing by meaning: the shopper's words against a handful of example phrasings per intent,
compared as MiniLM sentence vectors (the packaged model the knowledge base already runs).

The keyword rules (routing.py) come first: they are predictable and cheap. This is what they fall
back on when they find no request of their own, so that a paraphrase nobody wrote a rule for ("any
news on my delivery?", "how far off is my package") still reaches its action. The examples below
are general ways shoppers put each request, plus a developer's own action's examples; a class of
plain store questions (shipping times, payment, care) stands against them, so that "how long does
shipping to Canada take?" stays a question for the knowledge base.

The encoder comes in through `TextEncoder` (the knowledge base's query encoder in the app); the
offline model works without one, on keywords alone. Example vectors are encoded once per router
and the shopper's message at most once (both cached by text).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[Any]

# What each built-in intent needs on offer (routing to an action the store lacks helps nobody).
INTENT_TOOLS: dict[str, str | None] = {
    "track": "fetch_tracking",
    "return": "check_eligibility",
    "status": "get_return_status",
    "label": "generate_label",
    "lookup": "lookup_order",
    "person": None,  # always: without the loop's handoff tool the shopper is told whom to contact
}

EXAMPLES: dict[str, tuple[str, ...]] = {
    "track": (
        "where's my package at the moment",
        "when should my order reach me",
        "has my package been sent out yet",
        "my delivery still hasn't come",
        "can I have the tracking number for my order",
        "how far away is my shipment",
        "what's the latest on my delivery",
        "what delivery company is handling my package",
        "my package is running late",
        "what is the expected delivery date of my order",
        "is my order on its way to me",
        "I'm still waiting for my parcel to turn up",
        "part of my order never showed up",
        "the courier hasn't delivered my package",
        "can you check how my delivery is progressing",
        "when can I expect my stuff",
    ),
    "return": (
        "I'd like to send my item back",
        "I want my money back for something I bought",
        "can I swap what I bought for a different size",
        "I don't want the thing I ordered anymore",
        "what I ordered arrived broken and I want a refund",
        "please start a return for my purchase",
        "I need to exchange an item from my order",
    ),
    "status": (
        "has my return been approved yet",
        "did you receive the item I sent back",
        "when does the refund for my return come through",
        "what's the progress on my refund claim",
        "was my return accepted or turned down",
    ),
    "label": (
        "I need a prepaid shipping label to send my item back",
        "can you email me a label for my return",
        "how do I get postage for my return parcel",
    ),
    "lookup": (
        "remind me what was in my purchase",
        "show me the details of my order",
        "what items are in my order",
        "how much did I pay for my order",
        "when did I place my order",
    ),
    "person": (
        "let me chat with a real member of staff",
        "can I speak with someone from your team",
        "put me through to customer support staff",
        "I'd like a phone call from somebody at the shop",
    ),
}
# Questions about the store itself, which the knowledge base answers, and requests none of the
# actions serves (a person does: cancelling, changing an order, billing): the class against which
# an intent must win by a margin.
NOT_A_REQUEST: tuple[str, ...] = (
    "I want to cancel an order before it ships",
    "I need to change the delivery address on my order",
    "can you update the email on my account",
    "I was charged twice for my order",
    "could somebody phone me regarding a purchase",
    "the price dropped after I bought it, can I get the difference",
    "can I add something to my order",
    "how long does shipping usually take",
    "do you ship internationally",
    "what is your return policy",
    "how much does delivery cost",
    "what payment methods do you accept",
    "is there an expiry date on gift vouchers",
    "are personalised items refundable",
    "how should I look after stoneware",
    "what are your opening hours",
    "where is your shop located",
    "how long do refunds take to process",
    "do you offer free shipping",
    "can I pay with a gift card",
    "is this dishwasher safe",
    "what do you sell",
    "how do I contact the store",
    "do you have a discount code",
    "is the item handmade",
)
NONE = ""  # the label of NOT_A_REQUEST among the examples
MESSAGES_KEPT = 256


class TextEncoder(Protocol):
    """Anything that turns a text into a unit-length sentence vector (knowledge.queries'
    `QueryEncoder` in the app; a small stand-in in tests)."""

    def encode(self, query: str) -> Vector: ...


@dataclass
class IntentVectors:
    """Scores a message against each intent's examples by cosine similarity (the best example of
    an intent is its score). An intent wins when it scores at least `threshold` and beats both
    every other intent and the plain-question class by `margin`."""

    encoder: TextEncoder
    threshold: float = 0.5
    margin: float = 0.05
    failed: bool = False  # the encoder has raised once (routing.by_meaning logs it)
    _examples: dict[str, Vector] = field(default_factory=dict, repr=False)
    _messages: OrderedDict[str, Vector] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _encode(self, text: str) -> Vector:
        return np.asarray(self.encoder.encode(text), dtype=np.float32)

    def example_vector(self, text: str) -> Vector:
        with self._lock:
            found = self._examples.get(text)
        if found is None:
            found = self._encode(text)
            with self._lock:
                self._examples[text] = found
        return found

    def message_vector(self, text: str) -> Vector:
        """A shopper's message is classified more than once in a reply (its own turn, then as
        context of later turns): encoded once, kept for the most recent messages."""
        with self._lock:
            found = self._messages.get(text)
            if found is not None:
                self._messages.move_to_end(text)
                return found
        found = self._encode(text)
        with self._lock:
            self._messages[text] = found
            while len(self._messages) > MESSAGES_KEPT:
                self._messages.popitem(last=False)
        return found

    def scores(
        self, text: str, custom: Sequence[str], tools: Mapping[str, Any]
    ) -> dict[str, float]:
        """Each intent on offer (and NONE, the plain question) → its best example's cosine."""
        message = self.message_vector(text)
        best: dict[str, float] = {}
        for intent, example in examples_on_offer(custom, tools):
            score = float(np.dot(self.example_vector(example), message))
            best[intent] = max(best.get(intent, -1.0), score)
        return best

    def route(self, text: str, custom: Sequence[str], tools: Mapping[str, Any]) -> str | None:
        """The intent `text` means (tool:<name> for a developer's action in `custom`), or None."""
        ranked = sorted(self.scores(text, custom, tools).items(), key=lambda pair: -pair[1])
        if not ranked or ranked[0][0] == NONE:
            return None
        intent, score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
        if score < self.threshold or score - runner_up < self.margin:
            return None
        return intent


def examples_on_offer(custom: Sequence[str], tools: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(intent, example) pairs: the built-in intents whose action is offered, a developer's actions
    by their own examples (or description), and the plain-question class."""
    pairs = [
        (intent, example)
        for intent, examples in EXAMPLES.items()
        if INTENT_TOOLS[intent] is None or INTENT_TOOLS[intent] in tools
        for example in examples
    ]
    for name in custom:
        tool = tools[name]
        for example in getattr(tool, "examples", None) or [getattr(tool, "description", "")]:
            if example.strip():
                pairs.append((f"tool:{name}", example))
    pairs += [(NONE, example) for example in NOT_A_REQUEST]
    return pairs


# A request concerns the shopper's own order or parcel: without a word for themselves (or an order
# number) a message is a question about the store, however close its words come to a request.
_OWN_RE = re.compile(r"\b(?:my|mine|our|ours|i|i'm|im|i've|i'd|me|we|we're|us)\b", re.I)


def speaks_of_own(text: str) -> bool:
    return _OWN_RE.search(text.replace("’", "'")) is not None


_shared: weakref.WeakKeyDictionary[Any, IntentVectors] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def vectors_for(encoder: TextEncoder) -> IntentVectors:
    """One router per encoder for the process, so the examples are encoded once, not once per
    model (the conversation eval builds an app, and a model, per conversation)."""
    with _shared_lock:
        try:
            found = _shared.get(encoder)
        except TypeError:  # an encoder that cannot be weakly referenced: its own router
            return IntentVectors(encoder)
        if found is None:
            found = _shared[encoder] = IntentVectors(encoder)
        return found
