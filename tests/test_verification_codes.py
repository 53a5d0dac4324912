"""Email verification codes in the conversations database (SQLite and PostgreSQL): hashed, tried
at most N times, used once, and replaced by a newer code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from actions.clock import Clock
from agent.store.conversations import ConversationStore
from agent.store.verification_codes import CodeStatus, CodeStore, codes_t

NOW = datetime(2026, 11, 21, 17, tzinfo=UTC)


def _codes(url: str) -> tuple[ConversationStore, CodeStore, str]:
    store = ConversationStore(url, clock=Clock(NOW, frozen=True))
    store.migrate()
    return store, CodeStore(store, "a-store-secret"), store.create().id


def test_a_code_is_stored_as_a_keyed_hash_and_used_only_once(database_url: str) -> None:
    store, codes, conv = _codes(database_url)
    code_id = codes.issue(
        conv, email="ada@example.com", order_id="WK-1001", code="042917",
        expires_at=NOW + timedelta(minutes=10),
    )  # fmt: skip
    pending = codes.pending(conv)
    assert pending is not None and pending.id == code_id and pending.expires_at > NOW
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(codes_t)).mappings().one()
    assert "042917" not in str(dict(row))
    # Another store secret cannot check it: the hash is keyed.
    assert codes.matches(pending, "042917")
    assert not CodeStore(store, "another-secret").matches(pending, "042917")
    assert codes.record_try(code_id, correct=True, max_tries=5) is CodeStatus.USED
    assert codes.record_try(code_id, correct=True, max_tries=5) is None  # two tabs: one wins
    assert codes.pending(conv) is None
    store.close()


def test_a_code_is_spent_after_its_tries_and_a_new_one_replaces_the_old(database_url: str) -> None:
    store, codes, conv = _codes(database_url)
    later = NOW + timedelta(minutes=10)
    first = codes.issue(
        conv, email="a@example.com", order_id="WK-1", code="111111", expires_at=later
    )
    second = codes.issue(
        conv, email="a@example.com", order_id="WK-1", code="222222", expires_at=later
    )
    assert first != second
    pending = codes.pending(conv)
    assert pending is not None and pending.id == second
    assert codes.record_try(first, correct=True, max_tries=3) is None  # replaced: it counts no more
    statuses = [codes.record_try(second, correct=False, max_tries=3) for _ in range(4)]
    assert statuses == [CodeStatus.PENDING, CodeStatus.PENDING, CodeStatus.SPENT, None]
    assert codes.pending(conv) is None
    store.close()


async def test_the_embedded_sender_logs_where_a_code_went_but_never_the_code(caplog) -> None:
    from agent.chat.verification import LoggingCodeSender

    with caplog.at_level("INFO", logger="shopdesk.verification"):
        await LoggingCodeSender().send_code("hannah.schultz@example.com", "482913", "Willow & Kiln")
    logged = caplog.text
    assert "h•••@example.com" in logged
    assert "482913" not in logged and "hannah.schultz" not in logged
