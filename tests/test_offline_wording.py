"""The offline model on ordinary wording (issue 13): a signed-in shopper's own orders without a
number, two questions in one message, and requests no action serves."""

from __future__ import annotations

import pytest

from actions.builtin.my_orders import list_my_orders
from actions.context import ActionContext, ActionError
from agent.models.base import ToolSpec
from agent.models.offline import OfflineModel, slots
from agent.models.offline.routing import OFFER_PERSON, mend_typos
from agent.models.offline.unserved import Unserved
from agent.models.questions import split_questions
from tests.test_offline import TOOLS, request
from tests.test_offline_flow import DEMO_NOW, Shopper, deps, kb  # noqa: F401  (fixtures)

MAYA = "maya.chen@example.com"  # two orders: WK-1001 (mug, plates) and WK-1025 (a print)


def signed_in(deps, email: str) -> Shopper:  # noqa: F811
    shopper = Shopper(deps)
    shopper.conv.customer_email = email  # the host page's signed identity, as hello sets it
    return shopper


# Signed in: the shopper's own orders ----------------------------------------------------------
async def test_signed_in_shopper_with_one_order_hears_about_it_without_an_order_number(deps):  # noqa: F811
    shopper = signed_in(deps, "noah.fischer@example.com")
    answer = await shopper.say("has my order arrived?")
    assert shopper.actions() == [("list_my_orders", True)]
    assert "delivered" in answer.text and "order number" not in answer.text


async def test_signed_in_shopper_with_several_orders_is_asked_which_by_name(deps):  # noqa: F811
    shopper = signed_in(deps, MAYA)
    answer = await shopper.say("where's my order?")
    assert "WK-1001" in answer.text and "WK-1025" in answer.text and "Which one" in answer.text
    assert ("fetch_tracking", True) not in shopper.actions()
    answer = await shopper.say("the mug one")
    assert shopper.actions() == [("fetch_tracking", True)]
    assert "WK-1001" in answer.text


async def test_signed_in_return_finds_the_order_holding_the_named_item(deps):  # noqa: F811
    shopper = signed_in(deps, MAYA)
    answer = await shopper.say("I want to return the plates")
    assert "Sage side plate" in answer.text and "why" in answer.text
    assert "order number" not in answer.text
    answer = await shopper.say("changed my mind")
    checks = [e for e in shopper.events if e.type == "action_finished"]
    assert [(e.action, e.ok) for e in checks] == [("check_eligibility", True)]
    assert "Shall I start this return" in answer.text and "$22.00" in answer.text


async def test_the_order_list_holds_only_the_verified_shoppers_orders(deps):  # noqa: F811
    ctx = ActionContext(services=deps.services, now=DEMO_NOW, customer_email=MAYA)
    mine = await list_my_orders(ctx)
    assert [o.order_id for o in mine.orders] == ["WK-1001", "WK-1025"]  # newest first
    assert "2 recent orders" in mine.message
    stranger = ActionContext(services=deps.services, now=DEMO_NOW)
    with pytest.raises(ActionError) as refused:
        await deps.registry.run("list_my_orders", stranger, {})
    assert refused.value.code == "identity_required"


# Two questions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, parts",
    [
        ("do you ship to canada? and how long do refunds take?", 2),
        ("How much is shipping, and do gift cards expire?", 2),
        ("How long for a print? Also, do you deliver to Alaska?", 2),
        ("Can I return the mug and the plates?", 1),
        ("I want to return the mug and the plates", 1),
        ("how long do refunds take?", 1),
        ("How do I post a sofa back? It is far too big for a parcel", 1),
        ("My order is a gift. Can it be wrapped? And when will it arrive?", 2),
    ],
)
def test_a_message_is_split_only_where_a_new_question_starts(text, parts):
    assert len(split_questions(text)) == parts


def test_a_sentence_that_asks_nothing_stays_with_its_question():
    assert split_questions("My order is a gift. Can it be wrapped? And when will it arrive?") == [
        "My order is a gift. Can it be wrapped?",
        "when will it arrive?",
    ]


async def test_two_questions_in_one_message_are_each_answered_and_cited(deps):  # noqa: F811
    answer = await Shopper(deps).say("do you ship to canada? and how long do refunds take?")
    cited = {(c.source, c.heading.rsplit(" > ", 1)[-1]) for c in answer.citations}
    assert ("shipping.md", "Where we ship") in cited
    assert ("refunds.md", "How long a refund takes") in cited
    assert len({c.heading for c in answer.citations}) == 2


