"""The return-policy engine, rule by rule, with the boundary dates in the policy's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions.policy import (
    FAULT_REASONS,
    Policy,
    PolicyError,
    ReturnReason,
    evaluate_line,
    load_policy,
    parse_reason,
)
from actions.records import Customer, Order, OrderLine

DEMO_POLICY = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "policy.toml"
NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def make_order(
    *items: OrderLine,
    status: str = "delivered",
    delivered_at: datetime | None = None,
    currency: str = "USD",
) -> Order:
    if delivered_at is None and status == "delivered":
        delivered_at = ny(2026, 3, 2, 10, 0)
    return Order(
        id="WK-1001",
        customer=Customer(email="ada@example.com", name="Ada"),
        placed_at=ny(2026, 2, 20, 9, 0),
        status=status,  # type: ignore[arg-type]
        delivered_at=delivered_at,
        currency=currency,
        items=items,
    )


MUG = OrderLine("MUG-ENG", "Engraved Oak Mug", "kitchen", 1, Decimal("38.00"), ("personalized",))
BOWL = OrderLine("BOWL-01", "Stoneware Bowl", "kitchen", 4, Decimal("12.50"))
PRINT = OrderLine("PRINT-01", "Harbour Print", "art-print", 1, Decimal("45.00"))
PAINTING = OrderLine("ART-01", "Original Seascape", "original-art", 1, Decimal("420.00"))
CHAIR = OrderLine("CHAIR-01", "Ash Chair", "furniture", 1, Decimal("10.30"))
SOFA = OrderLine("SOFA-01", "Linen Sofa", "furniture", 1, Decimal("900.00"))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DEMO_POLICY)


def check(order, line, policy, now, *, quantity=1, reason="changed_mind", already=0):
    return evaluate_line(order, line, quantity, reason, policy, now, already_authorized=already)


# The demo policy file -------------------------------------------------------------------------
def test_demo_policy_file_loads_every_setting_of_the_issue(policy: Policy) -> None:
    r = policy.returns
    assert r.timezone == "America/New_York"
    assert (r.window_days, r.fault_window_days) == (30, 14)
    assert r.manual_review_over == Decimal("500")
    assert r.manual_review_reasons == (ReturnReason.DAMAGED, ReturnReason.NOT_AS_DESCRIBED)
    assert r.final_sale_tags == ("personalized", "custom", "final-sale")
    assert r.return_shipping_fee == Decimal("0")
    assert r.category("art-print").window_days == 14
    assert r.category("original-art").final_sale is True
    assert r.category("furniture").restocking_fee_percent == Decimal("15")
    assert r.reasons[ReturnReason.SELLER_ERROR].window_days == 30
    assert r.category("kitchen").window_days is None


def test_policy_file_with_only_a_returns_table_uses_defaults(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[returns]\ntimezone = "Europe/London"\n')
    r = load_policy(path).returns
    assert (r.timezone, r.window_days, r.fault_window_days, r.manual_review_over) == (
        "Europe/London",
        30,
        14,
        None,
    )


def test_policy_file_with_bad_values_names_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        '[returns]\ntimezone = "Mars/Olympus"\nwindow_days = -1\n'
        "[returns.reasons.bored]\nwindow_days = 3\n"
    )
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    text = str(err.value)
    assert "returns.timezone" in text and "Mars/Olympus" in text
    assert "returns.window_days" in text
    assert "bored" in text


def test_missing_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")


# Buyer reasons --------------------------------------------------------------------------------
def test_change_of_mind_inside_window_is_eligible_for_full_refund(policy: Policy) -> None:
    result = check(make_order(BOWL), BOWL, policy, ny(2026, 3, 10, 12), quantity=2)
    assert result.eligible and result.reason_code is None
    assert result.days_since_delivery == 8
    assert result.window_days == 30
    assert result.deadline == date(2026, 4, 1)
    assert result.refund_amount == Decimal("25.00")
    assert (result.restocking_fee, result.return_shipping_fee) == (Decimal("0"), Decimal("0"))
    assert result.return_shipping_required is True
    assert result.review == "auto"
    assert result.message == (
        "2 × Stoneware Bowl can be returned until April 1, 2026 for a refund of $25.00."
    )


def test_last_day_of_window_is_still_in(policy: Policy) -> None:
    # delivered March 2 (NY); day 30 is April 1, right up to 23:59 New York time
    result = check(make_order(BOWL), BOWL, policy, ny(2026, 4, 1, 23, 59))
    assert result.eligible and result.days_since_delivery == 30


def test_first_day_after_window_is_out(policy: Policy) -> None:
    result = check(make_order(BOWL), BOWL, policy, ny(2026, 4, 2, 0, 1))
    assert not result.eligible
    assert result.reason_code == "outside_window"
    assert result.days_since_delivery == 31
    assert result.review is None and result.refund_amount == 0
    assert result.message == (
        "The Stoneware Bowl was delivered 31 days ago and the 30-day window for returns closed "
        "on April 1, 2026, so it can't be returned now."
    )


def test_late_evening_delivery_counts_from_the_new_york_date(policy: Policy) -> None:
    # 23:30 in New York on March 1 is already March 2 in UTC: the policy counts from March 1.
    delivered = ny(2026, 3, 1, 23, 30)
    assert delivered.astimezone(UTC).date() == date(2026, 3, 2)
    order = make_order(BOWL, delivered_at=delivered.astimezone(UTC))
    just_after = check(order, BOWL, policy, ny(2026, 3, 2, 0, 15))
    assert just_after.days_since_delivery == 1
    last_in = check(order, BOWL, policy, ny(2026, 3, 31, 23, 59))
    assert last_in.eligible and last_in.deadline == date(2026, 3, 31)
    # noon on April 1 in New York: 31 days by the New York date, only 30 by the UTC date
    first_out = check(order, BOWL, policy, ny(2026, 4, 1, 12, 0).astimezone(UTC))
    assert first_out.reason_code == "outside_window" and first_out.days_since_delivery == 31


def test_now_given_in_utc_is_read_as_the_new_york_date(policy: Policy) -> None:
    # 03:00 UTC on April 2 is still April 1 (23:00) in New York: the last day in.
    now = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
    assert check(make_order(BOWL), BOWL, policy, now).eligible


def test_personalised_item_is_final_sale_for_change_of_mind(policy: Policy) -> None:
    result = check(make_order(MUG), MUG, policy, ny(2026, 3, 3, 9))
    assert not result.eligible and result.reason_code == "final_sale"
    assert result.message == (
        "The Engraved Oak Mug is personalised, so it's final sale unless we made a mistake with it."
    )


@pytest.mark.parametrize("tag", ["custom", "final-sale", "Personalized"])
def test_every_final_sale_tag_refuses_buyer_reasons(policy: Policy, tag: str) -> None:
    line = OrderLine("X-1", "Name Sign", "decor", 1, Decimal("20"), (tag,))
    for reason in ("changed_mind", "wrong_size", "ordered_by_mistake", "no_longer_needed"):
        result = check(make_order(line), line, policy, ny(2026, 3, 3, 9), reason=reason)
        assert result.reason_code == "final_sale", (tag, reason)


def test_original_art_category_is_final_sale_for_change_of_mind(policy: Policy) -> None:
    result = check(make_order(PAINTING), PAINTING, policy, ny(2026, 3, 3, 9))
    assert result.reason_code == "final_sale"
    assert result.message == (
        "The Original Seascape is final sale, so it can only be returned if we made a mistake "
        "with it."
    )


def test_final_sale_is_reported_before_the_window(policy: Policy) -> None:
    result = check(make_order(MUG), MUG, policy, ny(2026, 6, 1, 9))
    assert result.reason_code == "final_sale"


def test_art_print_has_a_fourteen_day_window_for_buyer_reasons(policy: Policy) -> None:
    order = make_order(PRINT)
    last_in = check(order, PRINT, policy, ny(2026, 3, 16, 20))
    assert last_in.eligible and last_in.window_days == 14 and last_in.deadline == date(2026, 3, 16)
    first_out = check(order, PRINT, policy, ny(2026, 3, 17, 8))
    assert first_out.reason_code == "outside_window"


def test_furniture_restocking_fee_is_fifteen_percent_rounded_half_up(policy: Policy) -> None:
    # 15% of 10.30 is 1.545: half-up gives 1.55 (banker's rounding would give 1.54)
    result = check(make_order(CHAIR), CHAIR, policy, ny(2026, 3, 5, 9))
    assert result.restocking_fee == Decimal("1.55")
    assert result.refund_amount == Decimal("8.75")
    assert (
        "for a refund of $8.75 after a $1.55 restocking fee, and we'll arrange a freight collection"
        in result.message
    )


def test_return_shipping_fee_is_deducted_for_buyer_reasons_only(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[returns]\ntimezone = "America/New_York"\nreturn_shipping_fee = 5.95\n')
    policy = load_policy(path)
    buyer = check(make_order(BOWL), BOWL, policy, ny(2026, 3, 5, 9))
    assert buyer.return_shipping_fee == Decimal("5.95")
    assert buyer.refund_amount == Decimal("6.55")
    fault = check(make_order(BOWL), BOWL, policy, ny(2026, 3, 5, 9), reason="defective")
    assert fault.return_shipping_fee == 0 and fault.refund_amount == Decimal("12.50")


def test_refund_is_never_below_zero(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[returns]\nreturn_shipping_fee = 20\n")
    result = check(make_order(BOWL), BOWL, load_policy(path), ny(2026, 3, 5, 9))
    assert result.eligible and result.refund_amount == Decimal("0.00")


def test_refund_over_the_review_threshold_waits_for_staff(policy: Policy) -> None:
    sofa = check(make_order(SOFA), SOFA, policy, ny(2026, 3, 5, 9))
    # 900 − 15% = 765 > 500
    assert sofa.refund_amount == Decimal("765.00") and sofa.review == "manual"
    assert sofa.message.endswith("once our team has reviewed it.")
    exactly = OrderLine("LAMP", "Brass Lamp", "lighting", 1, Decimal("500.00"))
    assert check(make_order(exactly), exactly, policy, ny(2026, 3, 5, 9)).review == "auto"


# Fault reasons --------------------------------------------------------------------------------
def test_damaged_personalised_item_is_refunded_and_kept(policy: Policy) -> None:
    result = check(make_order(MUG), MUG, policy, ny(2026, 3, 5, 9), reason="damaged")
    assert result.eligible
    assert result.refund_amount == Decimal("38.00")
    assert result.return_shipping_required is False
    assert result.review == "manual"  # damaged is a manual-review reason
    assert "keep or recycle" in result.message


def test_defective_item_goes_back_without_fees_and_is_reviewed_automatically(
    policy: Policy,
) -> None:
    result = check(make_order(CHAIR), CHAIR, policy, ny(2026, 3, 5, 9), reason="defective")
    assert result.eligible and result.restocking_fee == 0 and result.return_shipping_fee == 0
    assert result.refund_amount == Decimal("10.30")
    assert result.return_shipping_required is True and result.review == "auto"


def test_fault_window_is_fourteen_days(policy: Policy) -> None:
    order = make_order(BOWL)
    last_in = check(order, BOWL, policy, ny(2026, 3, 16, 23, 59), reason="wrong_item")
    assert last_in.eligible and last_in.window_days == 14
    first_out = check(order, BOWL, policy, ny(2026, 3, 17, 0, 1), reason="wrong_item")
    assert first_out.reason_code == "outside_window"
    assert "window for damage or mistakes" in first_out.message


def test_seller_error_has_its_own_thirty_day_window(policy: Policy) -> None:
    order = make_order(MUG)
    last_in = check(order, MUG, policy, ny(2026, 4, 1, 18), reason="seller_error")
    assert last_in.eligible and last_in.window_days == 30
    assert last_in.return_shipping_required is False  # final sale: keep it
    first_out = check(order, MUG, policy, ny(2026, 4, 2, 9), reason="seller_error")
    assert first_out.reason_code == "outside_window"


def test_not_as_described_is_always_reviewed(policy: Policy) -> None:
    result = check(make_order(BOWL), BOWL, policy, ny(2026, 3, 5, 9), reason="not_as_described")
    assert result.eligible and result.review == "manual"


def test_fault_reasons_ignore_the_category_window(policy: Policy) -> None:
    # art prints close after 14 days for buyers, but a fault window comes from the reason
    result = check(make_order(PRINT), PRINT, policy, ny(2026, 3, 20, 9), reason="seller_error")
    assert result.eligible and result.window_days == 30


# Order and quantity -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["pending", "processing", "shipped", "cancelled"])
def test_order_not_delivered_cannot_be_returned(policy: Policy, status: str) -> None:
    result = check(make_order(BOWL, status=status), BOWL, policy, ny(2026, 3, 5, 9))
    assert not result.eligible and result.reason_code == "not_delivered"
    assert result.days_since_delivery is None and result.review is None
    assert "WK-1001" in result.message


def test_quantity_above_ordered_minus_authorized_is_refused(policy: Policy) -> None:
    order = make_order(BOWL)  # 4 bowls ordered
    assert check(order, BOWL, policy, ny(2026, 3, 5, 9), quantity=4).eligible
    over = check(order, BOWL, policy, ny(2026, 3, 5, 9), quantity=5)
    assert over.reason_code == "quantity_exceeds"
    partly = check(order, BOWL, policy, ny(2026, 3, 5, 9), quantity=2, already=3)
    assert partly.reason_code == "quantity_exceeds"
    assert partly.message == "You can return at most 1 × Stoneware Bowl from this order."
    assert check(order, BOWL, policy, ny(2026, 3, 5, 9), quantity=1, already=3).eligible


def test_unknown_reason_lists_the_allowed_ones(policy: Policy) -> None:
    with pytest.raises(ValueError) as err:
        check(make_order(BOWL), BOWL, policy, ny(2026, 3, 5, 9), reason="bored")
    for reason in ReturnReason:
        assert reason.value in str(err.value)


def test_reasons_are_split_into_buyer_and_fault() -> None:
    assert {r.value for r in FAULT_REASONS} == {
        "damaged",
        "defective",
        "wrong_item",
        "not_as_described",
        "seller_error",
    }
    assert parse_reason(" Changed_Mind ") is ReturnReason.CHANGED_MIND


def test_money_is_shown_in_the_order_currency(policy: Policy) -> None:
    result = check(make_order(BOWL, currency="EUR"), BOWL, policy, ny(2026, 3, 5, 9))
    assert "€12.50" in result.message


def test_window_spanning_the_clock_change_still_counts_calendar_days(policy: Policy) -> None:
    # Clocks go forward on March 8, 2026 in New York: a 23-hour day must not shorten the window.
    order = make_order(BOWL, delivered_at=ny(2026, 3, 7, 23, 30))
    last_in = check(order, BOWL, policy, ny(2026, 4, 6, 23, 59))
    assert last_in.eligible and last_in.days_since_delivery == 30
    assert check(order, BOWL, policy, ny(2026, 4, 7, 0, 0)).reason_code == "outside_window"


# Return methods -------------------------------------------------------------------------------
def _policy_text(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "policy.toml"
    path.write_text("[returns]\n" + text)
    return load_policy(path)


def test_items_go_back_with_a_parcel_label_unless_the_policy_says_otherwise(
    policy: Policy,
) -> None:
    result = check(make_order(BOWL), BOWL, policy, ny(2026, 3, 10, 12))
    assert result.return_method == "parcel_label" and result.return_shipping_required


def test_demo_furniture_goes_by_freight_collection_for_any_reason(policy: Policy) -> None:
    for reason in ("changed_mind", "damaged"):
        result = check(make_order(CHAIR), CHAIR, policy, ny(2026, 3, 5, 9), reason=reason)
        assert result.return_method == "freight_collection"
        assert result.return_shipping_required  # it does come back, collected
    assert "freight collection from your door" in result.message


def test_demo_damaged_original_painting_is_collected_at_the_stores_cost(policy: Policy) -> None:
    result = check(make_order(PAINTING), PAINTING, policy, ny(2026, 3, 5, 9), reason="damaged")
    assert result.eligible and result.return_method == "store_collection"
    assert result.return_shipping_required
    assert "we will arrange the return at our cost" in result.message
    assert "keep or recycle" not in result.message


def test_demo_personalised_piece_we_got_wrong_is_kept(policy: Policy) -> None:
    result = check(make_order(MUG), MUG, policy, ny(2026, 3, 5, 9), reason="seller_error")
    assert result.return_method == "keep_it" and not result.return_shipping_required
    assert "keep or recycle" in result.message


def test_a_category_rule_for_one_reason_comes_before_everything(tmp_path: Path) -> None:
    p = _policy_text(
        tmp_path,
        'method = "parcel_label"\n[returns.categories.kitchen]\nmethod = "freight_collection"\n'
        'methods = { damaged = "keep_it" }\n[returns.reasons.damaged]\nmethod = "store_collection"\n',
    )
    damaged = check(make_order(BOWL), BOWL, p, ny(2026, 3, 5, 9), reason="damaged")
    changed = check(make_order(BOWL), BOWL, p, ny(2026, 3, 5, 9))
    assert (damaged.return_method, changed.return_method) == ("keep_it", "freight_collection")


def test_a_reasons_method_applies_where_the_category_has_none(tmp_path: Path) -> None:
    p = _policy_text(tmp_path, '[returns.reasons.wrong_item]\nmethod = "store_collection"\n')
    wrong = check(make_order(BOWL), BOWL, p, ny(2026, 3, 5, 9), reason="wrong_item")
    mind = check(make_order(BOWL), BOWL, p, ny(2026, 3, 5, 9))
    assert (wrong.return_method, mind.return_method) == ("store_collection", "parcel_label")


def test_a_final_sale_piece_accepted_for_a_fault_follows_its_own_setting(tmp_path: Path) -> None:
    p = _policy_text(
        tmp_path,
        'final_sale_tags = ["personalized"]\nfinal_sale_fault_method = "parcel_label"\n'
        '[returns.categories.kitchen]\nmethod = "freight_collection"\n',
    )
    result = check(make_order(MUG), MUG, p, ny(2026, 3, 5, 9), reason="seller_error")
    assert result.return_method == "parcel_label"  # before the category's method


def test_the_stores_own_default_method(tmp_path: Path) -> None:
    p = _policy_text(tmp_path, 'method = "keep_it"\n')
    result = check(make_order(BOWL), BOWL, p, ny(2026, 3, 5, 9))
    assert result.return_method == "keep_it" and not result.return_shipping_required


def test_an_unknown_return_method_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as err:
        _policy_text(tmp_path, '[returns.categories.kitchen]\nmethod = "carrier_pigeon"\n')
    assert "categories.kitchen.method" in str(err.value) and "parcel_label" in str(err.value)
