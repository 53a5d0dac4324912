"""`shopdesk index`, `shopdesk search`, `shopdesk eval retrieval`: the knowledge base from the shell."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from agent.cli.main import check_storage, get_settings


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _open_kb():
    from agent.app.knowledge_sync import open_knowledge  # the Chroma server when configured

    settings = get_settings()
    check_storage(settings)
    return open_knowledge(settings)


def _print_warnings(warnings) -> None:
    err = _console(stderr=True)
    for warning in warnings:
        err.print(f"[yellow]warning[/yellow] {warning}")


def _print_report(report, console) -> None:
    console.print(
        f"Indexed {report.files} files: {report.added} chunks added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged in {report.seconds:.2f}s"
    )
    _print_warnings(report.warnings)


def _onnx_queries(export: bool = False) -> None:
    """Queries (and passages) on the ONNX export in the data directory when there is one, so a
    one-shot command never loads torch for them. With `export`, make it first when missing
    (with torch), so the next `shopdesk serve` starts on onnxruntime alone."""
    from knowledge.embedding import export_query_model, query_model_dir, use_onnx_queries

    settings = get_settings()
    cache = query_model_dir(settings.data)
    if settings.query_model != "onnx" or use_onnx_queries(cache, export=False) or not export:
        return
    started = time.perf_counter()
    path = export_query_model(cache)
    if path is None:
        click.echo("warning: no ONNX query model (see the log); serve will use torch", err=True)
        return
    seconds = time.perf_counter() - started
    click.echo(f"Exported the query model to {path} in {seconds:.1f}s", err=True)
    use_onnx_queries(cache, export=False)  # for --watch


@click.command("index")
@click.option("--watch", is_flag=True, help="Keep running and re-index on every change.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def index(watch: bool, as_json: bool) -> None:
    """Index the knowledge markdown (only what changed since the last run)."""
    kb = _open_kb()
    console = _console()
    _onnx_queries()
    report = kb.index(progress=sys.stdout.isatty() and not as_json)
    if as_json:
        click.echo(report.model_dump_json())
        _print_warnings(report.warnings)
    else:
        _print_report(report, console)
    _onnx_queries(export=True)
    if not watch:
        return
    console.print(f"Watching {kb.kb_dir} for changes (Ctrl-C to stop)")

    def on_report(rep) -> None:
        if as_json:
            click.echo(rep.model_dump_json())
            _print_warnings(rep.warnings)
        else:
            _print_report(rep, console)

    watcher = kb.start_watching(on_report=on_report)
    try:
        while watcher.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()


@click.command("search")
@click.argument("query")
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--mode", type=click.Choice(["hybrid", "dense", "keyword"]), default="hybrid", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of passages.")
def search(query: str, k: int, mode: str, as_json: bool) -> None:
    """Search the knowledge base; brings the index up to date first."""
    kb = _open_kb()
    _onnx_queries()
    report = kb.index()  # incremental: a no-op when nothing changed
    _print_warnings(report.warnings)
    result = kb.search(query, k=k, mode=mode)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps([p.model_dump() for p in result.passages], ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=f"{query!r} — confidence {result.confidence:.2f}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("source › heading", style="bold")
    table.add_column("text")
    table.add_column("score", justify="right")
    for rank, passage in enumerate(result.passages, start=1):
        text = passage.text if len(passage.text) <= 300 else passage.text[:297] + "…"
        table.add_row(
            str(rank), f"{passage.source}\n{passage.heading}", text, f"{passage.score:.4f}"
        )
    _console().print(table)


@click.group("eval")
def eval_group() -> None:
    """Evaluate the agent's parts."""


@eval_group.command("retrieval")
@click.option(
    "--questions",
    "questions_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TSV: question<TAB>source<TAB>heading per line.",
)
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--mode", type=click.Choice(["hybrid", "dense", "keyword"]), default="hybrid", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def retrieval(questions_path: Path, k: int, mode: str, as_json: bool) -> None:
    """Recall@1, recall@k and MRR of retrieval on a set of questions."""
    from knowledge import evaluate, load_questions
    from knowledge.evaluate import QuestionsError

    try:
        questions = load_questions(questions_path)
    except (QuestionsError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from None
    kb = _open_kb()
    _onnx_queries()  # the path a server's queries take
    _print_warnings(kb.index().warnings)
    report = evaluate(kb, questions, k=k, mode=mode)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    from rich.table import Table

    console = _console()
    misses = Table(title="Questions not answered by the first hit", show_lines=False)
    misses.add_column("rank", justify="right")
    misses.add_column("question")
    misses.add_column("expected")
    misses.add_column("first hit")
    for q in report.questions:
        if q.rank != 1:
            first = f"{q.results[0].source} › {q.results[0].heading}" if q.results else "—"
            misses.add_row(
                str(q.rank or "—"),
                q.question,
                f"{q.expected.source} › {q.expected.heading}",
                first,
            )
    if misses.row_count:
        console.print(misses)
    summary = Table(title=f"Retrieval ({mode}, {len(report.questions)} questions)")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    summary.add_row("recall@1", f"{report.recall_at_1:.3f}")
    summary.add_row(f"recall@{k}", f"{report.recall_at_k:.3f}")
    summary.add_row("MRR", f"{report.mrr:.3f}")
    console.print(summary)


def _register_conversations() -> None:
    from agent.cli.eval_conversations import conversations

    eval_group.add_command(conversations)


_register_conversations()

__all__ = ["eval_group", "index", "search"]
