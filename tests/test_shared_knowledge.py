"""Knowledge on a Chroma server shared by replicas: an edit saved on replica B (the knowledge
editor's write path) is answered from replica A, which hears of it over Redis and loads only the
changed section. Each replica has its own data and knowledge folders, as on two machines; A ranks
with Chroma's own query (as for a large knowledge base), B in memory."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from knowledge.editing import save
from tests.shared_helpers import DEMO, chroma_server, replica_settings, start_replica
from tests.ws_helpers import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"
LOYALTY = """---
title: Loyalty points
---
# Loyalty points

Every order earns Kiln Points: one point per dollar spent. Redeem 100 Kiln Points for a
five dollar discount at checkout.
"""


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")


async def test_a_knowledge_edit_saved_on_b_is_answered_from_a(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _redis_or_skip()
    for name in ("a", "b"):
        shutil.copytree(DEMO / "knowledge", tmp_path / f"kb-{name}")
    with chroma_server(tmp_path / "chroma") as chroma:
        shared = {
            "chroma_url": chroma, "redis_url": REDIS_URL,
            "rate_limit_prefix": f"t{uuid.uuid4().hex[:10]}",
            "redis_prefix": f"t{uuid.uuid4().hex[:10]}:",
        }  # fmt: skip
        a = start_replica(
            replica_settings(
                pg_url,
                tmp_path / "a",
                kb=tmp_path / "kb-a",
                knowledge_dense_in_memory_max=0,
                **shared,
            ),
            own_knowledge=True,
        )
        try:
            b = start_replica(
                replica_settings(pg_url, tmp_path / "b", kb=tmp_path / "kb-b", **shared),
                own_knowledge=True,
            )
            try:
                kb_a, kb_b = a.app.state.kb, b.app.state.kb
                assert len(kb_a) == len(kb_b) > 0  # B loaded what A indexed, from the server
                ready = httpx.get(f"{a.http_url}/readyz", timeout=30).json()
                assert ready["checks"]["chroma server"] == {"ok": True, "detail": "answers"}
                before = kb_a.search("how many Kiln Points for a discount", k=1)
                assert "Kiln Points" not in before.passages[0].text

                started = time.perf_counter()
                save(kb_b, "loyalty.md", LOYALTY, None, tmp_path / "backups-b",
                     now=b.app.state.settings.clock())  # fmt: skip

                def answered_on_a() -> bool:
                    found = kb_a.search("how many Kiln Points for a discount", k=1)
                    return bool(found.passages) and "Kiln Points" in found.passages[0].text

                await eventually(answered_on_a, "A answering from B's edit")
                seconds = time.perf_counter() - started
                assert not (tmp_path / "kb-a" / "loyalty.md").exists()  # only B's folder has it
                with capsys.disabled():
                    print(f"\n[knowledge edit on B answered from A after {seconds * 1000:.0f} ms]")
            finally:
                b.stop()
        finally:
            a.stop()
