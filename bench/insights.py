"""How long the insights page takes to count a month of conversations, against reading the same rows.

Writes N conversations (default 3,000; about six messages each: questions from a pool of phrasings,
answers with stored retrieval, some eligibility checks, some handoffs and staff replies) over 30 days
into a SQLite conversation store through ConversationStore.append, then times, median of 5:

- baseline: SELECT of every message of the range's conversations (rows fetched, JSON decoded by the
  driver), which any counting of stored conversations must pay;
- scan: agent.console.insights.scan_conversations over the same range (every figure but the grouping);
- grouping, cold: group_questions with an empty vector cache (embedding every distinct wording);
- grouping, warm: the same call again (the page's next view).

Run: .venv/bin/python bench/insights.py [--conversations 3000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Do you ship to {place}?",
    "Can you ship my order to {place}?",
    "How much is shipping to {place}?",
    "How long do I have to return {item}?",
    "Can I return {item} if I changed my mind?",
    "Is {item} dishwasher safe?",
    "Where is my order?",
    "Can I change the engraving on {item}?",
    "Do you sell gift cards?",
    "Do you run pottery classes?",
    "How do I print my return label?",
    "My {item} arrived broken, what can I do?",
]
PLACES = ["Canada", "the UK", "Australia", "Mexico", "Germany", "Japan", "Ireland", "France"]
ITEMS = [
    "the sage mug",
    "a print",
    "the walnut bench",
    "an engraved mug",
    "the linen apron",
    "a vase",
]


def median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def seed(store, clock, n: int, start: datetime, rng: random.Random) -> None:
    from agent.turn.loop import retrieval_summary
    from knowledge.models import Passage

    top = [Passage(source="shipping.md", heading="Shipping > Where we ship", text="…", score=0.6)]
    eligibility = {
        "ok": True,
        "result": {
            "lines": [{"sku": "CER-MUG-SAGE", "eligible": False, "reason_code": "final_sale"}]
        },
    }
    for i in range(n):
        clock.now = start + timedelta(minutes=rng.randrange(30 * 24 * 60))
        conv = store.create().id
        for _ in range(rng.choice((1, 2, 3))):
            text = rng.choice(QUESTIONS).format(place=rng.choice(PLACES), item=rng.choice(ITEMS))
            store.append(conv, "user", {"role": "user", "content": text})
            confidence = rng.choice((0.2, 0.5, 0.7, 0.9))
            answer = {"role": "assistant", "content": "An answer.",
                      "retrieval": retrieval_summary(top, confidence, 0.35)}  # fmt: skip
            store.append(conv, "assistant", answer, [])
        if i % 5 == 0:
            call = {"id": "c1", "type": "function",
                    "function": {"name": "check_eligibility", "arguments": "{}"}}  # fmt: skip
            store.append(conv, "assistant", {"role": "assistant", "content": None,
                                             "tool_calls": [call]})  # fmt: skip
            store.append(conv, "tool", {"role": "tool", "tool_call_id": "c1",
                                        "name": "check_eligibility",
                                        "content": json.dumps(eligibility)})  # fmt: skip
        if i % 7 == 0:
            note = {"role": "system-note", "content": "Handed off to a person: no answer"}
            store.append(conv, "system-note", note)
            store.append(conv, "agent", {"role": "agent", "content": "Hello!", "name": "Sam"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=3000)
    args = parser.parse_args()

    import sqlalchemy as sa

    from agent.console.insights.conversations import scan_conversations
    from agent.console.insights.period import parse_period
    from agent.console.insights.questions import group_questions
    from agent.store.conversations import ConversationStore, conversations_t, messages_t
    from knowledge import embedding

    class Clock:
        now = datetime(2026, 10, 1, tzinfo=UTC)

        def __call__(self) -> datetime:
            return self.now

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        store = ConversationStore(f"sqlite:///{tmp}/bench.db", clock=clock)
        store.migrate()
        started = time.perf_counter()
        seed(store, clock, args.conversations, datetime(2026, 10, 23, tzinfo=UTC), rng)
        seeded_s = time.perf_counter() - started
        period = parse_period("2026-10-23", "2026-11-21", now=clock.now, tz="America/New_York")
        with store.engine.connect() as conn:
            n_messages = conn.execute(sa.select(sa.func.count()).select_from(messages_t)).scalar()

        def baseline() -> None:
            query = (
                sa.select(messages_t.c.conversation_id, messages_t.c.role, messages_t.c.content)
                .join(conversations_t, conversations_t.c.id == messages_t.c.conversation_id)
                .where(
                    conversations_t.c.created_at >= period.utc_start,
                    conversations_t.c.created_at < period.utc_end,
                )
                .order_by(messages_t.c.conversation_id, messages_t.c.seq)
            )
            with store.engine.connect() as conn:
                conn.execute(query).all()

        figures = scan_conversations(store.engine, period)
        base_ms = median_ms(baseline)
        scan_ms = median_ms(lambda: scan_conversations(store.engine, period))
        embedding.get_model()  # model load is a one-off per process; not part of a page view

        # Cold: every distinct wording embedded (the first view); warm: the cache has them all.
        def uncached(texts: list[str]) -> object:
            return embedding.embed_passages(list(texts), threads=1)

        cold_ms = median_ms(lambda: group_questions(figures.questions, embed=uncached), 3)
        group_questions(figures.questions)
        warm_ms = median_ms(lambda: group_questions(figures.questions))
        groups, left_out = group_questions(figures.questions)
        store.close()

    print(
        f"seeded {args.conversations:,} conversations / {n_messages:,} messages in {seeded_s:.1f} s"
    )
    print(f"{figures.conversations:,} conversations in range, {len(figures.questions):,} questions, "
          f"{len(groups)} groups, {len(figures.unanswered):,} unanswered")  # fmt: skip
    rows = [
        ("baseline: fetch the range's messages", base_ms, 1.0),
        ("scan_conversations (all figures but grouping)", scan_ms, scan_ms / base_ms),
        ("group_questions, cold cache", cold_ms, cold_ms / base_ms),
        ("group_questions, warm cache", warm_ms, warm_ms / base_ms),
    ]
    print(f"\n{'step':<48} {'median ms':>10} {'× baseline':>11}")
    for name, ms, ratio in rows:
        print(f"{name:<48} {ms:>10.1f} {ratio:>11.2f}")


if __name__ == "__main__":
    main()
