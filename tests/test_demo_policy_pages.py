"""The demo store's policy file and its help pages say the same about how each category goes back.

Each (category, reason) the pages describe is looked up in policy.toml through the policy engine's
own rule (`line_method`); the sentences of the page's section that name it must use that method's
words, and no other method's. The label page must name every category that does not go by parcel label.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from actions.policy import line_method, load_policy
from actions.records import OrderLine
from actions.return_methods import ReturnMethod

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
M = ReturnMethod
# The words with which a page promises each method.
WORDS: dict[ReturnMethod, str] = {
    M.PARCEL_LABEL: r"prepaid (?:return )?label",
    M.FREIGHT_COLLECTION: r"freight collection",
    M.STORE_COLLECTION: r"(?:arrange the return|collected) at our cost",
    M.KEEP_IT: r"do not need to send it back|please keep it|recycle",
}
# (category, tags, reason) → the page section that describes how it goes back, and the word its
# sentences name it by ("" = the whole section is about it).
DESCRIBED = [
    ("ceramics", (), "changed_mind", "returns.md", "How to start a return", "return label"),
    ("ceramics", (), "damaged", "damaged-items.md", "Replacement or refund", "ceramics"),
    ("furniture", (), "damaged", "damaged-items.md", "Replacement or refund", "furniture"),
    ("original-art", (), "damaged", "damaged-items.md", "Replacement or refund", "original"),
    ("art-print", (), "changed_mind", "art.md", "Returning an art print", ""),
    ("furniture", (), "changed_mind", "return-labels.md", "Furniture returns", ""),
    ("original-art", (), "damaged", "art.md", "When original art arrives damaged", ""),
    ("ceramics", ("personalized",), "seller_error", "personalised.md", "If we made a mistake", ""),
]


def sections(page: str) -> dict[str, str]:
    """A knowledge page's `##` sections by heading (the intro under the `#` title as '')."""
    text = (DEMO / "knowledge" / page).read_text(encoding="utf-8")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    out: dict[str, str] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif not line.startswith("# "):
            out[heading] = out.get(heading, "") + " " + line.strip()
    return out


def method_for(category: str, tags: tuple[str, ...], reason: str) -> ReturnMethod:
    policy = load_policy(DEMO / "policy.toml")
    line = OrderLine("X", "X", category, 1, 1, tags)  # type: ignore[arg-type]
    return line_method(line, reason, policy.returns)


def about(text: str, subject: str) -> str:
    if not subject:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return " ".join(s for s in sentences if subject.lower() in s.lower())


@pytest.mark.parametrize(("category", "tags", "reason", "page", "heading", "subject"), DESCRIBED)
def test_each_category_goes_back_the_way_its_page_describes(
    category: str, tags: tuple[str, ...], reason: str, page: str, heading: str, subject: str
) -> None:
    method = method_for(category, tags, reason)
    text = about(sections(page)[heading], subject)
    assert text.strip(), f"{page} > {heading} does not mention {subject!r}"
    assert re.search(WORDS[method], text, re.I), (
        f"policy.toml sends {category} ({reason}) back by {method}, but {page} > {heading} "
        f"does not say so: {text.strip()[:300]}"
    )
    for other, words in WORDS.items():
        if other is not method:
            assert not re.search(words, text, re.I), (
                f"{page} > {heading} promises {other} for {category} ({reason}); "
                f"policy.toml says {method}"
            )


def test_the_label_page_names_every_category_that_gets_no_parcel_label() -> None:
    catalogue = json.loads((DEMO / "orders.json").read_text(encoding="utf-8"))["orders"]
    categories = {item["category"] for order in catalogue for item in order["items"]}
    intro = sections("return-labels.md")[""]
    no_label = {
        category
        for category in categories
        for reason in ("changed_mind", "damaged")
        if method_for(category, (), reason) in (M.FREIGHT_COLLECTION, M.STORE_COLLECTION)
    }
    assert no_label == {"furniture", "original-art"}
    words = {"furniture": "furniture", "original-art": "original artwork"}
    for category in no_label:
        assert words[category] in intro, f"return-labels.md does not say {category} has no label"
