"""A custom action, written as a store's developer would: `shopdesk --actions examples/custom_actions.py`.

    shopdesk --actions examples/custom_actions.py actions call gift_card_balance \
        --args '{"code": "GIFT-2468-1357"}'

The signature is the schema the model sees; the docstring is its description; `message` is what the
shopper reads. Raise `ActionError` for anything the shopper should be told plainly.
"""

from __future__ import annotations

from decimal import Decimal

from actions import ActionContext, ActionError, ActionResult, action

# Stands in for the gift-card provider's API a real store would call here.
BALANCES = {"GIFT-2468-1357": Decimal("25.00"), "GIFT-1111-2222": Decimal("0.00")}


class GiftCardBalance(ActionResult):
    code: str
    balance: Decimal


@action(examples=("what is the balance on my gift card?", "check gift card GIFT-2468-1357"))
async def gift_card_balance(ctx: ActionContext, code: str) -> GiftCardBalance:
    """Tell the shopper how much is left on one of the store's gift cards.

    Args:
        code: The code printed on the gift card, e.g. "GIFT-2468-1357".
    """
    code = code.strip().upper()
    if code not in BALANCES:
        raise ActionError("gift_card_not_found", "I couldn't find a gift card with that code.")
    balance = BALANCES[code]
    return GiftCardBalance(
        code=code, balance=balance, message=f"Gift card {code} has ${balance} left."
    )
