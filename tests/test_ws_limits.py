"""The pure parts of the socket limits: the sliding-window rate limiter and the origin rule."""

from __future__ import annotations

from agent.chat.limits import RateLimiter, origin_allowed


def test_the_rate_limiter_allows_n_a_window_per_key_and_forgets_old_events() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b") is True  # per conversation
    now[0] = 60.5
    assert limiter.allow("a") is True
    now[0] = 500.0
    limiter.allow("c")
    assert set(limiter._events) == {"c"}  # idle keys are swept


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
