"""`shopdesk serve` (the web app on uvicorn) and `shopdesk chat` (a terminal client for it)."""

from __future__ import annotations

import asyncio
import sys

import click

from agent.cli.main import check_storage, get_settings


@click.command()
@click.option("--host", help="Interface to listen on [SHOPDESK_HOST, default 127.0.0.1]")
@click.option("--port", type=int, help="Port [SHOPDESK_PORT, default 8000]")
@click.option("--log-level", default="info", show_default=True)
def serve(host: str | None, port: int | None, log_level: str) -> None:
    """Serve the chat websocket, the REST API and the widget."""
    settings = get_settings(host=host, port=port)
    refusal = settings.unsafe_to_serve()
    if refusal is not None:  # demo secrets are in the README: never on a reachable address
        click.echo(f"error: {refusal}", err=True)
        sys.exit(2)
    check_storage(settings)
    import uvicorn

    from agent.app.background import uvicorn_options
    from agent.app.server import build_app
    from agent.app.storage import StartupFaults
    from knowledge.embedding import query_model_dir, warm_up_queries

    # Get the query encoder ready before the first shopper arrives: the ONNX export kept in the
    # data directory (made now, once, if `shopdesk index` has not), else torch.
    onnx = settings.query_model == "onnx"
    warm_up_queries(query_model_dir(settings.data) if onnx else None)
    app = StartupFaults(build_app(settings))
    click.echo(f"shopdesk on http://{settings.host}:{settings.port}  (websocket /ws)")
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            log_config=None,  # the lines go through the handler agent.app.logs configured
            **uvicorn_options(settings),
        )
    except SystemExit:
        if app.failure is None:
            raise
        click.echo(f"error: {app.failure}", err=True)  # a full disk at start-up: the last word
        sys.exit(1)


@click.command()
@click.option("--url", help="ws:// URL of a running server; default: start one in-process")
@click.option("--conversation", "conversation_id", help="Resume this conversation id")
@click.option("--token", "resume_token", help="The conversation's resume token (printed at exit)")
@click.option("--email", help="Sign in as this shopper (signed with the store secret)")
@click.option(
    "--stream/--no-stream", default=None, help="Show text as it streams (default: on a tty)"
)
def chat(
    url: str | None,
    conversation_id: str | None,
    resume_token: str | None,
    email: str | None,
    stream: bool | None,
) -> None:
    """Chat with the agent in the terminal (lines from stdin; y/n answers confirmations)."""
    settings = get_settings()
    from agent.chat.identity import sign_email
    from agent.cli.chat_client import ChatClient

    identity = {"email": email, "signature": sign_email(email, settings.secret)} if email else None
    server = None
    if url is None:
        from agent.app.background import BackgroundServer
        from agent.app.server import build_app

        def make(port: int):
            return build_app(settings.model_copy(update={"port": port}))

        click.echo("starting shopdesk in-process…", err=True)
        server = BackgroundServer(make).start()
        url = server.ws_url
    try:
        client = ChatClient(
            url,
            conversation_id=conversation_id,
            resume_token=resume_token,
            identity=identity,
            stream=stream,
        )
        result = asyncio.run(client.run())
        if result.conversation_id:
            where = f" --url {url}" if server is None else " (same --data)"
            # The token is this shopper's own credential, shown only to them on their terminal.
            resume = f"--conversation {result.conversation_id} --token {result.resume_token}"
            click.echo(f"(resume with: shopdesk chat {resume}{where})", err=True)
    except OSError as exc:
        click.echo(f"error: cannot reach {url}: {exc}", err=True)
        sys.exit(1)
    finally:
        if server is not None:
            server.stop()
