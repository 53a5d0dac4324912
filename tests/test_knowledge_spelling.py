"""Misspelt questions: the search reads them as the shopper meant them, and nothing else changes.

A tiny knowledge base keeps these fast; the embedding model loads once for the whole process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, spelling
from knowledge.models import Chunk
from knowledge.spelling import Speller

RETURNS = """# Returns and exchanges

## The return window

You have 30 days from delivery to send most things back to us for a refund.

## Exchanges

We are happy to swap a piece for another colour or size: start a return and place a new order.

## How long a refund takes

Once your parcel reaches us, a refund takes five to ten days, as long as the bank is quick.
"""

GIFTS = """# Gift cards

## Gift cards never expire

A gift card keeps its balance for ever: there is no expiry date on the card.

## Buying a gift card

Gift cards are sold in amounts from $25 to $200 and arrive by email.

## Gift wrapping

Every gift can be wrapped in recycled paper; we never put a price inside a gift.
"""

PERSONAL = """# Personalised pieces

## Engraved items are final sale

Mugs engraved with a name and monogrammed platters cannot be returned unless we made a mistake.
The Ostara vase is made to order too.

## Mug care

Our mugs are safe in the dishwasher and the microwave; mugs with gold lustre are washed by hand.
"""

SHIPPING = """# Shipping

## Where we ship

We ship to the United States, Canada and most of Europe.

## Delivery times

Parcels arrive in three to six business days.
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kb = tmp_path_factory.mktemp("kb")
    for name, text in [
        ("returns.md", RETURNS),
        ("gift-cards.md", GIFTS),
        ("personalised.md", PERSONAL),
        ("shipping.md", SHIPPING),
    ]:
        write(kb / name, text)
    return kb


