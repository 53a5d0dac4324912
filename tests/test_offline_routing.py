"""Routing the shopper's words to a request: the delivery wording of the tracking keywords, order
numbers written the store's way, and routing by meaning (MiniLM sentence vectors against each
intent's examples) for the paraphrases no keyword rule claims — and the model without an encoder.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_offline import ORDER_RE, TOOLS, Chat, P, only_call

from agent.models.base import ModelTurn, ToolSpec
from agent.models.offline import OfflineModel, classify, read_tools
from agent.models.offline.intent_vectors import IntentVectors, Vector
from agent.models.offline.order_ids import learn_shape
from knowledge.queries import QueryEncoder

CATALOGUE = read_tools(TOOLS)
SHAPE = learn_shape(ORDER_RE.pattern, ["Your order number looks like WK-1001."])


@pytest.fixture(scope="module")
def encoder() -> QueryEncoder:
    """The packaged MiniLM (its own cache, so counts and vectors are this module's)."""
    return QueryEncoder()


class Counting:
    """The real encoder, counting what it is asked to encode."""

    def __init__(self, inner: QueryEncoder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, query: str) -> Vector:
        self.texts.append(query)
        return self.inner.encode(query)


class Broken:
    def encode(self, query: str) -> Vector:
        raise RuntimeError("the model file is gone")


def by_keywords(text: str) -> str:
    return classify(text, CATALOGUE, SHAPE)


def by_meaning(text: str, encoder: Any, tools: Any = CATALOGUE) -> str:
    return classify(text, tools, SHAPE, IntentVectors(encoder))


# Keywords -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "my package still hasn't arrived",
        "the parcel is not here yet and it's been a week, WK-1001",
        "is my box out for delivery?",
        "any ETA on the package I ordered?",
        "got any news about my box?",
        "which courier is bringing my package?",
        "when is my parcel going to turn up",
        "I got two of the boxes from WK-1001, where's the rest?",
        "is WK-1001 on its way?",
    ],
)
def test_a_delivery_asked_after_in_everyday_words_is_tracked(text: str) -> None:
    assert by_keywords(text) == "track"


@pytest.mark.parametrize(
    "text",
    [
        "which carrier do you use?",  # about the store, not the shopper's parcel
        "my refund still isn't here",  # money awaited, not a parcel
    ],
)
def test_delivery_words_about_the_store_or_a_refund_are_not_tracking(text: str) -> None:
    assert by_keywords(text) != "track"


@pytest.mark.parametrize(
    "text", ["could somebody give me a call about a late parcel?", "please ring me tomorrow"]
)
def test_a_call_back_is_asked_of_a_person(text: str) -> None:
    assert by_keywords(text) == "person"  # no action phones anyone


# Order numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["#1013", "# 1013", "order #1013"])
def test_a_hash_number_is_written_with_the_stores_prefix(typed: str) -> None:
    assert SHAPE.find(f"is {typed} on its way?") == ["WK-1013"]


def test_a_store_without_a_prefix_keeps_the_hash_spelling() -> None:
    assert learn_shape(r"#\d{4}").find("is #1013 on its way?") == ["#1013"]


def test_a_hash_number_reaches_the_actions_in_the_stores_spelling() -> None:
    chat = Chat().user("is #1009 on its way? hannah.schultz@example.com")
    name, args = only_call(chat.reply())
    assert (name, args["order_id"]) == ("lookup_order", "WK-1009")
    chat.tool(name, args, {"message": "Order WK-1009 has shipped.", "order_id": "WK-1009"})
    assert only_call(chat.reply()) == ("fetch_tracking", {"order_id": "WK-1009"})


# Questions about the rules, and requests to act ---------------------------------------------------
RULES_QUESTIONS = [
    "I got a vase as a gift, can I swap it without a receipt?",  # the question after a comma
    "my aunt sent me a jug as a gift, could we return it if it's unused?",  # leave, on terms
    "how can I find my order number?",  # about the number, not a lookup of the order
    "where would I see my order number?",
    "the two lamps look a little different, is either of them broken?",  # a fault word, asked
]


@pytest.mark.parametrize("text", RULES_QUESTIONS)
def test_a_question_about_how_the_rules_work_is_answered_not_acted_on(
    text: str, encoder: QueryEncoder
) -> None:
    assert by_keywords(text) == "question"
    assert by_meaning(text, encoder) == "question"


@pytest.mark.parametrize(
    "text",
    [
        "my plate arrived cracked, what should I do?",  # the damage is stated, then asked about
        "can I send back the vase? order wk-1003",  # an order number: a return to start
        "I want to return the vase, can I do it without a receipt?",  # said outright
    ],
)
def test_a_stated_fault_or_an_order_number_still_starts_a_return(
    text: str, encoder: QueryEncoder
) -> None:
    assert by_keywords(text) == "return"
    assert by_meaning(text, encoder) == "return"


def test_asking_where_the_order_number_is_gets_an_answer_not_a_request_for_it() -> None:
    where = P("payments.md", "Payments > Your order number", "It is in your confirmation email.")
    reply = Chat([where]).user("where would I see my order number?").reply()
    assert "confirmation email" in reply.text and "[1]" in reply.text
    assert not reply.tool_calls


