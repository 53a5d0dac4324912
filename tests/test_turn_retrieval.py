"""What the turn retrieves for a message that asks several things (agent/turn/retrieval.py), on
the demo store's real knowledge base: each question finds its own section, and the answer cites
each."""

from __future__ import annotations

import dataclasses

from agent.turn.retrieval import retrieve_for
from tests.test_offline_flow import Shopper, deps, kb  # noqa: F401  (fixtures)


def sections(passages, positions=None) -> list[str]:
    chosen = passages if positions is None else [passages[n] for n in positions]
    return [f"{p.source} > {p.heading.rsplit(' > ', 1)[-1]}" for p in chosen]


async def test_each_question_of_a_message_finds_its_own_section_first(kb) -> None:  # noqa: F811
    text = "which payment methods do you accept? and can I buy a gift card for my mum?"
    passages, confidence, questions = await retrieve_for(kb, text)
    assert [q.text for q in questions] == [
        "which payment methods do you accept?",
        "can I buy a gift card for my mum?",
    ]
    assert sections(passages, questions[0].passages)[0] == "payments.md > Ways to pay"
    assert sections(passages, questions[1].passages)[0] == "gift-cards.md > Buying a gift card"
    assert len(set(sections(passages))) == len(passages)  # no passage twice
    assert confidence >= max(q.confidence for q in questions)


async def test_a_message_that_asks_one_thing_is_searched_once_as_it_is(kb) -> None:  # noqa: F811
    text = "can I return an engraved mug and the plates?"
    passages, confidence, questions = await retrieve_for(kb, text)
    assert questions == []
    alone = await kb.asearch(text, k=5)
    assert sections(passages) == sections(alone.passages)
    assert confidence == alone.confidence


async def test_both_questions_are_answered_and_each_cited_by_its_own_section(deps) -> None:  # noqa: F811
    answer = await Shopper(deps).say(
        "which payment methods do you accept? and can I buy a gift card for my mum?"
    )
    cited = [f"{c.source} > {c.heading.rsplit(' > ', 1)[-1]}" for c in answer.citations]
    assert sorted(cited) == ["gift-cards.md > Buying a gift card", "payments.md > Ways to pay"]
    assert "Visa" in answer.text


def test_a_language_model_is_told_which_passages_answer_which_question() -> None:
    from agent.models.base import PassageFact, QuestionFact
    from agent.turn.prompts import render_system_prompt
    from tests.test_offline import request

    passages = [PassageFact("payments.md", "Ways to pay", "We accept Visa.", 0.6)]
    asked = request([], passages=passages)
    questions = (
        QuestionFact("which payment methods do you accept?", (0,), 0.9),
        QuestionFact("do you sell socks?", (), 0.1),
    )
    prompt = render_system_prompt(dataclasses.replace(asked, questions=questions))
    assert "asks 2 questions" in prompt
    assert '- "which payment methods do you accept?": passages 1\n' in prompt
    assert '- "do you sell socks?": passages none (matched only weakly' in prompt