@pytest.fixture(scope="module")
def kb(kb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    base = KnowledgeBase(kb_dir, tmp_path_factory.mktemp("data"))
    base.index()
    yield base
    base.close()


MISSPELT = [
    ("does a gift crad ever expier", "does a gift card ever expire", "Gift cards never expire"),
    ("do giftcards run out", "do gift cards run out", "Gift cards never expire"),
    (
        "can i exchnage this mug for a diffrent size",
        "can i exchange this mug for a different size",
        "Exchanges",
    ),
    ("do you shipp to cananda", "do you ship to canada", "Where we ship"),
    (
        "can egnraved mugs be retruned",
        "can engraved mugs be returned",
        "Engraved items are final sale",
    ),
    ("how long is the retrun windw", "how long is the return window", "The return window"),
]


@pytest.mark.parametrize(("misspelt", "correct", "heading"), MISSPELT)
def test_a_misspelt_question_finds_the_section_its_correct_spelling_finds(
    kb: KnowledgeBase, misspelt: str, correct: str, heading: str
) -> None:
    typed = kb.search(misspelt, k=3).passages[0]
    meant = kb.search(correct, k=3).passages[0]
    assert (typed.source, typed.heading) == (meant.source, meant.heading)
    assert typed.heading.endswith(heading)


def test_the_chat_search_mends_typos_too(kb: KnowledgeBase) -> None:
    found = asyncio.run(kb.asearch("can i exchnage this mug for a diffrent size", k=3))
    assert found.passages[0].heading.endswith("Exchanges")


@pytest.mark.parametrize(
    "query",
    [
        "do gift cards expire?",
        "Hello! Is the mug microwave safe, and what colour is it?",  # words the KB never uses
        "I'd like a refund, thanks",
        "do you ship to Canada",
    ],
)
def test_a_correctly_spelt_question_is_searched_exactly_as_typed(
    kb: KnowledgeBase, query: str
) -> None:
    assert spelling.mend_query(kb, query) == query


def test_order_numbers_emails_and_codes_are_left_as_typed(kb: KnowledgeBase) -> None:
    typed = "retrun WK-1001 and #10234 for maya.chen@exmaple.com, RMA-7WLVT6, CER-MUG-SAGE pls"
    assert spelling.mend_query(kb, typed) == (
        "return WK-1001 and #10234 for maya.chen@exmaple.com, RMA-7WLVT6, CER-MUG-SAGE pls"
    )


def test_product_names_from_the_store_are_left_alone_and_mended_towards(kb: KnowledgeBase) -> None:
    assert spelling.mend_query(kb, "is the Ostara vase made to order") == (
        "is the Ostara vase made to order"
    )
    assert spelling.mend_query(kb, "is the Ostarra vase made to order") == (
        "is the Ostara vase made to order"
    )


def test_catalogue_names_passed_in_are_known_words() -> None:
    speller = Speller(["Mugs and bowls, glazed by hand."], extra=["Kintsugi serving bowl"])
    assert speller.mend("the kintsugi bowl") == "the kintsugi bowl"
    assert speller.mend("the kintsgui bowl") == "the kintsugi bowl"
    assert Speller(["Mugs and bowls."]).mend("the kintsugi bowl") == "the kintsugi bowl"


def test_shorthand_contractions_and_english_words_are_not_typos() -> None:
    speller = Speller(["Returns are free within thirty days. We ship parcels to Canada."])
    typed = "u shp pls, i dont know, hello cheers"
    assert speller.mend(typed) == typed
    assert speller.corrections("i want to retrun it, WK-1O01") == [("retrun", "return")]


def test_an_english_word_one_slip_away_is_taken_when_the_store_uses_its_family() -> None:
    speller = Speller(["Exchanges are free. Our packaging is recycled. We take Visa and PayPal."])
    assert speller.mend("can i exchnage it") == "can i exchange it"
    assert speller.mend("my pakage is late") == "my package is late"
    assert speller.mend("do you take amex") == "do you take amex"  # "alex" is no store word


def test_a_misspelt_word_keeps_its_capital() -> None:
    speller = Speller(["Returns are free within thirty days."])
    assert speller.mend("Retrun it?") == "Return it?"


def test_the_vocabulary_follows_an_edited_knowledge_file_after_reindex(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write(kb_dir / "shipping.md", SHIPPING)
    kb = KnowledgeBase(kb_dir, tmp_path / "data")
    try:
        kb.index()
        assert spelling.mend_query(kb, "are the zelige tiles glazed") == (
            "are the zelige tiles glazed"
        )
        write(
            kb_dir / "tiles.md",
            "# Tiles\n\n## Zellige tiles\n\nOur zellige tiles are glazed by hand in Fez.\n",
        )
        kb.index()
        assert spelling.mend_query(kb, "are the zelige tiles glazed") == (
            "are the zellige tiles glazed"
        )
        assert (
            kb.search("are the zelige tiles glazed", k=1)
            .passages[0]
            .heading.endswith("Zellige tiles")
        )
        (kb_dir / "tiles.md").unlink()
        kb.index()
        assert spelling.mend_query(kb, "are the zelige tiles glazed") == (
            "are the zelige tiles glazed"
        )
    finally:
        kb.close()


def test_an_edited_section_is_recounted_and_nothing_else() -> None:
    speller = Speller()
    first = Speller()  # the same texts counted from scratch, for comparison

    def chunk(cid: str, text: str) -> Chunk:
        return Chunk(id=cid, source="a.md", heading="Care", part=0, text=text, hash=text)

    speller.sync({"1": chunk("1", "Oil the walnut bench."), "2": chunk("2", "Glaze is food safe.")})
    speller.sync({"1": chunk("1", "Wax the walnut bench."), "2": chunk("2", "Glaze is food safe.")})
    first.sync({"1": chunk("1", "Wax the walnut bench."), "2": chunk("2", "Glaze is food safe.")})
    assert speller.frequency("oil") == 0 and speller.frequency("wax") == 1
    assert {w: speller.frequency(w) for w in ("walnut", "glaze", "care")} == {
        w: first.frequency(w) for w in ("walnut", "glaze", "care")
    }
    assert len(speller) == len(first)
