"""Which shopper messages are questions, and grouping the most asked ones by meaning.

The question rule (documented in the page's footnote and the README):
  a shopper message counts as a question when, after removing email addresses and any word that
  contains a digit (order numbers, dates, tracking numbers), it still has at least 3 words of
  letters, is at most 500 characters, and either ends with "?", or starts with a question word
  (what, how, can, do, is, …), or makes a request ("I want …", "I'd like …", "I need …", "tell me
  …", "looking for …"). Asking for a person ("can I talk to a human?") is not a question about the
  store: it is counted as a handoff instead. So "yes", "thanks!", "WK1001 jane@example.com" and
  "ok go ahead" are not questions; "do you ship to Canada" and "I want to return my boots" are.

Grouping: exact duplicates (case, spacing and trailing punctuation ignored) merge first; the
distinct texts, most frequent first and capped at MAX_EMBEDDED, are embedded with the packaged
MiniLM model (knowledge.embedding); in that order each joins the group whose representative (its
most asked text) is the most similar, when that cosine is ≥ GROUP_THRESHOLD, else starts a group. 0.70 was tuned on shopper
phrasings: "do you ship to Canada" / "can you ship to Canada" / "how much is shipping to Canada"
(0.73–0.93) and "how long do I have to return an item" / "how many days do I have to return
something" (0.86) merge; "where is my order" / "has my order shipped" (0.64) and "can I exchange
for a different size" / "can I return shoes after 30 days" (0.30) stay apart.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

GROUP_THRESHOLD = 0.70
MAX_EMBEDDED = 400  # distinct texts embedded per page view (~2 s on one CPU core, cached after)
MAX_QUESTION_CHARS = 500
MIN_WORDS = 3

QUESTION_WORDS = frozenset(
    "what whats what's how where when why who whom whose which can could do does did is are was "
    "were will would should shall may might have has any anyone".split()
)
_REQUEST = re.compile(
    r"\b(i want|i wanna|i'd like|i would like|i need|i'm looking for|im looking for|looking for|"
    r"tell me|help me|please help|i have a question|wondering)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put)\b.*\b(human|person|someone|somebody|agent|"
    r"representative|rep|staff|people|manager|real)\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\S+@\S+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """The text as shown: one line, single spaces."""
    return _SPACES.sub(" ", text or "").strip()


def normalize(text: str) -> str:
    """The key exact duplicates share: lower case, single spaces, no trailing punctuation."""
    return clean(text).lower().rstrip(" ?!.,;:")


def asks_for_person(text: str) -> bool:
    return bool(_PERSON.search(text or ""))


def is_question(text: str) -> bool:
    text = clean(text)
    if not text or len(text) > MAX_QUESTION_CHARS or asks_for_person(text):
        return False
    stripped = _EMAIL.sub(" ", text)
    words = [w.lower() for token in stripped.split() if not any(ch.isdigit() for ch in token)
             for w in _WORD.findall(token)]  # fmt: skip
    if len(words) < MIN_WORDS:
        return False
    return text.endswith("?") or words[0] in QUESTION_WORDS or bool(_REQUEST.search(text))


@dataclass
class QuestionGroup:
    representative: str  # the group's most asked wording
    count: int  # every time a question in the group was asked
    variants: list[str] = field(default_factory=list)  # other distinct wordings, most asked first


Embed = Callable[[Sequence[str]], np.ndarray]


class _VectorCache:
    """Question vectors by text: a page re-viewed (or a longer range) embeds only new questions."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str], embed: Embed) -> np.ndarray:
        with self._lock:
            known = {t: self._items[t] for t in texts if t in self._items}
            for text in known:
                self._items.move_to_end(text)
        missing = [t for t in texts if t not in known]
        if missing:
            known.update(zip(missing, embed(missing), strict=True))
            with self._lock:
                for text in missing:
                    self._items[text] = known[text]
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return np.stack([known[t] for t in texts])


_cache = _VectorCache()


def _default_embed(texts: Sequence[str]) -> np.ndarray:
    from knowledge.embedding import embed_passages

    return embed_passages(list(texts), threads=1)


def group_questions(
    texts: Sequence[str],
    *,
    threshold: float = GROUP_THRESHOLD,
    cap: int = MAX_EMBEDDED,
    embed: Embed | None = None,
) -> tuple[list[QuestionGroup], int]:
    """Groups, most asked first, and how many askings were left out by the cap."""
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for text in texts:
        key = normalize(text)
        if not key:
            continue
        counts[key] = counts.get(key, 0) + 1
        shown.setdefault(key, clean(text))
    # Most asked first; ties in the order first asked (dicts keep insertion order; sort is stable).
    keys = sorted(counts, key=lambda k: -counts[k])
    left_out = sum(counts[k] for k in keys[cap:])
    keys = keys[:cap]
    if not keys:
        return [], left_out
    # Only the packaged model's vectors are cached (an injected embed is a test's own space).
    vectors = embed(keys) if embed is not None else _cache.vectors(keys, _default_embed)
    seeds: list[int] = []  # index into keys of each group's representative
    members: list[list[int]] = []
    for i in range(len(keys)):
        if seeds:
            sims = vectors[seeds] @ vectors[i]
            best = int(np.argmax(sims))
            if float(sims[best]) >= threshold:
                members[best].append(i)
                continue
        seeds.append(i)
        members.append([i])
    groups = [
        QuestionGroup(
            representative=shown[keys[m[0]]],
            count=sum(counts[keys[j]] for j in m),
            variants=[shown[keys[j]] for j in m[1:]],
        )
        for m in members
    ]
    groups.sort(key=lambda g: -g.count)  # stable: equal counts keep first-asked order
    return groups, left_out


__all__ = [
    "GROUP_THRESHOLD",
    "MAX_EMBEDDED",
    "QuestionGroup",
    "asks_for_person",
    "clean",
    "group_questions",
    "is_question",
    "normalize",
]
