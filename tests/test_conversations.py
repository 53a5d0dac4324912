"""The conversation store: durable messages, both views of them, confirmations, and migrations."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from actions.clock import Clock
from agent.chat.identity import sign_email, verify_signature
from agent.store.conversations import VERSION_TABLE, ConversationStore


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from agent.store.conversations import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _store(url: str) -> ConversationStore:
    store = ConversationStore(url, clock=Clock(datetime(2026, 11, 21, 17, tzinfo=UTC)))
    store.migrate()
    return store


def test_migrate_is_idempotent_and_uses_its_own_version_table(database_url: str) -> None:
    store = _store(database_url)
    store.migrate()
    with store.engine.connect() as conn:
        version = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == _head()
    store.close()


def test_conversation_ids_are_128_bit_random_and_unknown_ids_are_none(database_url: str) -> None:
    store = _store(database_url)
    a, b = store.create(), store.create()
    assert len(a.id) == 32 and int(a.id, 16) >= 0 and a.id != b.id
    assert store.get("0" * 32) is None
    assert store.get("x" * 500) is None
    assert store.get(a.id).status == "open"
    store.close()


def test_messages_survive_a_new_store_on_the_same_database(database_url: str) -> None:
    store = _store(database_url)
    conv = store.create()
    store.append(conv.id, "user", {"role": "user", "content": "Can I return a mug?"})
    call = {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}
    store.append(conv.id, "assistant", {"role": "assistant", "content": None, "tool_calls": [call]})
    store.append(
        conv.id,
        "tool",
        {
            "role": "tool",
            "tool_call_id": "c1",
            "content": json.dumps({"message": "Found WK-1001."}),
        },
    )
    cites = [{"source": "returns.md", "heading": "Returns", "text": "30 days"}]
    store.append(conv.id, "assistant", {"role": "assistant", "content": "Yes [1]"}, cites)
    store.append(conv.id, "agent", {"role": "agent", "content": "Hi, Sam here", "name": "Sam"})
    store.append(conv.id, "system-note", {"role": "system-note", "content": "verified"})
    store.set_customer(conv.id, "ana@example.com")
    store.close()

    again = _store(database_url)
    assert again.get(conv.id).customer_email == "ana@example.com"
    transcript = again.transcript(conv.id)
    assert [e["role"] for e in transcript] == ["user", "action", "assistant", "agent"]
    assert transcript[1]["action"] == "lookup_order" and transcript[1]["text"] == "Found WK-1001."
    assert transcript[2]["citations"] == cites
    history = again.history(conv.id)
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant", "assistant"]
    assert again.list_conversations()[0].message_count == 6
    again.close()


def test_history_closes_a_tool_call_cut_short_by_a_restart(database_url: str) -> None:
    store = _store(database_url)
    conv = store.create()
    store.append(conv.id, "user", {"role": "user", "content": "return it"})
    call = {
        "id": "c9",
        "type": "function",
        "function": {"name": "generate_label", "arguments": "{}"},
    }
    store.append(conv.id, "assistant", {"role": "assistant", "content": "", "tool_calls": [call]})
    history = store.history(conv.id)
    assert history[-1]["role"] == "tool" and history[-1]["tool_call_id"] == "c9"
    store.close()


def test_a_confirmation_resolves_once(database_url: str) -> None:
    store = _store(database_url)
    conv = store.create()
    store.add_confirmation(
        conv.id,
        confirmation_id="k1",
        action="generate_label",
        arguments={"rma_id": "R"},
        summary="s",
    )
    assert store.pending_confirmation(conv.id).id == "k1"
    assert store.resolve_confirmation("k1", "approved") is True
    assert store.resolve_confirmation("k1", "declined") is False
    assert store.pending_confirmation(conv.id) is None
    store.close()


def test_signed_identity_round_trip_and_tampering() -> None:
    sig = sign_email("  Ana@Example.com ", "store-secret")
    assert verify_signature("ana@example.com", sig, "store-secret")
    assert verify_signature("ana@example.com", sig.upper(), "store-secret")
    assert not verify_signature("bob@example.com", sig, "store-secret")
    assert not verify_signature("ana@example.com", sig, "other-secret")
    assert not verify_signature("ana@example.com", "", "store-secret")
    assert not verify_signature("ana@example.com", "zz\u00e9", "store-secret")


def test_a_resume_token_is_stored_only_hashed_and_rotates_with_verification(
    database_url: str,
) -> None:
    store = _store(database_url)
    creds = store.credentials
    conv = store.create()
    first = creds.issue(conv.id)
    assert creds.matches(conv.id, first) and not creds.matches(conv.id, first[:-1] + "x")
    assert not creds.matches(conv.id, None) and not creds.matches("0" * 32, first)
    with store.engine.connect() as conn:
        stored = json.dumps(
            [list(r) for r in conn.execute(sa.text("SELECT * FROM agent_conversations"))],
            default=str,
        )
    assert first not in stored
    verified = creds.verify(conv.id, "ana@example.com", "order")
    assert not creds.matches(conv.id, first) and creds.matches(conv.id, verified)
    assert store.get(conv.id).customer_email == "ana@example.com"
    ended = creds.end_verification(conv.id)
    assert not creds.matches(conv.id, verified) and creds.matches(conv.id, ended)
    assert store.get(conv.id).customer_email is None
    store.close()


def test_an_ended_verification_withholds_order_data_from_both_views(database_url: str) -> None:
    store = _store(database_url)
    conv = store.create()
    store.append(conv.id, "user", {"role": "user", "content": "WK-1001, ana@example.com"})
    call = {"id": "c1", "type": "function",
            "function": {"name": "lookup_order", "arguments": '{"email": "ana@example.com"}'}}  # fmt: skip
    store.append(conv.id, "assistant", {"role": "assistant", "content": None, "tool_calls": [call]})
    result = {"ok": True, "result": {"message": "Order WK-1001: 2 × Sage mug, tracking 1Z99."}}
    store.append(conv.id, "tool", {"role": "tool", "tool_call_id": "c1", "name": "lookup_order",
                                   "content": json.dumps(result)})  # fmt: skip
    store.append(conv.id, "assistant", {"role": "assistant", "content": "Your 2 Sage mugs ship."})
    hidden = frozenset({"lookup_order"})
    assert "Sage" in json.dumps(store.transcript(conv.id, hidden))  # verified: all shown
    store.credentials.verify(conv.id, "ana@example.com", "order")
    store.credentials.end_verification(conv.id)
    store.append(conv.id, "user", {"role": "user", "content": "hello again"})
    for view in (store.transcript(conv.id, hidden), store.history(conv.id, hidden)):
        text = json.dumps(view, ensure_ascii=False)
        assert "Sage" not in text and "1Z99" not in text and "ana@example.com" not in text
        assert "hello again" in text
    shown = store.transcript(conv.id, hidden)
    assert [e["role"] for e in shown] == ["user", "notice", "assistant", "user"]
    assert (
        shown[1]["text"] == shown[2]["text"] == "Order details hidden — verify again to see them."
    )
    store.close()


def test_an_idle_guest_verification_expires_and_a_signed_one_does_not(database_url: str) -> None:
    from datetime import timedelta

    store = _store(database_url)
    clock = store.clock
    guest, signed = store.create(), store.create()
    store.credentials.verify(guest.id, "ana@example.com", "order")
    store.credentials.verify(signed.id, "bo@example.com", "signed")
    idle = timedelta(minutes=30)
    clock.advance(timedelta(minutes=29))
    assert not store.credentials.state(guest.id).idle_expired(clock(), idle)
    store.append(guest.id, "user", {"role": "user", "content": "still here"})  # activity
    clock.advance(timedelta(minutes=29))
    assert not store.credentials.state(guest.id).idle_expired(clock(), idle)
    clock.advance(timedelta(minutes=2))
    assert store.credentials.state(guest.id).idle_expired(clock(), idle)
    assert not store.credentials.state(signed.id).idle_expired(clock(), idle)
    store.close()
