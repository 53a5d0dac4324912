"""Editing knowledge files: validation before any write, atomic replace, backups outside the
knowledge folder, conflicts, path safety, and a re-index that makes the edit searchable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.editing import EditError, check, check_source, read, resolve, save
from knowledge.loader import sha1_bytes

RETURNS = """---
title: Returns
tags: [returns]
---
# Returns

## Window

You can return most items within 30 days of delivery.
"""

NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture
def kb(tmp_path: Path):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "returns.md").write_text(RETURNS, encoding="utf-8")
    base = KnowledgeBase(kb_dir, tmp_path / "data")
    base.index()
    yield base
    base.close()


def backups(tmp_path: Path) -> Path:
    return tmp_path / "data" / "backups" / "knowledge"


def sha(kb: KnowledgeBase, source: str) -> str:
    return sha1_bytes((kb.kb_dir / source).read_bytes())


def test_broken_front_matter_is_refused_with_the_line_and_the_file_is_untouched(kb, tmp_path):
    before = (kb.kb_dir / "returns.md").read_bytes()
    broken = "---\ntitle: Returns\ntags: [returns\n---\n# Returns\n\nText.\n"
    with pytest.raises(EditError) as refused:
        save(kb, "returns.md", broken, sha(kb, "returns.md"), backups(tmp_path), now=NOW)
    assert refused.value.code == "invalid_markdown" and refused.value.status == 422
    assert refused.value.line == 3  # the unclosed `tags: [returns`
    assert refused.value.message.startswith("line 3: invalid front matter")
    assert (kb.kb_dir / "returns.md").read_bytes() == before
    assert not backups(tmp_path).exists()
    assert [p.name for p in kb.kb_dir.iterdir()] == ["returns.md"]  # no temp file left behind


def test_a_valid_save_writes_backs_up_reindexes_and_the_new_section_is_searchable(kb, tmp_path):
    before = (kb.kb_dir / "returns.md").read_bytes()
    text = (
        RETURNS + "\n## Gift wrapping\n\nEvery order can be gift wrapped in recycled kraft paper.\n"
    )
    result = save(kb, "returns.md", text, sha(kb, "returns.md"), backups(tmp_path), now=NOW)
    assert (kb.kb_dir / "returns.md").read_text(encoding="utf-8") == text
    assert result.sha1 == sha(kb, "returns.md")
    assert result.backup == backups(tmp_path) / "returns.md.20261121T170000Z"
    assert result.backup.read_bytes() == before
    assert (result.report.added, result.report.updated, result.report.removed) == (1, 0, 0)
    assert result.headings == ["Returns > Window", "Returns > Gift wrapping"]
    top = kb.search("can you gift wrap my order", k=1, mode="keyword").passages[0]
    assert (top.source, top.heading) == ("returns.md", "Returns > Gift wrapping")


def test_the_save_reports_its_sections_even_when_the_watcher_indexed_them_first(tmp_path):
    class WatchedFirst(KnowledgeBase):
        def index(self, progress: bool = False):
            super().index()  # the file watcher's run, which finds the change first
            return super().index()  # the save's own run: nothing left to do

    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "returns.md").write_text(RETURNS, encoding="utf-8")
    kb = WatchedFirst(kb_dir, tmp_path / "data")
    kb.index()
    text = RETURNS.replace("delivery.", "delivery, 60 in December.") + "\n## Gift wrap\n\nFree.\n"
    result = save(kb, "returns.md", text, sha(kb, "returns.md"), backups(tmp_path), now=NOW)
    report = result.report
    assert (report.added, report.updated, report.removed) == (1, 1, 0)
    kb.close()


def test_two_saves_in_one_second_keep_both_previous_versions(kb, tmp_path):
    first = save(kb, "returns.md", RETURNS + "\nMore.\n", sha(kb, "returns.md"), backups(tmp_path),
                 now=NOW)  # fmt: skip
    second = save(kb, "returns.md", RETURNS, first.sha1, backups(tmp_path), now=NOW)
    assert first.backup != second.backup and first.backup and second.backup
    assert second.backup.name == "returns.md.20261121T170000Z-1"
    assert first.backup.read_text(encoding="utf-8") == RETURNS


def test_a_file_changed_on_disk_since_it_was_opened_is_a_conflict(kb, tmp_path):
    opened = sha(kb, "returns.md")
    (kb.kb_dir / "returns.md").write_text(RETURNS + "\nSomeone else's edit.\n", encoding="utf-8")
    with pytest.raises(EditError) as refused:
        save(kb, "returns.md", RETURNS + "\nMine.\n", opened, backups(tmp_path), now=NOW)
    assert (refused.value.code, refused.value.status) == ("conflict", 409)
    assert "Someone else's edit." in (kb.kb_dir / "returns.md").read_text(encoding="utf-8")


def test_creating_a_file_that_already_exists_is_a_conflict(kb, tmp_path):
    with pytest.raises(EditError) as refused:
        save(kb, "returns.md", RETURNS, None, backups(tmp_path), now=NOW)
    assert refused.value.code == "conflict"


def test_a_new_file_in_a_subfolder_is_created_and_indexed_without_a_backup(kb, tmp_path):
    text = "# Gift cards\n\n## Expiry\n\nGift cards never expire.\n"
    result = save(kb, "faq/gift-cards.md", text, "", backups(tmp_path), now=NOW)
    assert result.created and result.backup is None
    assert (kb.kb_dir / "faq" / "gift-cards.md").read_text(encoding="utf-8") == text
    assert "faq/gift-cards.md" in {f.source for f in kb.files()}


@pytest.mark.parametrize(
    "source",
    ["../outside.md", "a/../../x.md", "/etc/passwd.md", ".hidden.md", "sub/.git/x.md",
     "notes.txt", "", "a\\b.md", "x" * 300 + ".md", "a\x00b.md", "a/b/c/d/e.md"],
)  # fmt: skip
def test_unsafe_paths_are_refused(kb, tmp_path, source):
    with pytest.raises(EditError) as refused:
        save(kb, source, RETURNS, None, backups(tmp_path), now=NOW)
    assert (refused.value.code, refused.value.status) == ("bad_source", 400)
    assert not (tmp_path / "outside.md").exists()


def test_a_symlink_out_of_the_knowledge_folder_is_refused(kb, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (kb.kb_dir / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(EditError):
        resolve(kb.kb_dir, "linked/evil.md")


def test_new_files_need_a_plain_name_but_existing_odd_names_stay_editable(kb):
    with pytest.raises(EditError):
        check_source("my notes.md", new=True)
    assert check_source("my notes.md") == "my notes.md"
    assert check_source("faq//gifts.md", new=True) == "faq/gifts.md"


def test_oversized_text_is_refused_with_413(kb, tmp_path):
    huge = "# Big\n\n" + "word " * 60_000
    with pytest.raises(EditError) as refused:
        save(kb, "returns.md", huge, sha(kb, "returns.md"), backups(tmp_path), now=NOW)
    assert (refused.value.code, refused.value.status) == ("too_large", 413)


def test_a_backup_folder_inside_the_knowledge_folder_is_a_programming_error(kb):
    with pytest.raises(ValueError):
        save(
            kb,
            "returns.md",
            RETURNS + "\nx\n",
            sha(kb, "returns.md"),
            kb.kb_dir / "backups",
            now=NOW,
        )


def test_browser_line_endings_are_stored_as_lf(kb, tmp_path):
    crlf = RETURNS.replace("\n", "\r\n") + "\r\nNew line."
    save(kb, "returns.md", crlf, sha(kb, "returns.md"), backups(tmp_path), now=NOW)
    data = (kb.kb_dir / "returns.md").read_bytes()
    assert b"\r" not in data and data.endswith(b"New line.\n")


def test_check_reports_the_outline_or_the_problem_without_raising():
    good = check("returns.md", RETURNS)
    assert good.problem is None and good.title == "Returns"
    assert good.headings == ["Returns > Window"] and not good.body.startswith("---")
    bad = check("x.md", "---\ntitle: x\n# never closed\n")
    assert bad.problem is not None and bad.problem.line == 1 and bad.headings == []
    empty = check("x.md", "   \n")
    assert empty.problem is not None and "empty" in empty.problem.message


def test_read_gives_text_and_sha1_or_none(kb):
    text, digest = read(kb.kb_dir, "returns.md")
    assert text == RETURNS and digest == sha(kb, "returns.md")
    assert read(kb.kb_dir, "missing.md") is None
