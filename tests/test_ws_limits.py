"""The pure parts of the socket limits: counted rules, the client's address and the origin rule."""

from __future__ import annotations

import pytest

from agent.app.settings import Settings
from agent.chat.limits import (
    CountersUnavailable,
    Rule,
    Rules,
    Throttle,
    client_address,
    open_storage,
    origin_allowed,
    trusted_networks,
)


def _throttle(**overrides: object) -> Throttle:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    return Throttle(Rules.from_settings(settings), open_storage("memory://"))


async def test_the_rate_limiter_allows_n_a_window_per_key_and_a_new_window_starts_afresh() -> None:
    throttle = _throttle(messages_per_minute=3)
    rule = throttle.rules.conversation_messages
    assert [await throttle.hit(rule, "a") for _ in range(4)] == [True, True, True, False]
    assert await throttle.hit(rule, "b") is True  # per conversation
    await throttle.reset()  # the next window (never a sleep)
    assert await throttle.hit(rule, "a") is True


async def test_two_stores_sharing_one_counter_storage_do_not_share_counts() -> None:
    storage = open_storage("memory://")
    rules = Rules.from_settings(Settings(messages_per_minute=1))
    one, other = Throttle(rules, storage, prefix="one"), Throttle(rules, storage, prefix="other")
    assert await one.hit(rules.conversation_messages, "c")
    assert not await one.hit(rules.conversation_messages, "c")
    assert await other.hit(rules.conversation_messages, "c")


async def test_a_refused_message_is_told_in_words_with_the_window() -> None:
    throttle = _throttle(messages_per_minute=50, limit_messages_per_address="2 per 5 minutes")
    assert await throttle.message("c1", "198.51.100.7") is None
    assert await throttle.message("c2", "198.51.100.7") is None
    refused = await throttle.message("c3", "198.51.100.7")
    assert refused is not None and "wait 5 minutes" in refused
    assert await throttle.message("c3", "198.51.100.8") is None  # another client


async def test_without_its_counters_the_chat_goes_on_but_no_lookup_is_tried() -> None:
    rules = Rules.from_settings(Settings())
    throttle = Throttle(rules, open_storage("redis://127.0.0.1:1"))  # nothing listens there
    assert await throttle.message("c1", "198.51.100.7") is None  # capacity limits fail open
    assert await throttle.new_conversation("198.51.100.7") is None
    with pytest.raises(CountersUnavailable):  # guessing limits fail closed
        await throttle.test(rules.email_failures, "ada@example.com")
    with pytest.raises(CountersUnavailable):
        await throttle.hit(rules.order_failures, "1001")


def test_limit_windows_read_as_words() -> None:
    assert Rule.of("x", "5 per 15 minutes").window == "15 minutes"
    assert Rule.of("x", "10/hour").window == "an hour"
    assert Rule.of("x", "3 per minute").window == "a minute"
    assert Rule.of("x", "3 per 2 hours").window == "2 hours"


def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy() -> None:
    trusted = trusted_networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address("203.0.113.9", "198.51.100.1", trusted) == "203.0.113.9"  # untrusted
    assert client_address("10.1.2.3", "198.51.100.1", trusted) == "198.51.100.1"
    # The client may prepend anything; the rightmost untrusted hop is the one our proxies saw.
    assert client_address("127.0.0.1", "1.2.3.4, 198.51.100.1, 10.9.9.9", trusted) == (
        "198.51.100.1"
    )
    assert client_address("10.1.2.3", None, trusted) == "10.1.2.3"
    assert client_address("10.1.2.3", "not-an-address", trusted) == "10.1.2.3"
    assert client_address(None, "198.51.100.1", trusted) == "unknown"


def test_origins_our_own_configured_and_none_are_allowed_others_refused() -> None:
    allowed = ["https://shop.example"]
    assert origin_allowed(None, "127.0.0.1:8000", allowed)  # not a browser
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", allowed)
    assert origin_allowed("http://localhost", "localhost", allowed)
    assert origin_allowed("https://shop.example", "chat.shop.example", allowed)
    assert origin_allowed("https://SHOP.example:443/", "chat.shop.example", allowed)
    assert not origin_allowed("https://evil.example", "127.0.0.1:8000", allowed)
    assert not origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8000", allowed)
    assert not origin_allowed("null", "127.0.0.1:8000", allowed)
    assert not origin_allowed("http://shop.example", "x", allowed)  # scheme matters
    assert origin_allowed("https://anything.example", "x", ["*"])


def test_the_busy_answer_names_the_default_window_as_a_minute() -> None:
    from agent.chat.model_budget import busy_text

    window = Rules.from_settings(Settings()).model_calls.window
    assert busy_text(window).endswith("Your message is saved; please try again in a minute.")
