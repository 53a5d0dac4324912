"""Markdown → chunks: one chunk per heading section, long sections split on paragraph boundaries.

Headings are found by markdown-it, the parser of the console editor's preview, so that sections split
exactly where the preview shows headings: ATX (`#` to `######`) and setext (`===`/`---` underlines);
`#` lines in fenced or indented code are not headings. A section's heading path runs from its `#`
heading down (`Returns > Custom items > Monograms`), which is what citations show.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

from knowledge.models import Chunk, Document

# all-MiniLM-L6-v2 truncates at 256 word pieces; ~1.3 pieces a word plus markdown punctuation and the
# heading path that is embedded with the text keeps 150 words safely below it.
MAX_WORDS = 150
CHUNKER_VERSION = "2"  # bump when the output for the same input changes: forces a re-read

_MD = MarkdownIt("commonmark", {"html": False})
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Section:
    heading: str
    lines: list[str]
    line: int  # 1-based line in the file where the section's heading is


def _heading_marks(body: str) -> list[tuple[int, int, int, str]]:
    """(level, first line, line after, title) of each top-level heading, as the editor's preview
    (markdown-it, CommonMark) reads them: ATX and setext alike, never inside code."""
    tokens = _MD.parse(body)
    marks: list[tuple[int, int, int, str]] = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.level != 0 or token.map is None:
            continue
        title = _clean_heading(tokens[i + 1].content)
        if title:
            marks.append((int(token.tag[1]), token.map[0], token.map[1], title))
    return marks


def sections(doc: Document) -> list[Section]:
    """Split the body into heading sections, each with its heading path (`H1 > H2 > H3`)."""
    lines = doc.body.split("\n")
    marks = _heading_marks(doc.body)
    first = marks[0][1] if marks else len(lines)
    found = [Section(heading=doc.title, lines=lines[:first], line=doc.body_line)]
    path: list[tuple[int, str]] = []
    for n, (level, start, after, title) in enumerate(marks):
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        end = marks[n + 1][1] if n + 1 < len(marks) else len(lines)
        found.append(
            Section(
                heading=" > ".join(t for _, t in path),
                lines=lines[after:end],
                line=doc.body_line + start,
            )
        )
    return [s for s in found if "\n".join(s.lines).strip()]


def _fence_after(line: str, fence: str | None) -> str | None:
    """The open code fence after `line` (None: outside code). A fence closes with a marker of
    the same character at least as long as the one that opened it."""
    match = _FENCE.match(line)
    if match is None:
        return fence
    marker = match.group(1)
    if fence is None:
        return marker[0] * len(marker)
    if marker[0] == fence[0] and len(marker) >= len(fence):
        return None
    return fence


def _clean_heading(text: str) -> str:
    # Headings are cited verbatim; drop emphasis markers and collapse spaces.
    text = re.sub(r"[*_`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated blocks; a fenced code block is one block even with blank lines inside."""
    blocks: list[str] = []
    buf: list[str] = []
    fence: str | None = None
    for line in lines:
        fence = _fence_after(line, fence)
        if fence is None and not line.strip():
            if buf:
                blocks.append("\n".join(buf).strip("\n"))
                buf = []
            continue
        buf.append(line.rstrip())
    if buf:
        blocks.append("\n".join(buf).strip("\n"))
    return [b for b in blocks if b.strip()]


def _words(text: str) -> int:
    return len(text.split())


def _split_block(block: str, max_words: int) -> list[str]:
    """A block longer than max_words: by sentences (or lines), then by words as a last resort."""
    units = _SENTENCE_END.split(block) if "\n" not in block.strip() else block.split("\n")
    pieces: list[str] = []
    for unit in units:
        words = unit.split()
        if len(words) <= max_words:
            pieces.append(unit)
        else:
            pieces.extend(
                " ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)
            )
    return _pack(pieces, max_words, joiner=" " if "\n" not in block.strip() else "\n")


def _pack(pieces: list[str], max_words: int, joiner: str) -> list[str]:
    # Aim for even parts rather than one full part and a tiny remainder.
    total = sum(_words(p) for p in pieces)
    target = total / max(1, math.ceil(total / max_words))
    parts: list[str] = []
    buf: list[str] = []
    count = 0
    for piece in pieces:
        n = _words(piece)
        if buf and (count + n > max_words or count >= target):
            parts.append(joiner.join(buf))
            buf, count = [], 0
        buf.append(piece)
        count += n
    if buf:
        parts.append(joiner.join(buf))
    return parts


def split_text(lines: list[str], max_words: int = MAX_WORDS) -> list[str]:
    blocks: list[str] = []
    for block in paragraphs(lines):
        blocks.extend([block] if _words(block) <= max_words else _split_block(block, max_words))
    return _pack(blocks, max_words, joiner="\n\n")


def chunk_id(source: str, heading: str, occurrence: int, part: int) -> str:
    key = f"{source}\x00{heading}\x00{occurrence}\x00{part}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]


def chunk_document(doc: Document, max_words: int = MAX_WORDS) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in sections(doc):
        occurrence = seen.get(section.heading, 0)
        seen[section.heading] = occurrence + 1
        for part, text in enumerate(split_text(section.lines, max_words)):
            embed = f"{section.heading}\n\n{text}"
            chunks.append(
                Chunk(
                    id=chunk_id(doc.source, section.heading, occurrence, part),
                    source=doc.source,
                    heading=section.heading,
                    part=part,
                    text=text,
                    hash=hashlib.sha1(embed.encode("utf-8")).hexdigest(),
                    ordinal=len(chunks),
                )
            )
    return chunks


def headings(doc: Document) -> list[str]:
    return [s.heading for s in sections(doc)]
