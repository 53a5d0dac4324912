"""Spelling benchmark: what mending a query costs, and what keeping the vocabulary in step costs.

No embedding model and no index: the demo store's markdown is chunked as the indexer chunks it and
fed to a Speller, then every shopper line of the conversation corpus and every demo question is
mended. Prints a table; not part of the test run.

    .venv/bin/python bench/spelling.py [--kb examples/demo-store/knowledge] [--repeat 20]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages

import argparse  # noqa: E402
import statistics  # noqa: E402
import timeit  # noqa: E402
from dataclasses import replace  # noqa: E402

import yaml  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from knowledge import spelling  # noqa: E402
from knowledge.chunker import chunk_document  # noqa: E402
from knowledge.loader import discover, parse  # noqa: E402
from knowledge.models import Chunk  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"


def demo_chunks(kb_dir: Path) -> dict[str, Chunk]:
    chunks: dict[str, Chunk] = {}
    for source, path in discover(kb_dir):
        for chunk in chunk_document(parse(source, path.read_bytes())):
            chunks[chunk.id] = chunk
    return chunks


def shopper_lines(demo: Path) -> list[str]:
    lines = [row.split("\t", 1)[0] for row in (demo / "questions.tsv").read_text().splitlines()]
    for path in sorted((demo / "conversations").glob("*.yaml")):
        for conv in yaml.safe_load(path.read_text())["conversations"]:
            lines += [t for t in conv["turns"] if isinstance(t, str)]
    return [line for line in lines if line.strip()]


def micros(fn: object, *args: object, repeat: int = 1) -> float:
    """Microseconds a call, the best of five rounds of `repeat` calls (a busy machine inflates
    the others; a first-sight figure has repeat=1 and one round, nothing to remember yet)."""
    rounds = 5 if repeat > 1 else 1
    best = min(
        timeit.timeit(lambda: fn(*args), number=repeat)  # type: ignore[operator]
        for _ in range(rounds)
    )
    return best * 1e6 / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", type=Path, default=DEMO / "knowledge")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []

    rows.append(("English word list, first load", f"{micros(spelling.english) / 1000:.0f} ms"))
    chunks = demo_chunks(args.kb)
    speller = spelling.Speller()
    build = micros(speller.sync, chunks)
    rows.append((f"vocabulary from {len(chunks)} sections", f"{build / 1000:.1f} ms"))
    rows.append(("words in the vocabulary", str(len(speller))))
    rows.append(
        ("in step already (per search)", f"{micros(speller.sync, chunks, repeat=1000):.2f} µs")
    )
    one = next(iter(chunks))
    edited = dict(chunks)
    edited[one] = replace(chunks[one], text=chunks[one].text + " Zellige tiles too.", hash="x")
    rows.append(("one section edited, recount", f"{micros(speller.sync, edited):.0f} µs"))

    lines = shopper_lines(DEMO)
    mended = [line for line in lines if speller.mend(line) != line]
    cold = spelling.Speller()
    cold.sync(chunks)
    first = [micros(cold.mend, line) for line in lines]  # nothing remembered yet
    warm = [micros(speller.mend, line, repeat=args.repeat) for line in lines]
    clean = [w for w, line in zip(warm, lines, strict=True) if line not in mended]
    rows.append(("shopper lines (of them mended)", f"{len(lines)} ({len(mended)})"))
    rows.append(("mend, first sight: median / p95 / max", _spread(first)))
    rows.append(("mend, seen before: median / p95 / max", _spread(warm)))
    rows.append(("mend, correctly spelt lines: median", f"{statistics.median(clean):.1f} µs"))

    table = Table("measure", "value", title="Spelling (knowledge/spelling.py)")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {ordered[-1]:.1f} µs"


if __name__ == "__main__":
    main()
