"""The `shopdesk` command: global options, then one subcommand per job.

Subcommands live in `agent/cli/` and are imported lazily so `shopdesk --help` stays fast
(torch, chromadb and litellm are only imported by the commands that need them).
"""

from __future__ import annotations

import importlib
import sys

import click

from agent.app.logs import configure_logging
from agent.app.offline_env import use_offline_env
from agent.app.settings import Settings, SettingsError, load_settings

# command name -> (module, attribute, one-line help shown without importing the module)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "index": ("agent.cli.knowledge", "index", "Index the knowledge markdown (incremental)."),
    "search": ("agent.cli.knowledge", "search", "Search the knowledge base."),
    "eval": ("agent.cli.knowledge", "eval_group", "Measure retrieval quality."),
    "orders": ("agent.cli.actions", "orders", "Import order records."),
    "actions": ("agent.cli.actions", "actions_group", "List and call actions."),
    "serve": ("agent.cli.server", "serve", "Serve the chat, the API and the demo store."),
    "chat": ("agent.cli.server", "chat", "Chat with the agent in the terminal."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attr, _ = COMMANDS[name]
        module = importlib.import_module(module_name)
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", type=click.Path(file_okay=False), help="State directory [SHOPDESK_DATA]")
@click.option("--kb", type=click.Path(file_okay=False), help="Knowledge directory [SHOPDESK_KB]")
@click.option("--policy", type=click.Path(dir_okay=False), help="Policy TOML [SHOPDESK_POLICY]")
@click.option("--now", help="Clock override, ISO-8601 [SHOPDESK_NOW]")
@click.option(
    "--actions",
    "actions_",
    help="Extra action modules or .py paths, comma-separated [SHOPDESK_ACTIONS]",
)
@click.option("--model", help="litellm model string [SHOPDESK_MODEL]")
@click.pass_context
def cli(ctx: click.Context, data, kb, policy, now, actions_, model) -> None:
    """shopdesk: a retrieval-grounded chat agent for online stores."""
    use_offline_env()  # before any command imports torch, transformers, chromadb or litellm
    ctx.obj = {
        "overrides": {
            "data": data,
            "kb": kb,
            "policy": policy,
            "now": now,
            "actions": actions_,
            "model": model,
        }
    }
    if not ctx.resilient_parsing:
        settings = get_settings(ctx)  # fail at start, naming the setting, before any command runs
        # The server's INFO lines (knowledge index, turns, deliveries) on stderr, text or JSON; the
        # one-shot commands print their own output and log only warnings.
        serving = ctx.invoked_subcommand == "serve"
        configure_logging(settings.log_format, settings.log_level if serving else "WARNING")


def get_settings(ctx: click.Context | None = None, **extra: object) -> Settings:
    """Settings for the running command; a bad value exits with a message naming the setting."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    overrides = dict((root.obj or {}).get("overrides", {}))
    overrides.update({k: v for k, v in extra.items() if v is not None})
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
        raise  # unreachable; keeps type checkers honest


def main() -> None:
    try:
        cli(prog_name="shopdesk")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # A full disk or an unwritable data directory is the owner's to fix, not a bug: one line
        # that says what and where, not a traceback. Anything else is a bug and keeps its trace.
        from agent.app.storage import storage_failure

        line = storage_failure(exc)
        if line is None:
            raise
        click.echo(f"error: {line}", err=True)
        sys.exit(1)


def check_storage(settings: Settings) -> None:
    """Exit with one line unless the data directory and its files can be written."""
    from agent.app.storage import StorageError, check_data_dir

    try:
        check_data_dir(settings.data)
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


__all__ = ["check_storage", "cli", "get_settings", "main"]
