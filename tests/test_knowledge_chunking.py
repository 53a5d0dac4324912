"""Markdown → chunks, without the model: headings, front matter, splitting, bad input."""

from __future__ import annotations

import pytest

from knowledge.chunker import MAX_WORDS, chunk_document, sections
from knowledge.loader import discover, parse
from knowledge.models import LoadProblem

RETURNS = """---
title: Returns policy
tags: [returns, refunds]
---

Intro before any heading.

# Returns

Most things can come back.

## Custom items

Engraved pieces are final sale.

```bash
# not a heading, a shell comment
## nor this
```

### Monograms

Deeper headings are sections of their own, as the editor's preview shows them.

## Window

Thirty days from delivery.
"""


def test_sections_carry_heading_paths_and_ignore_hashes_in_code_fences() -> None:
    doc = parse("returns.md", RETURNS.encode())
    assert [s.heading for s in sections(doc)] == [
        "Returns policy",
        "Returns",
        "Returns > Custom items",
        "Returns > Custom items > Monograms",
        "Returns > Window",
    ]
    custom = next(c for c in chunk_document(doc) if c.heading == "Returns > Custom items")
    assert "# not a heading" in custom.text
    monograms = next(c for c in chunk_document(doc) if c.heading.endswith("> Monograms"))
    assert "Deeper headings" in monograms.text and "Deeper" not in custom.text


def test_setext_and_deeper_headings_split_where_the_editor_preview_shows_them() -> None:
    body = (
        "Care guide\n==========\n\nIntro.\n\nCeramics\n--------\n\nHand wash.\n\n"
        "### Glaze\n\nNo scouring pads.\n\n    # indented code, not a heading\n\n"
        "## Wood ##\n\nOil twice a year.\n"
    )
    doc = parse("care.md", body.encode())
    assert [(s.heading, s.line) for s in sections(doc)] == [
        ("Care guide", 1),
        ("Care guide > Ceramics", 6),
        ("Care guide > Ceramics > Glaze", 11),
        ("Care guide > Wood", 17),
    ]
    glaze = next(c for c in chunk_document(doc) if c.heading.endswith("Glaze"))
    assert "# indented code" in glaze.text


def test_front_matter_gives_title_and_tags_and_is_not_indexed() -> None:
    doc = parse("returns.md", RETURNS.encode())
    assert doc.title == "Returns policy"
    assert doc.tags == ("returns", "refunds")
    assert doc.body_line == 5
    assert all("tags:" not in c.text for c in chunk_document(doc))


def test_title_falls_back_to_first_heading_then_file_name() -> None:
    assert parse("a.md", b"# Shipping\n\nFast.").title == "Shipping"
    assert parse("gift-cards.md", b"Plain text only.").title == "Gift cards"
    assert parse("x.md", b"---\ntags: a, b\n---\nbody").tags == ("a", "b")


def test_chunk_ids_are_stable_and_content_hashes_follow_edits() -> None:
    first = chunk_document(parse("r.md", RETURNS.encode()))
    again = chunk_document(parse("r.md", RETURNS.encode()))
    assert [c.id for c in first] == [c.id for c in again]
    edited = chunk_document(parse("r.md", RETURNS.replace("Thirty", "Sixty").encode()))
    changed = [(a.heading, a.hash != b.hash) for a, b in zip(first, edited, strict=True)]
    assert changed == [(h, h == "Returns > Window") for h, _ in changed]
    assert [c.id for c in edited] == [c.id for c in first]
    assert len({c.id for c in first}) == len(first)


def test_repeated_headings_in_one_file_get_distinct_ids() -> None:
    doc = parse("faq.md", b"# FAQ\n\n## Q\n\none\n\n## Q\n\ntwo\n")
    chunks = chunk_document(doc)
    assert [c.heading for c in chunks] == ["FAQ > Q", "FAQ > Q"]
    assert chunks[0].id != chunks[1].id


def test_long_sections_split_on_paragraph_boundaries_under_the_word_limit() -> None:
    paragraphs = [" ".join(f"p{i}w{j}" for j in range(40)) for i in range(12)]  # 480 words
    body = "# Care\n\n## Long\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = chunk_document(parse("care.md", body.encode()))
    assert len(chunks) >= 4
    assert all(c.heading == "Care > Long" for c in chunks)
    assert [c.part for c in chunks] == list(range(len(chunks)))
    assert all(len(c.text.split()) <= MAX_WORDS for c in chunks)
    for chunk in chunks:  # no paragraph is cut in half
        for block in chunk.text.split("\n\n"):
            assert block in paragraphs


def test_one_huge_paragraph_is_split_by_sentences() -> None:
    sentence = "This sentence has exactly eight words in it."
    body = "# A\n\n" + " ".join([sentence] * 60)
    chunks = chunk_document(parse("a.md", body.encode()))
    assert len(chunks) >= 4 and all(len(c.text.split()) <= MAX_WORDS for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b"", None, "empty"),
        (b"  \n\n", None, "empty"),
        (b"---\ntitle: [unclosed\n---\nbody\n", 2, "front matter"),
        (b"---\ntitle: ok\nbad: : :\n---\nbody\n", 3, "front matter"),
        (b"---\ntitle: ok\nno end\n", 1, "never closed"),
        (b"---\n- a\n- b\n---\nbody\n", 2, "mapping"),
        (b"---\ntags: {a: 1}\n---\nbody\n", 2, "tags"),
        (b"# ok\n\nline two\ncaf\xe9 latin-1\n", 4, "UTF-8"),
        (b"---\ntitle: x\n---\n\n", 3, "no content"),
    ],
)
def test_bad_input_is_reported_with_line(data: bytes, line: int | None, fragment: str) -> None:
    with pytest.raises(LoadProblem) as info:
        parse("bad.md", data)
    assert fragment in str(info.value)
    assert info.value.line == line


def test_discover_is_recursive_and_skips_hidden_and_non_markdown(tmp_path) -> None:
    (tmp_path / "a.md").write_text("# A\n\na")
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "deep" / "b.markdown").write_text("# B\n\nb")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.md").write_text("# C")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".#a.md").write_text("lock")
    assert [s for s, _ in discover(tmp_path)] == ["a.md", "sub/deep/b.markdown"]
