"""A typed answer at an open confirmation card: which words decline it (agent/chat/refusals.py).
The end-to-end path (a typed "no" declines through the Decline button's path) is in
tests/test_ws_protocol.py; these pin down the wording."""

from __future__ import annotations

import pytest

from agent.chat.refusals import is_refusal


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "Nope, not now",
        "cancel",
        "never mind",
        "no thanks",
        "actually no, I'll keep it",
        "wait, don't do that",
        "no thanks, I\u2019ve decided to keep them after all",
        "no, I'll do the label later",
        "hmm, not yet",
        "hold on, I need to think about it",
        "don't do it yet",
    ],
)
def test_a_shopper_who_refuses_in_their_own_words_declines_the_card(text: str) -> None:
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "please go ahead",
        "thanks",
        "no, the plates instead",
        "no, only one of them",
        "wait, what's the refund amount?",
        "not the mug but the bowl",
        "I'd like to keep it simple, go ahead",
        "no " + "really " * 30 + "keep it",
    ],
)
def test_an_answer_that_asks_for_something_else_is_not_a_decline(text: str) -> None:
    assert not is_refusal(text)
