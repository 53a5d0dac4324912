"""`/console`: the staff console's pages, form/JSON actions and live updates (server-sent events).

Every route except the sign-in page refuses a request without a valid staff session (pages redirect
to the sign-in page, `/console/api/*` and `/console/events` answer 401), and every POST except the
sign-in itself must carry the session's CSRF token. Pages are server-rendered jinja2 (autoescaped);
console.js only swaps in re-rendered fragments when an event arrives, and posts the forms.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Route

from actions import wording
from agent.app.state import AppState
from agent.chat.events import AgentMessage
from agent.console.inbox import CONSOLE_STATUSES
from agent.console.outbox import email_reply_if_away
from agent.console.staff import COOKIE, LOGIN_CSRF_COOKIE, StaffSession
from agent.console.summary import action_summary, details_json
from agent.store.status import ConversationStatus

HERE = Path(__file__).resolve().parent
STATIC = {
    "console.js": "text/javascript",
    "console.css": "text/css",
    "knowledge.js": "text/javascript",
}
MAX_REPLY = 4000
STREAM_SECONDS = 25.0  # each event stream ends after this; EventSource reconnects (and re-reads)
Handler = Callable[[Request], Awaitable[Response]]


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "jinja2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda v: f"${Decimal(str(v)):,.2f}"
    env.filters["when"] = lambda v: v.strftime("%b %d, %H:%M") if hasattr(v, "strftime") else v
    env.filters["pretty"] = details_json
    env.filters["reason"] = wording.return_reason
    env.filters["return_status"] = wording.return_status
    env.filters["action_name"] = wording.action_name
    env.filters["resolution"] = wording.resolution
    env.filters["action_summary"] = action_summary
    return env


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


class Console:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.auth = state.staff_auth
        self.inbox = state.inbox
        self.env = _env()

    # Plumbing ---------------------------------------------------------------------------------
    def render(self, name: str, code: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("store_name", self.state.settings.store_name)
        html = self.env.get_template(name).render(**ctx)
        return HTMLResponse(html, status_code=code, headers={"Cache-Control": "no-store"})

    def staff(self, request: Request) -> StaffSession | None:
        return self.auth.session(request.cookies.get(COOKIE))

    def page(self, fn: Callable[[Request, StaffSession], Awaitable[Response]]) -> Handler:
        async def handler(request: Request) -> Response:
            staff = self.staff(request)
            if staff is None:
                return RedirectResponse("/console/login", status_code=303)
            return await fn(request, staff)

        return handler

    def action(
        self, fn: Callable[[Request, StaffSession, dict[str, Any]], Awaitable[Response]]
    ) -> Handler:
        async def handler(request: Request) -> Response:
            staff = self.staff(request)
            if staff is None:
                return JSONResponse({"error": "unauthorized", "message": "Sign in first."}, 401)
            form: dict[str, Any] = {}
            if request.headers.get("content-type", "").startswith("application/json"):
                try:
                    body = await request.json()
                    form = body if isinstance(body, dict) else {}
                except ValueError:
                    form = {}
            else:
                form = dict(await request.form())
            token = request.headers.get("x-csrf-token") or form.get("csrf")
            if not self.auth.csrf_ok(staff, token):
                return JSONResponse({"error": "csrf", "message": "Bad or missing CSRF token."}, 403)
            return await fn(request, staff, form)

        return handler

    def done(self, request: Request, back: str, **body: Any) -> Response:
        if wants_json(request):
            return JSONResponse({"ok": True, **body})
        return RedirectResponse(back, status_code=303)

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        store = self.state.conversations
        return await store.acall(fn, *args, **kwargs)

    # Sign-in ----------------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        if self.staff(request) is not None:
            return RedirectResponse("/console", status_code=303)
        return self._login(error=None)

    def _login(self, error: str | None, status: int = 200) -> Response:
        token = secrets.token_urlsafe(24)
        response = self.render("console_login.jinja2", code=status, csrf=token, error=error)
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/console"
        )
        return response

    async def login(self, request: Request) -> Response:
        client = _client(request)
        if self.auth.blocked(client):
            return self._login("Too many attempts. Wait a few minutes and try again.", 429)
        form = await request.form()
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        supplied = str(form.get("csrf", ""))
        if not expected or not secrets.compare_digest(expected, supplied):
            return self._login("Your sign-in form expired; please try again.", 403)
        name = str(form.get("name", "")).strip()[:80] or "Staff"
        signed = self.auth.sign_in(client, name, str(form.get("password", "")))
        if signed is None:
            return self._login("That password is not right.", 401)
        token, _session = signed
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", path="/console",
            max_age=int(self.auth.lifetime),
        )  # fmt: skip
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return response

    async def logout(self, request: Request, staff: StaffSession, form: dict[str, Any]) -> Response:
        self.auth.sign_out(request.cookies.get(COOKIE))
        response = (
            JSONResponse({"ok": True})
            if wants_json(request)
            else RedirectResponse("/console/login", status_code=303)
        )
        response.delete_cookie(COOKIE, path="/console")
        return response

    # Inbox ------------------------------------------------------------------------------------
    async def _list(self, request: Request) -> tuple[list[Any], str, str]:
        status = request.query_params.get("status", "")
        status = status if status in CONSOLE_STATUSES else ""  # a StrEnum member is its value
        query = request.query_params.get("q", "")[:200]
        wanted = ConversationStatus(status) if status else None
        items = await self.call(self.inbox.data.list, status=wanted, query=query)
        return items, status, query

    async def inbox_page(self, request: Request, staff: StaffSession) -> Response:
        items, status, query = await self._list(request)
        counts = await self.call(self.inbox.data.counts)
        name = (
            "console_inbox_list.jinja2"
            if request.query_params.get("partial")
            else "console_inbox.jinja2"
        )
        return self.render(
            name, staff=staff, items=items, status=status, query=query, counts=counts,
            statuses=CONSOLE_STATUSES, section="inbox",
        )  # fmt: skip

    async def list_api(self, request: Request) -> Response:
        if self.staff(request) is None:
            return JSONResponse({"error": "unauthorized", "message": "Sign in first."}, 401)
        items, _status, _query = await self._list(request)
        return JSONResponse({"conversations": [i.to_dict() for i in items]})

    # A conversation ---------------------------------------------------------------------------
    async def _detail(self, conv_id: str) -> dict[str, Any] | None:
        from agent.store.transcript import to_transcript

        item = await self.call(self.inbox.data.get, conv_id)
        if item is None:
            return None
        store = self.state.conversations
        messages = await self.call(store.messages, conv_id)
        entries = to_transcript(messages)
        for msg in messages:
            if msg.role == "system-note":
                entries.append(
                    {"seq": msg.seq, "role": "note", "text": msg.content.get("content", "")}
                )
        entries.sort(key=lambda e: e["seq"])
        orders: list[Any] = []
        returns: list[Any] = []
        services = self.state.services
        if item.customer_email:
            email = item.customer_email
            orders = await asyncio.to_thread(services.store.orders_for_customer, email)
            returns = await asyncio.to_thread(services.workflow.for_customer, email)
        evidence = services.evidence  # the shopper's photos (agent/console/returns.py serves them)
        photos = await asyncio.to_thread(evidence.for_conversation, conv_id) if evidence else []
        return {"item": item, "entries": entries, "orders": orders, "returns": returns,
                "photos": photos}  # fmt: skip

    async def conversation_page(self, request: Request, staff: StaffSession) -> Response:
        detail = await self._detail(request.path_params["conv_id"])
        if detail is None:
            return self.render("console_missing.jinja2", code=404, staff=staff, section="inbox")
        name = (
            "console_conversation_body.jinja2"
            if request.query_params.get("partial")
            else "console_conversation.jinja2"
        )
        return self.render(name, staff=staff, section="inbox", **detail)

    async def conversation_api(self, request: Request) -> Response:
        if self.staff(request) is None:
            return JSONResponse({"error": "unauthorized", "message": "Sign in first."}, 401)
        detail = await self._detail(request.path_params["conv_id"])
        if detail is None:
            return JSONResponse({"error": "not_found", "message": "No such conversation."}, 404)
        body = {
            "conversation": detail["item"].to_dict(),
            "transcript": detail["entries"],
            "orders": [o.id for o in detail["orders"]],
        }
        return JSONResponse(json.loads(json.dumps(body, default=str)))

    async def conversation_op(
        self, request: Request, staff: StaffSession, form: dict[str, Any]
    ) -> Response:
        conv_id = request.path_params["conv_id"]
        op = request.path_params["op"]
        item = await self.call(self.inbox.data.get, conv_id)
        if item is None:
            return JSONResponse({"error": "not_found", "message": "No such conversation."}, 404)
        back = f"/console/c/{conv_id}"
        data = self.inbox.data
        if op == "assign":
            await self._set(conv_id, status=ConversationStatus.ASSIGNED, assignee=staff.name)
        elif op == "reply":
            text = str(form.get("text", "")).strip()
            if not text or len(text) > MAX_REPLY:
                return JSONResponse(
                    {"error": "invalid_reply", "message": f"Write 1–{MAX_REPLY} characters."}, 422
                )
            await self.reply(conv_id, staff.name, text)
            await email_reply_if_away(self, item, staff.name, text)  # after hours: by email
            if item.status != ConversationStatus.ASSIGNED or not item.assignee:
                assignee = item.assignee or staff.name
                await self._set(conv_id, status=ConversationStatus.ASSIGNED, assignee=assignee)
        elif op == "resolve":
            await self._set(conv_id, status=ConversationStatus.RESOLVED)
            await self.inbox.webhook("conversation.resolved", conv_id, resolved_by=staff.name)
        elif op == "reopen":
            await self._set(conv_id, status=ConversationStatus.PENDING, assignee=None)
        elif op == "handback":
            await self._set(conv_id, status=ConversationStatus.OPEN, assignee=None)
            await self.note(conv_id, f"{staff.name} handed the conversation back to the AI.")
        elif op == "note":
            text = str(form.get("text", "")).strip()[:2000]
            if text:
                await self.call(
                    data.add_note, conv_id, staff.name, text, self.state.settings.clock()
                )
                self.inbox.publish("conversation.updated", conv_id)
        elif op == "tags":
            raw = str(form.get("tags", ""))
            tags = sorted({t.strip().lower()[:40] for t in re.split(r"[,\s]+", raw) if t.strip()})
            await self.call(data.update, conv_id, tags=tags[:20])
            self.inbox.publish("conversation.updated", conv_id)
        else:
            return JSONResponse({"error": "unknown_operation", "message": op}, 404)
        return self.done(request, back)

    async def _set(self, conv_id: str, **values: Any) -> None:
        await self.call(self.inbox.data.update, conv_id, **values)
        if "status" in values:  # on every replica's live session of it
            human = ConversationStatus(values["status"]).human
            self.state.sessions.replicas.set_human(conv_id, human)
        self.inbox.publish("conversation.updated", conv_id)

    async def note(self, conv_id: str, text: str) -> None:
        store = self.state.conversations
        await self.call(
            store.append, conv_id, "system-note", {"role": "system-note", "content": text}
        )

    async def reply(self, conv_id: str, name: str, text: str) -> None:
        """Store a staff message and push it to every widget open on the conversation."""
        store = self.state.conversations
        await self.call(
            store.append, conv_id, "agent", {"role": "agent", "content": text, "name": name}
        )
        # On every widget open on it, whichever replica its sockets are on.
        await self.state.sessions.replicas.tell(conv_id, AgentMessage(text=text, name=name))

    # Live updates -----------------------------------------------------------------------------
    async def events(self, request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if self.auth.session(token) is None:
            return JSONResponse({"error": "unauthorized", "message": "Sign in first."}, 401)

        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            deadline = time.monotonic() + STREAM_SECONDS
            async with self.inbox.events.subscribe() as queue:
                while time.monotonic() < deadline and self.auth.session(token) is not None:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=5.0)
                    except TimeoutError:
                        yield ": ping\n\n"
                        continue
                    yield f"event: update\ndata: {event.model_dump_json()}\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response(status_code=404)
        return FileResponse(HERE / "static" / name, media_type=STATIC[name])


def routes(state: AppState) -> list[BaseRoute]:
    from agent.console import insights_page as console_insights
    from agent.console import knowledge as console_knowledge
    from agent.console import leads as console_leads
    from agent.console import outbox as console_outbox
    from agent.console import returns as console_returns

    c = Console(state)
    return [
        *console_knowledge.routes(c),
        *console_insights.routes(c),
        *console_leads.routes(c),
        *console_returns.routes(c),
        *console_outbox.routes(c),
        Route("/console/login", c.login_page, methods=["GET"]),
        Route("/console/login", c.login, methods=["POST"]),
        Route("/console/logout", c.action(c.logout), methods=["POST"]),
        Route("/console", c.page(c.inbox_page), methods=["GET"]),
        Route("/console/c/{conv_id}", c.page(c.conversation_page), methods=["GET"]),
        Route("/console/events", c.events, methods=["GET"]),
        Route("/console/static/{name}", c.static, methods=["GET"]),
        Route("/console/api/conversations", c.list_api, methods=["GET"]),
        Route("/console/api/conversations/{conv_id}", c.conversation_api, methods=["GET"]),
        Route(
            "/console/api/conversations/{conv_id}/{op}",
            c.action(c.conversation_op),
            methods=["POST"],
        ),
    ]


__all__ = ["Console", "routes"]
