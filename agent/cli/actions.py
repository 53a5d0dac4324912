"""`shopdesk orders import` and `shopdesk actions list|call`: the order records and actions from a shell.

`actions call` runs an action as a verified shopper with confirmation counted as given — a developer's
tool, the same code path the agent uses after the shopper says yes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agent.cli.main import check_storage, get_settings

if TYPE_CHECKING:
    from actions import ActionRegistry
    from actions.services import ActionServices
    from agent.app.settings import Settings


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _registry(settings: Settings) -> ActionRegistry:
    from actions import ActionDefinitionError, load_registry

    try:
        return load_registry(settings.actions)
    except (ActionDefinitionError, ImportError, OSError, SyntaxError) as exc:
        _fail(f"cannot load actions: {exc}")
        raise  # unreachable


@contextmanager
def _services(settings: Settings) -> Iterator[ActionServices]:
    from actions import PolicyError
    from agent.app.services import open_services

    try:
        services = open_services(settings)
    except PolicyError as exc:
        _fail(str(exc))
        raise  # unreachable
    try:
        yield services
    finally:
        services.close()


# orders -------------------------------------------------------------------------------------------
@click.group("orders")
def orders() -> None:
    """Order records: import them from a JSON file."""


@orders.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report")
def import_orders(file: Path, as_json: bool) -> None:
    """Import (upsert) orders from FILE.json; a file with any bad record imports nothing."""
    from actions.importer import ImportProblems
    from actions.store.orders import OrderStore

    settings = get_settings()
    if settings.database_url is None:  # the SQLite file lives in the data directory
        check_storage(settings)
    store = OrderStore(settings.resolved_database_url)
    try:
        store.migrate()
        report = store.import_file(file)
    except ImportProblems as exc:
        if as_json:
            out = {
                "error": "invalid_orders",
                "message": f"{file} has {len(exc.problems)} problem(s); nothing was imported.",
                "problems": list(exc.problems),
            }
            click.echo(json.dumps(out))
        else:
            click.echo(f"{file}: {len(exc.problems)} problem(s); nothing imported:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
        sys.exit(1)
    finally:
        store.close()
    data = report.to_dict()
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        click.echo(
            f"Imported {data['orders']} orders from {file}: {data['created']} new, "
            f"{data['updated']} updated, {data['unchanged']} unchanged "
            f"({data['seconds']:.2f} s)."
        )


# actions ------------------------------------------------------------------------------------------
@click.group("actions")
def actions_group() -> None:
    """The actions the agent can call: list them, or call one as a verified shopper."""


@actions_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Names, descriptions, flags and schemas")
def list_actions(as_json: bool) -> None:
    """List the registered actions (built-ins, --actions modules, entry points)."""
    registry = _registry(get_settings())
    if as_json:
        click.echo(json.dumps([spec.describe() for spec in registry.specs()], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("action", "flags", "parameters", "description")
    for spec in registry.specs():
        flags = " ".join(
            f for f, on in (("confirm", spec.confirm), ("identity", spec.identity)) if on
        )
        params = ", ".join(spec.json_schema().get("properties", {}))
        table.add_row(spec.name, flags, params, spec.description)
    # Piped output is not wrapped at 80 columns: descriptions stay on one line for grep.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


async def _call(
    registry: ActionRegistry,
    services: ActionServices,
    settings: Settings,
    name: str,
    args: Any,
    customer: str | None,
) -> tuple[bool, dict[str, Any]]:
    from actions import ActionContext, ActionError

    ctx = ActionContext(
        services=services,
        customer_email=customer,
        now=settings.clock(),
        idempotency_key=uuid.uuid4().hex,
    )
    try:
        result = await registry.run(name, ctx, args)
    except ActionError as exc:
        return False, exc.to_dict()
    except Exception as exc:  # a bug in one action must not end a whole batch
        message = f"The action {name} failed unexpectedly ({type(exc).__name__}: {exc})."
        return False, {"error": "action_failed", "message": message}
    return True, result.model_dump(mode="json")


def _parse_line(number: int, text: str) -> tuple[str, Any, str | None] | dict[str, Any]:
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"error": "invalid_request", "message": f"Line {number} is not JSON ({exc.msg})."}
    if not isinstance(request, dict) or not isinstance(request.get("name"), str):
        return {
            "error": "invalid_request",
            "message": f'Line {number} must be an object with "name", "args" and "customer".',
        }
    customer = request.get("customer")
    return (
        request["name"],
        request.get("args") or {},
        customer if isinstance(customer, str) else None,
    )


async def _run_batch(registry, services, settings, path: Path, as_json: bool) -> int:
    failures = 0
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            parsed = _parse_line(number, text)
            if isinstance(parsed, dict):
                ok, out = False, parsed
            else:
                ok, out = await _call(registry, services, settings, *parsed)
            failures += not ok
            click.echo(json.dumps(out) if as_json else _human(ok, out))
    return failures


def _human(ok: bool, out: dict[str, Any]) -> str:
    if not ok:
        return f"error [{out['error']}]: {out['message']}"
    return f"{out['message']}\n{json.dumps(out, indent=2, ensure_ascii=False)}"


@actions_group.command("call")
@click.argument("name", required=False)
@click.option("--args", "args_json", default="{}", show_default=True, help="Arguments as JSON")
@click.option("--customer", help="Run as this verified shopper (email)")
@click.option(
    "--batch",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSONL file: one {"name", "args", "customer"} per line',
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per call)")
def call_action(
    name: str | None, args_json: str, customer: str | None, batch: Path | None, as_json: bool
) -> None:
    """Run action NAME (or every line of --batch) with confirmation counted as given."""
    if (name is None) == (batch is None):
        _fail("give an action NAME or --batch FILE.jsonl (not both)")
    settings = get_settings()
    registry = _registry(settings)
    with _services(settings) as services:
        if batch is not None:
            asyncio.run(_run_batch(registry, services, settings, batch, as_json))
            return
        assert name is not None
        try:
            args = json.loads(args_json)
        except json.JSONDecodeError as exc:
            ok, out = False, {"error": "invalid_arguments", "message": f"--args is not JSON: {exc}"}
        else:
            ok, out = asyncio.run(_call(registry, services, settings, name, args, customer))
    if as_json:
        click.echo(json.dumps(out))
    elif ok:
        click.echo(_human(ok, out))
    else:
        click.echo(_human(ok, out), err=True)
    if not ok:
        sys.exit(1)
