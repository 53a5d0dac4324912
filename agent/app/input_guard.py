"""The HTTP side of input hardening: one ASGI middleware in front of every route.

Before any handler runs, a request body is bounded in bytes, a JSON body is refused past
`actions.json_limits.MAX_DEPTH` levels of nesting (5,000 levels gave HTTP 500 from `json.loads`'s
recursion), and the strings in JSON and form bodies are normalised (`actions.text`) so nothing
stored from a REST call or a console form carries a lone surrogate, a NUL or a control character.
Refusals are JSON `{"error", "message"}` in words, like the REST API's own errors.

`server_error` is the last resort for anything a handler did not expect: a JSON 500 in words,
never a traceback, and it claims nothing about what was or was not saved.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actions.json_limits import MAX_DEPTH, too_deep
from actions.text import needs_normalising, normalise_json, normalise_text

log = logging.getLogger("shopdesk.http")

MAX_BODY_BYTES = 1 << 20  # the largest legitimate body is a knowledge file (256 KB) as JSON
_BODYLESS = {"GET", "HEAD", "OPTIONS", "DELETE"}
# Routes that take photos (multipart): up to 5 of 10 MB each, plus the form around them.
LARGE_BODY_PATHS = {"/returns/items": 5 * 10 * (1 << 20) + (1 << 20)}


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _kind(content_type: str, body: bytes) -> str:
    """json, form or other. A body without a JSON content type that looks like JSON is treated as
    JSON: the REST API parses bodies whatever their declared type."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        return "form"
    if ctype.startswith("multipart/"):
        return "other"
    if "json" in ctype or body.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "other"


def _normalised_json(body: bytes) -> bytes | None:
    """The body with its strings normalised, or None when it is fine as it is (or not JSON: the
    handler's own parser then answers bad_json)."""
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    clean = normalise_json(data)
    if clean == data and not needs_normalising(text):
        return None
    return json.dumps(clean, ensure_ascii=False).encode("utf-8")


def _normalised_form(body: bytes) -> bytes | None:
    # Read as starlette's form parser reads it (latin-1, then percent-decoding as UTF-8).
    try:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return None
    if not any(needs_normalising(k) or needs_normalising(v) or "\r" in v for k, v in pairs):
        return None
    clean = [(normalise_text(k), normalise_text(v)) for k, v in pairs]
    return urlencode(clean).encode("ascii")


class InputGuard:
    """Bounds, depth check and normalisation of request bodies (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, larger: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # path prefix → its own bound (the photo upload route, the portal's photo form)
        self.larger = {**LARGE_BODY_PATHS, **(larger or {})}

    def _bound(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        return next((n for p, n in self.larger.items() if path.startswith(p)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        bound = self._bound(scope)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > bound:
            await self._too_large(bound)(scope, receive, send)
            return
        body, complete = await self._read(receive, bound)
        if not complete:
            await self._too_large(bound)(scope, receive, send)
            return
        kind = _kind(headers.get(b"content-type", b"").decode("latin-1"), body)
        # Whatever its declared type: the REST API parses any body as JSON.
        if (kind == "json" or body.lstrip()[:1] in (b"{", b"[")) and too_deep(body, MAX_DEPTH):
            refusal = _refusal(
                400,
                "too_deep",
                f"The request body is nested too deeply (at most {MAX_DEPTH} levels).",
            )
            await refusal(scope, receive, send)
            return
        clean = _normalised_json(body) if kind == "json" else None
        clean = _normalised_form(body) if kind == "form" else clean
        if clean is not None:
            body = clean
            scope = dict(scope)
            scope["headers"] = [
                (k, v) for k, v in scope["headers"] if k.lower() != b"content-length"
            ] + [(b"content-length", str(len(body)).encode())]
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, bound: int) -> tuple[bytes, bool]:
        """The whole body, or what came before it passed the limit (and False)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), True  # disconnected: the app sees what there was
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > bound:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True

    def _too_large(self, bound: int) -> Response:
        size = (
            f"{bound // (1 << 20)} MB"
            if bound >= 1 << 20 and bound != MAX_BODY_BYTES
            else f"{bound // 1024} KB"
        )
        return _refusal(413, "body_too_large", f"Request bodies are limited to {size}.")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: disconnects, as the server reports them

    return replay


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _refusal(
        500,
        "internal_error",
        "Something went wrong on our side. Please try again; if it keeps happening, tell the "
        "store.",
    )


__all__ = ["MAX_BODY_BYTES", "InputGuard", "server_error"]
