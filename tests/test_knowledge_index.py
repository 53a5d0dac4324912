"""Incremental indexing, bad files, watching, async search and the no-network guarantee.

Tiny knowledge bases keep these fast; the embedding model loads once for the whole process.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import time
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge import embedding as embedding_module

RETURNS = """---
title: Returns
tags: [returns]
---
# Returns

## Window

You can return most items within 30 days of delivery.

## Custom items

Engraved and monogrammed pieces are final sale unless we made a mistake.
"""

SHIPPING = """# Shipping

## Costs

Standard shipping is a flat fee and free on large orders.

## Times

Parcels arrive in three to six business days.
"""


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    write(kb / "returns.md", RETURNS)
    write(kb / "shipping" / "shipping.md", SHIPPING)
    return kb


@pytest.fixture
def kb(kb_dir: Path, tmp_path: Path):
    base = KnowledgeBase(kb_dir, tmp_path / "data")
    yield base
    base.close()


def headings(kb: KnowledgeBase) -> set[tuple[str, str]]:
    return {(c.source, c.heading) for c in kb.chunks()}


def test_first_index_adds_everything_and_second_run_touches_nothing(kb: KnowledgeBase) -> None:
    first = kb.index()
    assert (first.files, first.added, first.updated, first.removed) == (2, 4, 0, 0)
    assert first.warnings == []
    again = kb.index()
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)
    assert kb.store.count() == 4
    top = kb.search("can I send back an engraved mug?", k=2).passages[0]
    assert (top.source, top.heading) == ("returns.md", "Returns > Custom items")
    assert kb.files()[0].model_dump() == {
        "source": "returns.md",
        "title": "Returns",
        "tags": ["returns"],
        "headings": ["Returns > Window", "Returns > Custom items"],
    }


def test_edit_add_and_delete_touch_only_what_changed(kb: KnowledgeBase, kb_dir: Path) -> None:
    kb.index()
    write(kb_dir / "returns.md", RETURNS.replace("30 days", "45 days"))
    edited = kb.index()
    assert (edited.added, edited.updated, edited.removed, edited.unchanged) == (0, 1, 0, 3)
    assert "45 days" in kb.search("how long is the return window", k=1).passages[0].text

    write(kb_dir / "care.md", "# Care\n\n## Dishwasher\n\nMugs are dishwasher safe.\n")
    added = kb.index()
    assert (added.files, added.added, added.updated, added.removed) == (3, 1, 0, 0)

    (kb_dir / "shipping" / "shipping.md").unlink()
    removed = kb.index()
    assert (removed.files, removed.added, removed.removed, removed.unchanged) == (2, 0, 2, 3)
    assert all(p.source != "shipping/shipping.md" for p in kb.search("shipping cost", k=5).passages)
    assert kb.store.count() == 3

    # A section renamed: the old one goes, the new one comes.
    write(kb_dir / "care.md", "# Care\n\n## Oven\n\nMugs are dishwasher safe.\n")
    renamed = kb.index()
    assert (renamed.added, renamed.removed) == (1, 1)
    assert ("care.md", "Care > Oven") in headings(kb)


def test_a_missing_knowledge_dir_warns_and_keeps_the_index(kb_dir, tmp_path) -> None:
    KnowledgeBase(kb_dir, tmp_path / "data").index()
    elsewhere = KnowledgeBase(tmp_path / "typo", tmp_path / "data")
    report = elsewhere.index()
    assert report.removed == 0 and report.unchanged == 4
    assert "not a directory" in report.warnings[0].message
    assert len(elsewhere.chunks()) == 4


def test_touching_a_file_without_changing_it_re_embeds_nothing(kb, kb_dir, monkeypatch) -> None:
    kb.index()
    path = kb_dir / "returns.md"
    path.write_text(path.read_text())  # new mtime, same bytes
    calls: list[int] = []
    real = embedding_module.embed_chunks
    monkeypatch.setattr(
        embedding_module,
        "embed_chunks",
        lambda t, h, **kw: calls.append(len(t)) or real(t, h, **kw),
    )
    report = kb.index()
    assert (report.added, report.updated, report.unchanged) == (0, 0, 4)
    assert calls == []


def test_a_renamed_file_reuses_its_vectors(kb, kb_dir, monkeypatch) -> None:
    kb.index()
    (kb_dir / "returns.md").rename(kb_dir / "returns-policy.md")
    embedded: list[int] = []
    real = embedding_module.embed_chunks
    monkeypatch.setattr(
        embedding_module,
        "embed_chunks",
        lambda t, h, **kw: embedded.append(len(t)) or real(t, h, **kw),
    )
    report = kb.index()
    assert (report.added, report.removed) == (2, 2)
    assert embedded == []
    top = kb.search("engraved pieces final sale", k=1).passages[0]
    assert (top.source, top.heading) == ("returns-policy.md", "Returns > Custom items")


def test_index_survives_a_restart(kb_dir: Path, tmp_path: Path) -> None:
    first = KnowledgeBase(kb_dir, tmp_path / "data")
    first.index()
    first.close()
    second = KnowledgeBase(kb_dir, tmp_path / "data")
    assert second.index().unchanged == 4
    hit = second.search("flat fee for delivery", k=1, mode="keyword").passages[0]
    assert hit.heading == "Shipping > Costs"
    second.close()


def test_chroma_out_of_step_with_the_manifest_is_repaired_on_open(kb_dir, tmp_path) -> None:
    first = KnowledgeBase(kb_dir, tmp_path / "data")
    first.index()
    lost = first.chunks()[0]
    first.store.delete([lost.id])  # as if a crash had hit between the two writes
    first.close()
    second = KnowledgeBase(kb_dir, tmp_path / "data")
    assert len(second) == 4
    assert second.store.count() == 4 and lost.id in second.store.ids()
    second.close()


def test_broken_file_warns_and_keeps_its_previous_good_index(kb: KnowledgeBase, kb_dir) -> None:
    kb.index()
    write(kb_dir / "returns.md", "---\ntitle: [oops\n---\n# Returns\n\nChanged.\n")
    write(kb_dir / "empty.md", "")
    write(kb_dir / "latin1.md", "# Café\n\nna\xefve".encode("latin-1"))
    write(kb_dir / "new.md", "# Gift cards\n\n## Expiry\n\nGift cards never expire.\n")
    report = kb.index()
    problems = {(w.source, w.line): w.message for w in report.warnings}
    assert set(problems) == {("returns.md", 2), ("empty.md", None), ("latin1.md", 1)}
    assert "keeping the previously indexed version" in problems[("returns.md", 2)]
    assert "UTF-8" in problems[("latin1.md", 1)]
    assert report.added == 1  # the good new file is indexed regardless
    assert ("returns.md", "Returns > Custom items") in headings(kb)
    assert kb.search("engraved final sale", k=1).passages[0].source == "returns.md"
    assert kb.warnings == report.warnings

    write(kb_dir / "returns.md", RETURNS.replace("30 days", "60 days"))
    fixed = kb.index()
    assert {w.source for w in fixed.warnings} == {"empty.md", "latin1.md"}
    assert fixed.updated == 1


def test_watch_picks_up_an_edit_and_a_deletion_on_its_own(kb, kb_dir) -> None:
    kb.index()
    reports: queue.Queue = queue.Queue()
    watcher = kb.start_watching(on_report=reports.put)
    try:
        assert watcher.ready.wait(30)
        write(kb_dir / "returns.md", RETURNS.replace("30 days", "90 days"))
        # The watcher's own index run reports the change (a missed event is caught by its rescan);
        # the test never calls index() itself.
        edited = reports.get(timeout=60)
        assert edited.updated == 1
        hits = kb.search("return window days", k=4, mode="keyword").passages
        assert any("90 days" in p.text for p in hits)

        (kb_dir / "shipping" / "shipping.md").unlink()
        deleted = reports.get(timeout=60)
        assert deleted.removed >= 1
        assert all(c.source != "shipping/shipping.md" for c in kb.chunks())
        assert all(p.source != "shipping/shipping.md" for p in kb.search("parcels", k=5).passages)
    finally:
        watcher.stop()
    assert not watcher.running


async def test_concurrent_asearch_is_batched_into_fewer_encodes(kb, monkeypatch) -> None:
    kb.index()
    batches: list[int] = []
    real = embedding_module._encode
    questions = [f"question number {i} about returns and refunds" for i in range(8)]
    encoder = embedding_module.query_encoder()

    def counting(texts, threads):
        batches.append(len(texts))
        if len(batches) == 1:  # hold the first encode until every other question is queued
            deadline = time.monotonic() + 30
            while len(encoder._pending) < len(questions) - len(texts):
                assert time.monotonic() < deadline, "the other questions were never queued"
                time.sleep(0.005)
        return real(texts, threads)

    monkeypatch.setattr(embedding_module, "_encode", counting)
    results = await asyncio.gather(*(kb.asearch(q, k=2) for q in questions))
    assert len(results) == 8 and all(r.passages for r in results)
    # Those queued behind the first encode share the next one: at most two for eight questions.
    assert sum(batches) == 8 and len(batches) <= 2
    again = kb.search(questions[3], k=2)  # served from the query cache, same answer
    assert again == results[3]
    assert sum(batches) == 8


def test_search_edge_cases(kb: KnowledgeBase) -> None:
    kb.index()
    assert kb.search("   ").passages == []
    with pytest.raises(ValueError):
        kb.search("x", mode="fuzzy")  # type: ignore[arg-type]
    for mode in ("hybrid", "dense", "keyword"):
        result = kb.search("engraved", k=2, mode=mode)  # type: ignore[arg-type]
        assert 0.0 <= result.confidence <= 1.0 and len(result.passages) <= 2


def test_indexing_and_search_open_no_network_socket(kb_dir, tmp_path, monkeypatch) -> None:
    opened: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(sock: socket.socket, address: object) -> bool:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        host = address[0] if isinstance(address, tuple) else str(address)
        return host in ("127.0.0.1", "::1", "localhost")

    def guard(real):
        def connect(sock, address):
            if not allowed(sock, address):
                opened.append(address)
                raise AssertionError(f"network connection attempted to {address!r}")
            return real(sock, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guard(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guard(real_connect_ex))
    kb = KnowledgeBase(kb_dir, tmp_path / "fresh-data")  # fresh Chroma client inside the guard
    kb.index()
    write(kb_dir / "returns.md", RETURNS.replace("30", "31"))
    kb.index()
    for mode in ("hybrid", "dense", "keyword"):
        kb.search("can I return a custom mug?", mode=mode)  # type: ignore[arg-type]
    asyncio.run(kb.asearch("how long does shipping take?"))
    kb.close()
    assert opened == []