async def test_two_questions_about_labels_are_answered_not_turned_into_a_return(deps):  # noqa: F811
    shopper = Shopper(deps)
    answer = await shopper.say(
        "how do I print the return label, and where do I drop the parcel off?"
    )
    assert shopper.actions() == [] and "order number" not in answer.text
    assert {c.heading.rsplit(" > ", 1)[-1] for c in answer.citations} == {
        "Printing the label",
        "Dropping it off",
    }


# Requests no action serves ---------------------------------------------------------------------
async def test_cancelling_an_order_offers_a_person_even_after_the_email_follows(deps):  # noqa: F811
    shopper = Shopper(deps)
    answer = await shopper.say("please cancel my order WK-1008")
    assert "can't cancel" in answer.text and OFFER_PERSON in answer.text
    answer = await shopper.say("marcus.lee@example.com")
    assert OFFER_PERSON in answer.text and "being prepared" not in answer.text
    await shopper.say("yes please")
    assert [e.type for e in shopper.events if e.type == "handoff"] == ["handoff"]


async def test_changing_the_address_offers_a_person_not_an_order_summary(deps):  # noqa: F811
    shopper = signed_in(deps, "oscar.jensen@example.com")
    answer = await shopper.say(
        "I moved last week, can you update the shipping address on my order?"
    )
    assert shopper.actions() == [] and OFFER_PERSON in answer.text
    assert "change the details of an order" in answer.text


def test_a_store_action_for_the_request_takes_it_instead_of_a_person():
    cancel = ToolSpec(
        name="cancel_order",
        description="Cancel an order that has not shipped.",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
    )
    said = [{"role": "user", "content": "please cancel my order WK-1008"}]
    assert Unserved(request(said)).unserved_reply() is not None
    assert Unserved(request(said, tools=[*TOOLS, cancel])).unserved_reply() is None


def test_status_questions_and_policy_questions_are_not_unserved_requests():
    for text in (
        "any update on my order?",
        "was my order cancelled?",
        "can I still cancel an order?",
    ):
        said = [{"role": "user", "content": text}]
        assert Unserved(request(said)).unserved_reply() is None, text
    reply = OfflineModel().respond(
        request([{"role": "user", "content": "any update on my order?"}])
    )
    assert OFFER_PERSON not in (reply.text or "")


# Items, quantities and corrections -----------------------------------------------------------
MAYA_LINES = [
    {"sku": "CER-MUG-SAGE", "name": "Sage speckled stoneware mug", "quantity": 2},
    {"sku": "CER-PLT-SAGE", "name": "Sage side plate", "quantity": 4},
]
OKAFOR_LINES = [
    {"sku": "CER-MUG-ENG", "name": 'Engraved stoneware mug — "Dad"', "quantity": 1},
    {"sku": "CER-MUG-SAGE", "name": "Sage speckled stoneware mug", "quantity": 1},
]


@pytest.mark.parametrize(
    "text, lines, skus",
    [
        ("actually, not the mug, the plates", MAYA_LINES, ["CER-PLT-SAGE"]),
        ("sorry I meant the mugs, not the plates", MAYA_LINES, ["CER-MUG-SAGE"]),
        ("I want to return the plates", MAYA_LINES, ["CER-PLT-SAGE"]),
        ("the green one from my order", OKAFOR_LINES, ["CER-MUG-SAGE"]),
        ("the plain mug, the one without the writing", OKAFOR_LINES, ["CER-MUG-SAGE"]),
        ("the mug", OKAFOR_LINES, []),  # two mugs: ask, don't guess
    ],
)
def test_items_are_picked_as_shoppers_describe_and_correct_them(text, lines, skus):
    assert [item["sku"] for item in slots.match_items(text, lines)] == skus


def test_quantities_in_words():
    assert slots.find_units("all of the plates", 4) == 4
    assert slots.find_units("a couple of the saucers", 3) == 2
    assert slots.find_units("just two of them", 4) == 2
    assert slots.leading_answer("no wait, just two of them") is None  # a correction
    assert slots.leading_answer("no thanks") == "no"


async def test_a_corrected_quantity_is_the_one_returned(deps):  # noqa: F811
    shopper = Shopper(deps)
    await shopper.say("return 3 of the plates from WK-1001, maya.chen@example.com, changed my mind")
    answer = await shopper.say("no wait, just two of them")
    assert "2 × Sage side plate" in answer.text and "Shall I start" in answer.text
    await shopper.say("yes")
    (rma,) = deps.services.workflow.list()
    assert [(line.sku, line.quantity) for line in rma.lines] == [("CER-PLT-SAGE", 2)]


def test_slips_in_routing_words_are_mended_but_other_words_are_not():
    assert mend_typos("can you trak my ordr") == "can you track my order"
    assert mend_typos("my bowl arived broekn") == "my bowl arrived broken"
    assert mend_typos("it broke, lots of orders, a trick") == "it broke, lots of orders, a trick"
