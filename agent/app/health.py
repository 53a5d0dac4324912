"""`/healthz` (liveness) and `/readyz` (readiness) for a load balancer or an orchestrator.

Liveness asks only "does this process answer?": uvicorn serves no request before the lifespan has
started the app, so a process that answers at all is alive, and restarting it for a slow
dependency would only make things worse. Readiness asks "should traffic come here?": the
databases answer, Redis answers (when the distributed mode is on), the knowledge index is loaded,
and the app is not shutting down. A failing check is named in words, with a 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sized
from dataclasses import dataclass

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from agent.app.state import AppState
from knowledge.remote import RemoteVectorStore

CHECK_SECONDS = 2.0  # each dependency answers within this, or counts as down


class NotReady(Exception):
    """A check's own verdict, already in words."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _bounded(name: str, probe: Callable[[], Awaitable[str]]) -> Check:
    try:
        detail = await asyncio.wait_for(probe(), CHECK_SECONDS)
    except TimeoutError:
        return Check(name, False, f"no answer within {CHECK_SECONDS:g} s")
    except NotReady as exc:
        return Check(name, False, str(exc))
    except Exception as exc:  # a probe's failure is the answer, in words
        return Check(name, False, _words(exc))
    return Check(name, True, detail)


def _words(exc: BaseException) -> str:
    """The failure in one bounded line (drivers name host and port there, never a password)."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _select_one(engine: sa.Engine) -> Callable[[], Awaitable[str]]:
    def run() -> str:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return f"{engine.dialect.name} answers"

    async def probe() -> str:
        return await asyncio.to_thread(run)

    return probe


def _redis(url: str) -> Callable[[], Awaitable[str]]:
    async def probe() -> str:
        import redis.asyncio as aioredis

        client = aioredis.from_url(url, socket_connect_timeout=CHECK_SECONDS)
        try:
            await client.ping()
        finally:
            await client.aclose()
        return "answers"

    return probe


def _knowledge(state: AppState) -> Callable[[], Awaitable[str]]:
    async def probe() -> str:
        if state.kb is None:
            raise NotReady("the knowledge index is not loaded yet")
        return f"{len(state.kb)} sections" if isinstance(state.kb, Sized) else "loaded"

    return probe


def _chroma(store: RemoteVectorStore) -> Callable[[], Awaitable[str]]:
    async def probe() -> str:
        await asyncio.to_thread(store.heartbeat)
        return "answers"

    return probe


async def readiness(state: AppState) -> list[Check]:
    probes: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("conversations database", _select_one(state.conversations.engine)),
        ("orders database", _select_one(state.services.store.engine)),
        ("knowledge index", _knowledge(state)),
    ]
    if state.settings.redis_url is not None:
        probes.append(("redis", _redis(state.settings.redis_url.get_secret_value())))
    store = getattr(state.kb, "store", None)
    if isinstance(store, RemoteVectorStore):
        probes.append(("chroma server", _chroma(store)))
    checks = list(await asyncio.gather(*(_bounded(name, probe) for name, probe in probes)))
    if not state.ready:
        checks.append(Check("app", False, "starting up or shutting down"))
    return checks


def health_routes(state: AppState) -> list[BaseRoute]:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "live_conversations": len(state.sessions.sessions)})

    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness(state)
        failing = [c for c in checks if not c.ok]
        body = {
            "status": "ready" if not failing else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
            "failing": [f"{c.name}: {c.detail}" for c in failing],
        }
        return JSONResponse(body, status_code=503 if failing else 200)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]


__all__ = ["Check", "health_routes", "readiness"]
