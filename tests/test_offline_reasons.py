"""The offline model on why something is coming back (issue 13): reasons in the shopper's own
words and typos, a refund method carried into the return, a reason given before the order number,
and questions about whether (or until when) a piece can go back answered from the policy's check.
"""

from __future__ import annotations

import pytest

from agent.models.offline import read_tools, slots
from agent.models.offline.reasons import find_reason, find_resolution
from agent.models.offline.routing import OFFER_PERSON, OFFER_RETURN
from tests.test_offline import ORDER_1001, TOOLS, Chat, eligible_chat, only_call
from tests.test_offline_flow import Shopper, deps, kb  # noqa: F401  (fixtures)

REASONS = read_tools(TOOLS)["check_eligibility"].enum("reason")
RESOLUTIONS = read_tools(TOOLS)["create_return_authorization"].enum("resolution")
ADEYEMI_LINES = [
    {"sku": "CER-PLTR-ENGR", "name": 'Engraved serving platter — "The Adeyemis"', "quantity": 1},
    {"sku": "CER-BWL-RIM", "name": "Rimmed serving bowl, oatmeal glaze", "quantity": 1},
]
PLANTER_LINES = [
    {"sku": "CER-PLNT-SM", "name": "Small footed planter", "quantity": 3},
    {"sku": "CER-SAUCER", "name": "Planter saucer", "quantity": 3},
]


# Reasons in the shopper's words ----------------------------------------------------------------
@pytest.mark.parametrize(
    "text, reason",
    [
        ("the vase got smashed to bits on the way", "damaged"),
        ("there's a hairline crack down one side", "damaged"),
        ("the lid came in pieces", "damaged"),
        ("the cushions don't match our sofa", "changed_mind"),
        ("the colour doesn't go with anything we own", "changed_mind"),
        ("my mum didn't like it", "changed_mind"),
        ("the present didn't land, sadly", "changed_mind"),
        ("the jug looks nothing like the pictures", "not_as_described"),
        ("that isn't the teapot I ordered", "wrong_item"),
        ("you sent us the wrong glaze", "wrong_item"),
        ("the stool is wobbly", "defective"),
    ],
)
def test_reasons_said_in_other_words_are_read(text, reason):
    assert find_reason(text, REASONS) == reason


@pytest.mark.parametrize(
    "text, reason",
    [
        ("the plate arived brokne", "damaged"),
        ("the jug is craked", "damaged"),
        ("it was damgaed in the post", "damaged"),
        ("it dosent fit on the shelf", "wrong_size"),
    ],
)
def test_a_reason_with_typos_is_still_read(text, reason):
    assert find_reason(text, REASONS) == reason


def test_an_english_word_is_not_mended_into_a_fault():
    # "denied" is one letter from "dented", but it is a word of its own.
    assert find_reason("my return was denied") is None


def test_a_fault_named_only_to_deny_it_is_not_the_reason():
    assert find_reason("it's not broken, I just don't like the colour") == "changed_mind"


def test_doesnt_work_with_the_room_is_a_matter_of_taste_not_a_fault():
    assert find_reason("the rug doesn't work with our floor") == "changed_mind"
    assert find_reason("the lamp doesn't work") == "defective"


def test_a_refund_set_aside_for_store_credit_names_neither_reason_nor_refund():
    text = "store credit rather than a refund please, I've changed my mind"
    assert find_reason(text, REASONS) == "changed_mind"  # "rather than" is no wrong item
    assert find_resolution(text, RESOLUTIONS) == "store_credit"
    assert find_resolution("a refund instead of store credit", RESOLUTIONS) == "refund"
    assert find_resolution("back to my credit card", RESOLUTIONS) == "refund"


def test_a_gift_card_asked_for_goes_into_the_authorization():
    chat = eligible_chat().user("yes, but as a gift card please")
    name, args = only_call(chat.reply())
    assert name == "create_return_authorization" and args["resolution"] == "store_credit"


# Items ------------------------------------------------------------------------------------------
def test_the_shoppers_email_does_not_name_an_item():
    found = slots.match_items("the bowl please, sam.adeyemi@example.com", ADEYEMI_LINES)
    assert [line["sku"] for line in found] == ["CER-BWL-RIM"]


def test_the_line_a_word_is_about_wins_over_one_it_only_describes():
    found = slots.match_items("three of the planters arrived cracked", PLANTER_LINES)
    assert [line["sku"] for line in found] == ["CER-PLNT-SM"]
    assert [line["sku"] for line in slots.match_items("the saucers", PLANTER_LINES)] == [
        "CER-SAUCER"
    ]


# A reason before the details -------------------------------------------------------------------
def test_a_reason_given_before_the_order_number_starts_the_return_and_is_kept():
    chat = Chat().user("we've had second thoughts about the mug")
    reply = chat.reply()
    assert "order number" in reply.text and "don't know" not in reply.text
    chat.bot(reply.text).user("WK-1001")
    reply = chat.reply()
    assert "email" in reply.text
    chat.bot(reply.text).user("maya.chen@example.com")
    name, args = only_call(chat.reply())
    assert name == "lookup_order"
    chat.tool(name, args, ORDER_1001)
    name, args = only_call(chat.reply())
    assert name == "check_eligibility"
    assert args["sku"] == "CER-MUG-SAGE" and args["reason"] == "changed_mind"


def test_a_wish_about_no_thing_bought_is_no_return():
    reply = Chat().user("I don't want to pay for shipping").reply()
    assert "return" not in reply.text


def test_waiting_for_a_parcel_is_not_asking_about_the_return_window():
    reply = Chat().user("how long do I still have to wait for order WK-1001?").reply()
    assert "a return" not in reply.text


def test_asking_again_whether_it_can_go_back_keeps_the_offer_open():
    reply = eligible_chat().user("so can I send it back?").reply()
    name, args = only_call(reply)  # checked again, then offered again
    assert name == "check_eligibility" and args["reason"] == "changed_mind"


def test_a_return_number_is_not_taken_for_an_order_number():
    reply = Chat().user("my return RMA-UQD394 was approved, what now? ada@example.com").reply()
    assert not reply.tool_calls and "order number" in reply.text


# Whether, and until when, it can go back (the real store and policy) ---------------------------
async def test_asking_whether_an_engraved_piece_can_go_back_says_it_is_final_sale(deps):  # noqa: F811
    shopper = Shopper(deps)
    await shopper.say("could I return the engraved mug? it's on WK-1002")
    answer = await shopper.say("d.okafor@example.com")
    assert "final sale" in answer.text and OFFER_PERSON in answer.text
    assert OFFER_RETURN not in answer.text
    assert deps.services.workflow.list() == []


async def test_a_signed_in_shopper_asking_until_when_hears_the_last_day(deps):  # noqa: F811
    shopper = Shopper(deps)
    shopper.conv.customer_email = "noah.fischer@example.com"  # signed in by the host page
    answer = await shopper.say("until when can I still send back my planters?")
    assert "December 14, 2026" in answer.text and "order number" not in answer.text
    assert "reason" in answer.text  # and how to go on, should they want to
    assert deps.services.workflow.list() == []


async def test_a_signed_in_shopper_past_the_window_hears_when_it_closed(deps):  # noqa: F811
    shopper = Shopper(deps)
    shopper.conv.customer_email = "maya.chen@example.com"
    answer = await shopper.say("how many days do I have left to return my print?")
    assert "closed on November 8, 2026" in answer.text
    assert "damaged" in answer.text and OFFER_PERSON in answer.text
