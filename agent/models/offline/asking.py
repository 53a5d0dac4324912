"""Asking how things work, or asking us to act: what a message states and what it asks.

A shopper often says what happened before the question ("I got a vase as a gift, can I return it
without a receipt?"). The question is then the message's last clause, not its first word, and only
what is *stated* reports something: a fault word inside the question ("is it faulty?") asks about
the rules, it does not say the piece arrived broken. routing.py reads both halves from here.

Kept lexical, like the keyword rules: a reviewer can see why a message went to the knowledge base.
"""

from __future__ import annotations

import re

# "my order number" names the number, not the order: asking where to find it asks for nothing.
MY_ORDER = r"my order(?! (?:numbers?|no\b|ids?\b|reference|confirmation))"
# "I want to return…", "please start a return…" act; "can I return…?" asks about the policy.
ACT_RE = re.compile(
    r"\b(?:i want|i'd like|i would like|i need|i wanna|i'm returning|im returning|help me|"
    r"please|start (?:a|the|my) return|let's|lets|go ahead|i'd love|can you|could you|"
    rf"would you|return (?:it|this|them)\b|from {MY_ORDER}|{MY_ORDER})",
    re.I,
)

# The words a question opens with (agent/models/questions.py splits on much the same list).
_ASK = (
    r"(?:can|could|may|do|does|did|is|are|was|were|will|would|should|how|what|what's|whats|where|"
    r"when|which|who|why)"
)
ASK_START_RE = re.compile(rf"^\W*(?:(?:so|and|but|then|also)\W+)?{_ASK}\b", re.I)
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
# Where a question may begin inside a sentence: after a comma, a dash or a "so"/"but".
CLAUSE_RE = re.compile(r"[,;:]\s*|\s+[-–—]\s+|\s+(?=(?:so|but)\s)", re.I)

# Allowed, and on what terms: "can I return it without the box?", "could we swap them if…".
_PERMISSION_RE = re.compile(r"^\W*(?:(?:so|and|but)\W+)?(?:can|could|may) (?:i|we)\b", re.I)
_CONDITION_RE = re.compile(
    r"\b(?:without|if|unless|even though|even if|after|once|before|while)\b", re.I
)


def split_ask(text: str) -> tuple[str, str]:
    """(what the message states, what it asks): each question sentence from the clause where
    its question begins; a sentence ending in "?" with no question word is stated ("it arrived
    chipped?")."""
    stated: list[str] = []
    asked: list[str] = []
    for sentence in SENTENCE_RE.split(text.strip()):
        if ASK_START_RE.match(sentence):
            asked.append(sentence)
            continue
        if not sentence.rstrip().endswith("?"):
            stated.append(sentence)
            continue
        for boundary in CLAUSE_RE.finditer(sentence):
            rest = sentence[boundary.end() :]
            if ASK_START_RE.match(rest):
                stated.append(sentence[: boundary.start()])
                asked.append(rest)
                break
        else:
            stated.append(sentence)
    return " ".join(s.strip() for s in stated if s.strip()), " ".join(a.strip() for a in asked)


def asks_on_terms(question: str) -> bool:
    """May I do it, under a condition: the rules, not a request ("can I return it if I used it?")."""
    return bool(_PERMISSION_RE.match(question) and _CONDITION_RE.search(question))


# "can I return it" opens a question on terms: the permission asked for, not a return requested.
_ASKING_LEAVE_RE = re.compile(
    r"^\W*(?:(?:so|and|but)\W+)?(?:can|could|may) (?:i|we) (?:still |just )?"
    r"(?:return|send back|exchange|swap) (?:it|this|them)\b",
    re.I,
)


def requests_act(said: str, question: str) -> bool:
    """Words that ask us to do something (`split_ask`'s two halves): said outright ("I want to
    return it", "please…"), or in the question unless it only asks leave on terms ("can I return
    it without the box?")."""
    if asks_on_terms(question):
        question = _ASKING_LEAVE_RE.sub(" ", question)
    return ACT_RE.search(said) is not None or ACT_RE.search(question) is not None


__all__ = [
    "ACT_RE",
    "MY_ORDER",
    "asks_on_terms",
    "requests_act",
    "split_ask",
]
