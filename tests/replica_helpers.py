"""Two replicas of one store for the replica tests: one PostgreSQL schema, the real Redis at
127.0.0.1:6379 under a key prefix of the test's own, and a data directory per replica (as on
separate machines)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import redis

from agent.app.settings import DEMO_STORE, Settings
from tests.ws_helpers import bell_settings

REDIS_URL = "redis://127.0.0.1:6379/0"
DEMO_NOW = "2026-11-21T17:00:00Z"  # the demo orders' return windows are open then


def shared(database_url: str, **overrides: Any) -> dict[str, Any]:
    """The settings every replica of one test's store has in common."""
    prefix = f"shopdesk-test-{uuid.uuid4().hex[:10]}:"
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "rate_limit_prefix": prefix.rstrip(":"),
        "orders": DEMO_STORE / "orders.json",
        "now": DEMO_NOW,
        "messages_per_minute": 100,
    }
    values.update(overrides)
    return values


def replica(data: Path, common: dict[str, Any]) -> Settings:
    return bell_settings(data, **common)


def drop_keys(prefix: str) -> None:
    """A test's keys, gone after it (turn locks lapse anyway; claims would linger a day)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
