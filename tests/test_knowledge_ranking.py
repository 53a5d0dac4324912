"""The hybrid ranking's parts: sentence vectors kept by content, the kind of answer a question asks
for, and shoppers' words glossed with the pages' words (the demo questions: test_knowledge_demo)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge import sentences as sentences_module
from knowledge.models import Chunk
from knowledge.ranking import heading_kind, question_kind
from knowledge.sentences import split
from knowledge.shopper_words import expand

REFUNDS = """# Refunds

## Where your refund goes

Refunds go back to the original payment method. We cannot pay a refund to another card.

## How long a refund takes

We inspect returns within 3 business days and issue the refund the same day. Your bank takes
5 to 10 business days to show it.
"""


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "refunds.md").write_text(REFUNDS, encoding="utf-8")
    base = KnowledgeBase(tmp_path / "kb", tmp_path / "data")
    base.index()
    yield base
    base.close()


def _count_sentence_embeds(monkeypatch: pytest.MonkeyPatch, memo: bool = False) -> list[int]:
    """Sentences embedded from here on; without `memo`, this process's memo is forgotten first
    (it would hide whether the manifest kept them)."""
    counted: list[int] = []
    real = sentences_module.embed_passages

    def counting(texts, *args, **kwargs):
        counted.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(sentences_module, "embed_passages", counting)
    if not memo:
        monkeypatch.setattr(sentences_module, "_memo", {})
    return counted


def test_a_question_asking_when_finds_the_section_that_says_how_long(kb: KnowledgeBase) -> None:
    top = kb.search("when will I get my money back?", k=1).passages[0]
    assert top.heading == "Refunds > How long a refund takes"


def test_a_question_asking_where_finds_the_section_that_says_where(kb: KnowledgeBase) -> None:
    top = kb.search("where does the money go when you refund me?", k=1).passages[0]
    assert top.heading == "Refunds > Where your refund goes"


def test_sentences_of_an_unchanged_file_are_not_embedded_again_after_a_restart(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.close()
    counted = _count_sentence_embeds(monkeypatch)
    again = KnowledgeBase(tmp_path / "kb", tmp_path / "data")
    assert again.search("how long does a refund take?", k=1).passages
    again.index()
    again.close()
    assert counted == []


def test_editing_one_section_embeds_only_that_sections_sentences(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = _count_sentence_embeds(monkeypatch)
    path = tmp_path / "kb" / "refunds.md"
    path.write_text(REFUNDS.replace("another card.", "another card or in cash."), encoding="utf-8")
    kb.index()
    assert counted == [2]  # the two sentences of "Where your refund goes", not the other section's
    top = kb.search("can you refund me in cash?", k=1).passages[0]
    assert top.heading == "Refunds > Where your refund goes"


def test_sentences_seen_before_in_this_process_are_not_embedded_again(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = _count_sentence_embeds(monkeypatch, memo=True)
    fresh = KnowledgeBase(tmp_path / "kb", tmp_path / "other-data")  # a new, empty data directory
    fresh.index()
    fresh.close()
    assert counted == []


def test_a_new_sentence_split_embeds_every_section_again(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.close()
    monkeypatch.setattr(sentences_module, "VERSION", "test-next")
    counted = _count_sentence_embeds(monkeypatch)
    again = KnowledgeBase(tmp_path / "kb", tmp_path / "data")
    again.search("refund", k=1)
    again.close()
    assert sum(counted) == 4


def test_a_section_is_split_into_sentences_under_its_own_heading() -> None:
    chunk = Chunk(
        id="c",
        source="r.md",
        heading="Refunds > Larger refunds",
        part=0,
        hash="h",
        text="Refunds over $500 are **checked** by a person.\n\n- Prefer a person?\n- This takes one day.",
    )
    assert split(chunk) == [
        "Larger refunds: Refunds over $500 are checked by a person.",
        "Larger refunds: This takes one day.",
    ]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When will my parcel turn up?", "time"),
        ("hi there, how long until the bowl ships?", "time"),
        ("How can I swap this for a bigger size?", "way"),
        ("where can I leave the box?", "place"),
        ("How much is delivery to Leeds", "amount"),
        ("Is the teapot dishwasher safe?", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    assert question_kind(question) == kind


def test_a_heading_that_opens_with_when_is_not_read_as_a_time() -> None:
    def chunk(heading: str) -> Chunk:
        return Chunk(id="c", source="a.md", heading=f"Art > {heading}", part=0, text="x", hash="h")

    assert heading_kind(chunk("When original art arrives damaged")) is None
    assert heading_kind(chunk("How long a refund takes")) == "time"
    assert heading_kind(chunk("Shipping costs")) == "amount"


def test_shoppers_words_are_glossed_with_the_words_help_pages_use() -> None:
    assert expand("can I get my money back on a voucher?") == (
        "can I get my money back on a voucher? (refund, gift card)"
    )
    assert expand("what number do I ring?") == "what number do I ring? (phone)"
    assert expand("is a refund possible?") == "is a refund possible?"  # nothing to add