# Routing by meaning ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "how far off is my package",
        "any sign of my parcel yet?",
        "I think my package got lost",
        "my shipment seems to be stuck somewhere",
    ],
)
def test_a_paraphrased_delivery_question_is_tracked_by_its_meaning(
    text: str, encoder: QueryEncoder
) -> None:
    assert by_keywords(text) != "track"  # no keyword rule knows these words
    assert by_meaning(text, encoder) == "track"


@pytest.mark.parametrize(
    "text",
    [
        "I no longer want the lamp I purchased and would like my money refunded",
        "I'd like to give back the vase I bought last week",
    ],
)
def test_a_paraphrased_return_request_is_a_return_by_its_meaning(
    text: str, encoder: QueryEncoder
) -> None:
    assert by_keywords(text) != "return"
    assert by_meaning(text, encoder) == "return"


def test_a_return_asked_about_as_a_question_stays_a_question(encoder: QueryEncoder) -> None:
    # as with the keywords ("can I return…?"), asking whether is about the policy
    assert by_meaning("can I swap my apron for a bigger one", encoder) == "question"


@pytest.mark.parametrize(
    "text",
    [
        "do you ship to Norway?",
        "how many days does shipping to Japan take?",
        "is the glaze food safe for my kids?",
        "do you sell matching saucers for the cups?",
        "I'd like to cancel the order I placed yesterday",  # no action serves it: a person does
    ],
)
def test_a_question_about_the_store_routes_to_no_request(text: str, encoder: QueryEncoder) -> None:
    assert IntentVectors(encoder).route(text, [], CATALOGUE) is None
    assert by_meaning(text, encoder) == by_keywords(text)


def test_a_developers_action_is_routed_by_the_meaning_of_its_examples(
    encoder: QueryEncoder,
) -> None:
    workshop = ToolSpec(
        name="book_workshop",
        description="Book a place in a pottery workshop.",
        parameters={"type": "object", "properties": {"email": {"type": "string"}}},
        examples=("book me a place in a pottery class", "I'd like to sign up for a workshop"),
    )
    tools = read_tools([*TOOLS, workshop])
    text = "can I reserve a spot at one of your ceramics lessons for my daughter?"
    assert classify(text, tools, SHAPE) == "question"  # no example word in common
    assert by_meaning(text, encoder, tools) == "tool:book_workshop"


def test_a_paraphrased_delivery_question_asks_for_the_order_then_tracks_it(
    encoder: QueryEncoder,
) -> None:
    model = OfflineModel(encoder=encoder)
    chat = Chat().user("any sign of my parcel yet?")
    reply = model.respond(chat.request())
    assert "order number" in reply.text and not reply.tool_calls
    chat.bot(reply.text).user("WK-1009, hannah.schultz@example.com")
    name, args = only_call(model.respond(chat.request()))
    assert (name, args["order_id"]) == ("lookup_order", "WK-1009")
    chat.tool(name, args, {"message": "Order WK-1009 has shipped.", "order_id": "WK-1009"})
    assert only_call(model.respond(chat.request())) == ("fetch_tracking", {"order_id": "WK-1009"})


def test_without_an_encoder_the_model_still_answers_on_keywords_alone() -> None:
    chat = Chat().user("any sign of my parcel yet?")
    reply = OfflineModel().respond(chat.request())
    assert reply.text and not reply.tool_calls  # answered as a question, nothing breaks
    chat = Chat().user("where is my parcel?")
    assert "order number" in OfflineModel().respond(chat.request()).text


def test_an_encoder_that_fails_leaves_the_keyword_rules_in_charge() -> None:
    model = OfflineModel(encoder=Broken())
    assert "order number" in model.respond(Chat().user("where is my parcel?").request()).text
    reply = model.respond(Chat().user("any sign of my parcel yet?").request())
    assert reply.text and not reply.tool_calls


def test_examples_are_encoded_once_per_encoder_and_each_message_once(
    encoder: QueryEncoder,
) -> None:
    counting = Counting(encoder)
    chat = Chat().user("any sign of my parcel yet?")
    OfflineModel(encoder=counting).respond(chat.request())
    examples = len(counting.texts) - 1
    assert examples > 20 and counting.texts.count("any sign of my parcel yet?") == 1
    # a later turn (a new model, as each app builds one) classifies the first message again
    chat.bot("What's the order number?").user("it's for my sister, she's waiting on it")
    counting.texts.clear()
    OfflineModel(encoder=counting).respond(chat.request())
    assert counting.texts == ["it's for my sister, she's waiting on it"]


def test_the_streamed_reply_with_an_encoder_is_the_same_reply(encoder: QueryEncoder) -> None:
    model = OfflineModel(encoder=encoder)
    request = Chat().user("any sign of my parcel yet?").request()

    async def collect() -> list[Any]:
        return [item async for item in model.stream(request)]

    items = asyncio.run(collect())
    turn = items[-1]
    assert isinstance(turn, ModelTurn)
    assert "".join(i for i in items if isinstance(i, str)) == model.respond(request).text
