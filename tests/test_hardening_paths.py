"""Symlinks are never followed: a link planted in the knowledge folder made the chat quote
/etc/passwd. `safe_path` is the one check; the indexer, the knowledge editor and its backups use it
(the labels route is tested against a running server in test_hardening_input.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actions.paths import UnsafePath, read_bytes_nofollow, safe_path
from knowledge import KnowledgeBase
from knowledge.editing import EditError, read, save
from knowledge.loader import discover, sha1_bytes

SECRET = "root:x:0:0:the-superuser-secret:/root:/bin/bash"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
RETURNS = "# Returns\n\n## Window\n\nYou can return most items within 30 days of delivery.\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside every folder the server owns, standing in for /etc/passwd."""
    secret = tmp_path / "etc" / "passwd.md"
    secret.parent.mkdir()
    secret.write_text(f"# Accounts\n\n{SECRET}\n")
    return secret


@pytest.fixture
def kb_dir(tmp_path: Path, outside: Path) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "returns.md").write_text(RETURNS)
    (kb / "passwd.md").symlink_to(outside)  # the planted link
    (kb / "etc").symlink_to(outside.parent, target_is_directory=True)  # and a linked folder
    (kb / "inside.md").symlink_to(kb / "returns.md")  # even a link that stays inside
    return kb


def test_safe_path_accepts_plain_paths_and_refuses_the_rest(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.md").write_text("a")
    (root / "link.md").symlink_to(outside)
    (root / "linked").symlink_to(outside.parent, target_is_directory=True)
    assert safe_path(root, "sub/a.md") == root / "sub" / "a.md"
    assert safe_path(root, "sub/new.md") == root / "sub" / "new.md"  # a write may create it
    for bad, why in [
        ("link.md", "symbolic link"),
        ("linked/passwd.md", "symbolic link"),
        ("../etc/passwd.md", "not a path inside"),
        ("/etc/passwd", "not a path inside"),
        ("sub/../../etc/passwd.md", "not a path inside"),
        ("", "not a path inside"),
    ]:
        with pytest.raises(UnsafePath, match=why):
            safe_path(root, bad)


def test_a_file_swapped_for_a_link_after_the_check_is_not_read(
    tmp_path: Path, outside: Path
) -> None:
    path = safe_path(tmp_path, "late.md")
    path.symlink_to(outside)  # planted between the check and the read
    with pytest.raises(OSError):
        read_bytes_nofollow(path)


def test_a_planted_link_in_the_knowledge_folder_is_never_indexed_or_quoted(kb_dir: Path) -> None:
    assert [source for source, _ in discover(kb_dir)] == ["returns.md"]
    kb = KnowledgeBase(kb_dir, kb_dir.parent / "data")
    try:
        report = kb.index()
        assert report.files == 1
        assert [f.source for f in kb.files()] == ["returns.md"]
        found = kb.search("the-superuser-secret root bash", k=5)
        assert all(SECRET not in p.text for p in found.passages)
        assert all(p.source == "returns.md" for p in found.passages)
    finally:
        kb.close()


def test_the_knowledge_editor_neither_reads_nor_writes_through_a_link(
    kb_dir: Path, outside: Path
) -> None:
    before = outside.read_bytes()
    with pytest.raises(EditError, match="symbolic link") as refused:
        read(kb_dir, "passwd.md")
    assert refused.value.code == "bad_source"
    kb = KnowledgeBase(kb_dir, kb_dir.parent / "data")
    try:
        kb.index()
        backups = kb_dir.parent / "data" / "backups" / "knowledge"
        for source in ("passwd.md", "etc/passwd.md", "inside.md"):
            with pytest.raises(EditError, match="symbolic link"):
                save(kb, source, RETURNS, sha1_bytes(before), backups, now=NOW)
        assert outside.read_bytes() == before
    finally:
        kb.close()


def test_a_link_planted_where_a_backup_goes_is_not_written_through(
    tmp_path: Path, outside: Path
) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "returns.md").write_text(RETURNS)
    backups = tmp_path / "data" / "backups" / "knowledge"
    backups.mkdir(parents=True)
    (backups / "returns.md.20261121T170000Z").symlink_to(outside)  # the next backup's name
    before = outside.read_bytes()
    kb = KnowledgeBase(kb_dir, tmp_path / "data")
    try:
        kb.index()
        current = sha1_bytes((kb_dir / "returns.md").read_bytes())
        with pytest.raises(EditError, match="symbolic link") as refused:
            save(kb, "returns.md", RETURNS + "\nMore.\n", current, backups, now=NOW)
        assert refused.value.code == "bad_backup"
        assert outside.read_bytes() == before
        assert (kb_dir / "returns.md").read_text() == RETURNS  # nothing saved without its backup
    finally:
        kb.close()
