"""Knowledge benchmark: index throughput vs the model's raw embedding rate, incremental re-index,
search latency. Prints a table; not part of the test run.

    .venv/bin/python bench/knowledge.py [--sections 2000] [--queries 200]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages

from agent.app.offline_env import use_offline_env  # noqa: E402

use_offline_env()  # before torch, transformers, chromadb or litellm load

import argparse  # noqa: E402
import asyncio  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from knowledge import KnowledgeBase, embedding  # noqa: E402
from knowledge.chunker import chunk_document  # noqa: E402
from knowledge.loader import discover, parse  # noqa: E402

WORDS = """return refund parcel delivery mug plate bowl vase glaze kiln stoneware porcelain print paper
frame canvas walnut oak ash bench table stool cushion linen apron order label tracking carrier studio
gift card voucher engraving monogram proof approval window days week business hours email phone chat
damage crack chip photo replacement restocking fee furniture freight pickup shipping cost free
express customs duties address change cancel payment card paypal invoice receipt discount sale
second flaw handmade colour size care dishwasher microwave oven frost planter saucer drainage wax oil
""".split()
TOPICS = """returns shipping care art prints furniture gifts payments tracking contact studio custom
ceramics textiles wholesale events workshops commissions seconds sizing""".split()


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 16))
    return " ".join(words).capitalize() + "."


def make_kb(root: Path, sections: int, per_file: int = 20, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    files = []
    for f in range(max(1, sections // per_file)):
        topic = f"{rng.choice(TOPICS)} {f}"
        lines = [
            f"---\ntitle: {topic.title()}\ntags: [{rng.choice(TOPICS)}]\n---\n",
            f"# {topic.title()}\n",
        ]
        for s in range(per_file):
            heading = " ".join(rng.choices(WORDS, k=3)).capitalize()
            paragraphs = [
                " ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(2)
            ]
            lines.append(f"## {heading} {s}\n\n" + "\n\n".join(paragraphs) + "\n")
        path = root / f"topic-{f:03d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        files.append(path)
    return files


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sections", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sample", type=int, default=320, help="passages for the raw rate")
    args = parser.parse_args()
    console = Console()
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="shopdesk-bench-") as tmp:
        kb_dir, data_dir = Path(tmp) / "kb", Path(tmp) / "data"
        kb_dir.mkdir()
        files = make_kb(kb_dir, args.sections)
        chunks = [c for s, p in discover(kb_dir) for c in chunk_document(parse(s, p.read_bytes()))]
        console.print(
            f"synthetic KB: {len(files)} files, {len(chunks)} sections, "
            f"{statistics.mean(len(c.text.split()) for c in chunks):.0f} words a section on average"
        )

        t0 = time.perf_counter()
        embedding.get_model()
        embedding.embed_passages(["warm up the model"])
        load_s = time.perf_counter() - t0

        # The ceiling: the model alone, batch-encoding a sample of the same sections' texts,
        # with the same thread policy and batch size the indexer uses.
        threads = embedding.index_threads()
        # The index run below uses the same count (KnowledgeBase(index_threads=…)).
        sample = random.Random(1).sample(chunks, min(args.sample, len(chunks)))

        # Measured before and after the full index and averaged: on a shared machine the rate
        # drifts with everyone else's load, and one sample taken at a lucky moment flatters.
        def raw() -> tuple[float, float]:
            t0, c0 = time.perf_counter(), time.process_time()
            embedding.embed_passages([c.embed_text for c in sample], threads=threads)
            return time.perf_counter() - t0, time.process_time() - c0

        before = raw()

        kb = KnowledgeBase(kb_dir, data_dir, index_threads=threads)
        c0 = time.process_time()
        report = kb.index()
        index_rate = report.added / report.seconds
        index_cpu_rate = report.added / (time.process_time() - c0)

        after = raw()
        raw_rate = 2 * len(sample) / (before[0] + after[0])
        raw_cpu_rate = 2 * len(sample) / (before[1] + after[1])

        # Incremental: edit one section of one file; time until a search returns the new text.
        target = files[len(files) // 2]
        text = target.read_text(encoding="utf-8")
        marker = "zanzibarite kilnwarden"
        first_heading = next(line for line in text.splitlines() if line.startswith("## "))
        target.write_text(
            text.replace(first_heading, f"{first_heading}\n\nNow with {marker}.", 1),
            encoding="utf-8",
        )
        t0 = time.perf_counter()
        inc = kb.index()
        found = any(marker in p.text for p in kb.search(marker, k=3).passages)
        inc_s = time.perf_counter() - t0

        # Search latency: distinct queries (no cache hits), one at a time.
        rng = random.Random(3)
        queries = [f"{sentence(rng)} ({i})" for i in range(args.queries)]
        for q in queries[:5]:
            kb.search(q + " warm")
        latencies, encodes = [], []
        for q in queries:
            t0 = time.perf_counter()
            kb.search(q, k=5)
            latencies.append((time.perf_counter() - t0) * 1000)
            # The model's share, measured alongside: one query encoded alone (not cached).
            t0 = time.perf_counter()
            embedding._encode([q + " ?"], embedding.QUERY_THREADS)
            encodes.append((time.perf_counter() - t0) * 1000)

        # Batched: many shoppers asking at once, through asearch (one encode per batch).
        async def burst() -> float:
            qs = [f"{sentence(rng)} [{i}]" for i in range(64)]
            t = time.perf_counter()
            await asyncio.gather(*(kb.asearch(q) for q in qs))
            return len(qs) / (time.perf_counter() - t)

        batched_rate = asyncio.run(burst())
        kb.close()

    load_after = os.getloadavg()
    p50, p95 = pct(latencies, 0.5), pct(latencies, 0.95)
    table = Table(title="shopdesk knowledge benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="center")

    def row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        mark = "" if ok is None else ("[green]ok[/green]" if ok else "[red]miss[/red]")
        table.add_row(name, value, target, mark)

    row("sections indexed", f"{report.added}")
    row("model load (s)", f"{load_s:.1f}")
    row(f"raw embedding rate, {threads} thread(s) (passages/s)", f"{raw_rate:.1f}", "ceiling")
    row("full index throughput (chunks/s)", f"{index_rate:.1f}")
    row(
        "  … as share of the raw rate",
        f"{index_rate / raw_rate:.0%}",
        "≥ 80%",
        index_rate / raw_rate >= 0.8,
    )
    row("full index (s)", f"{report.seconds:.1f}")
    # CPU time is what the two runs cost regardless of what else the machine is doing; on a
    # shared, busy machine the wall-clock ratio above is noisy, this one is not.
    row("raw embedding rate per CPU-second", f"{raw_cpu_rate:.1f}")
    row("index throughput per CPU-second", f"{index_cpu_rate:.1f}")
    row(
        "  … as share of the raw rate (CPU time)",
        f"{index_cpu_rate / raw_cpu_rate:.0%}",
        "≥ 80%",
        index_cpu_rate / raw_cpu_rate >= 0.8,
    )
    row(
        "edit 1 file → searchable (s)",
        f"{inc_s:.3f}",
        "< 1 s",
        inc_s < 1.0 and found and inc.updated + inc.added == 1,
    )
    row("search p50, hybrid (ms)", f"{p50:.1f}", "≤ 25", p50 <= 25)
    row("search p95, hybrid (ms)", f"{p95:.1f}", "≤ 60", p95 <= 60)
    row(
        "  of which the query encode, p50 / p95 (ms)",
        f"{pct(encodes, 0.5):.1f} / {pct(encodes, 0.95):.1f}",
    )
    row("64 concurrent asearch (queries/s)", f"{batched_rate:.0f}")
    row("load average before → after", f"{load_before[0]:.1f} → {load_after[0]:.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
