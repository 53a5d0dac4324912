"""Misspelt pieces find the order line they name (agent/models/offline/item_terms.py)."""

from __future__ import annotations

from agent.models.offline.item_terms import mend_terms
from tests.test_offline_flow import deps, kb  # noqa: F401  (fixtures)
from tests.test_offline_wording import MAYA, signed_in

NAMES = {"heron", "dawn", "giclée", "print", "tall", "bottle", "vase", "celadon", "pitcher"}


def test_a_misspelt_piece_is_read_as_the_line_it_is_closest_to() -> None:
    assert "print" in mend_terms({"prnit"}, NAMES)
    assert "pitcher" in mend_terms({"pitchr"}, NAMES)
    assert "bottle" in mend_terms({"botle"}, NAMES)


def test_words_that_name_nothing_in_the_order_stay_as_they_are() -> None:
    assert mend_terms({"teapot", "refund"}, NAMES) == {"teapot", "refund"}
    assert mend_terms({"mog"}, {"mug"}) == {"mog"}  # too short to guess at
    assert mend_terms({"1009"}, NAMES) == {"1009"}


async def test_a_return_of_a_misspelt_piece_asks_about_that_line(deps) -> None:  # noqa: F811
    shopper = signed_in(deps, MAYA)
    answer = await shopper.say("I want to return the sage plaets")
    assert "Sage side plate" in answer.text and "why" in answer.text
