"""`shopdesk eval conversations`: play the shopper-conversation corpus through the real loop.

Prints a table per category (passed/total) and the failures, or `--json`. It measures: the exit code
is 0 whatever the score, and 2 only when a corpus file is broken (the message names the file).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from agent.app.settings import DEMO_STORE, Settings
from agent.cli.conversation_corpus import Conversation, CorpusError, load_corpus
from agent.cli.conversation_judge import Verdict, judge
from agent.cli.main import get_settings

DEFAULT_CORPUS = DEMO_STORE / "conversations"
# The demo's order records are dated November 2026; its corpus is written for this "today".
DEMO_NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


def select(
    conversations: list[Conversation], category: str | None, limit: int | None
) -> list[Conversation]:
    chosen = [c for c in conversations if category is None or c.category == category]
    return chosen[:limit] if limit is not None else chosen


def run_corpus(
    conversations: list[Conversation],
    settings: Settings,
    *,
    timeout: float,
    progress: bool = False,
) -> list[Verdict]:
    """Play and judge every conversation, each on a fresh copy of the store's data."""
    from agent.cli.conversation_runner import Arena

    with tempfile.TemporaryDirectory(prefix="shopdesk-eval-") as workdir:
        arena = Arena(settings, Path(workdir), timeout)
        arena.prepare()
        verdicts = []
        for number, conversation in enumerate(conversations, start=1):
            verdict = judge(arena.play(conversation), arena.side_effects)
            verdicts.append(verdict)
            if progress:
                mark = "ok" if verdict.passed else "FAIL"
                click.echo(f"[{number}/{len(conversations)}] {conversation.id} {mark}", err=True)
        return verdicts


def by_category(verdicts: Iterable[Verdict]) -> dict[str, tuple[int, int]]:
    """category → (passed, total), in the corpus's order."""
    counts: dict[str, tuple[int, int]] = {}
    for verdict in verdicts:
        passed, total = counts.get(verdict.conversation.category, (0, 0))
        counts[verdict.conversation.category] = (passed + verdict.passed, total + 1)
    return counts


def _percent(passed: int, total: int) -> str:
    return f"{100 * passed / total:.1f}%" if total else "—"


def shorten(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def as_json(verdicts: list[Verdict], model: str) -> dict[str, Any]:
    passed = sum(v.passed for v in verdicts)
    return {
        "model": model,
        "passed": passed,
        "total": len(verdicts),
        "categories": {
            name: {"passed": p, "total": t} for name, (p, t) in by_category(verdicts).items()
        },
        "conversations": [
            {
                "id": v.conversation.id,
                "category": v.conversation.category,
                "passed": v.passed,
                "failures": v.failures,
                "final_text": v.final_text,
                "citations": v.citations,
                "actions": [
                    {"action": r.name, "ok": r.ok, "arguments": r.arguments} for r in v.actions
                ],
                "note": v.note,
                "seconds": round(v.seconds, 3),
            }
            for v in verdicts
        ],
    }


def print_report(verdicts: list[Verdict], model: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    failed = [v for v in verdicts if not v.passed]
    for verdict in failed:
        conv = verdict.conversation
        console.print(f"[bold red]FAIL[/bold red] [bold]{conv.id}[/bold] ({conv.category})")
        for failure in verdict.failures:
            console.print(f"  expected: {failure}", markup=False)
        ran = ", ".join(run.describe() for run in verdict.actions) or "none"
        console.print(f"  actions:  {ran}", markup=False)
        console.print(f"  answer:   {shorten(verdict.final_text) or '(none)'}", markup=False)
    table = Table(title=f"Conversations ({model})")
    table.add_column("category")
    table.add_column("passed", justify="right")
    table.add_column("%", justify="right")
    for name, (passed, total) in by_category(verdicts).items():
        table.add_row(name, f"{passed}/{total}", _percent(passed, total))
    passed = sum(v.passed for v in verdicts)
    table.add_section()
    table.add_row("overall", f"{passed}/{len(verdicts)}", _percent(passed, len(verdicts)))
    console.print(table)
    console.print(
        f"Overall: {passed}/{len(verdicts)} conversations passed "
        f"({_percent(passed, len(verdicts))}), {len(failed)} failed."
    )


@click.command("conversations")
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DEFAULT_CORPUS,
    show_default="the demo store's",
    help="Directory of conversation YAML files.",
)
@click.option("--model", help="litellm model string [default: SHOPDESK_MODEL or shopdesk/offline]")
@click.option("--category", help="Only this category.")
@click.option("--limit", type=click.IntRange(1), help="At most this many conversations.")
@click.option(
    "--timeout", default=120.0, show_default=True, type=click.FloatRange(1), help="Seconds each."
)
@click.option("--json", "json_output", is_flag=True, help="Print machine-readable results.")
@click.option("--progress/--no-progress", default=None, help="A line per conversation on stderr.")
def conversations(
    corpus_dir: Path,
    model: str | None,
    category: str | None,
    limit: int | None,
    timeout: float,
    json_output: bool,
    progress: bool | None,
) -> None:
    """Play the conversation corpus through the real chat and score what shoppers would notice."""
    from agent.app.offline_env import use_offline_env

    use_offline_env()
    try:
        corpus = load_corpus(corpus_dir)
    except CorpusError as exc:
        click.echo(f"error: broken corpus: {exc}", err=True)
        sys.exit(2)
    chosen = select(corpus, category, limit)
    if not chosen:
        click.echo(f"error: no conversations in category {category!r}", err=True)
        sys.exit(2)
    settings = get_settings(model=model)
    if settings.now is None and corpus_dir.resolve() == DEFAULT_CORPUS.resolve():
        settings = get_settings(model=model, now=DEMO_NOW.isoformat())
    show = sys.stderr.isatty() if progress is None else progress
    verdicts = run_corpus(chosen, settings, timeout=timeout, progress=show)
    if json_output:
        click.echo(json.dumps(as_json(verdicts, settings.model), ensure_ascii=False, default=str))
    else:
        print_report(verdicts, settings.model)


__all__ = ["as_json", "by_category", "conversations", "run_corpus", "select"]
