"""Photos from the widget: a short-lived upload token over the websocket, then one HTTP POST
(multipart) per photo, never the socket.

- The token is an HMAC of the conversation id and an expiry read from the product's clock, made
  with the store secret: any replica checks it without shared state, and a token works only for
  the conversation it was issued to.
- `POST /chat/photos/{conversation_id}` with `Authorization: Bearer <token>` and one `photo` file
  part: cleaned by `accept_image`, kept by the evidence store, counted by the throttle.
- The shopper's thumbnail URL carries a second HMAC binding the photo to its conversation, so it
  is unguessable and useless elsewhere; the full-size photo is for staff only (the console).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from actions.evidence import MAX_BYTES, MAX_PER_RETURN, Evidence, EvidenceStore, ImageRefused
from actions.evidence import accept_image as clean_image
from agent.chat.events import UploadRequest, UploadToken
from agent.chat.limits import Rule, Throttle, origin_allowed

if TYPE_CHECKING:
    from agent.app.settings import Settings
    from agent.store.conversations import ConversationStore

log = logging.getLogger("shopdesk.uploads")

UPLOAD_PREFIX = "/chat/photos/"
# The multipart body around one 10 MB photo; the photo's own limit is checked with words.
UPLOAD_BODY_BYTES = MAX_BYTES + (1 << 20)


class UploadState(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def conversations(self) -> ConversationStore: ...
    @property
    def throttle(self) -> Throttle: ...


@dataclass(frozen=True)
class UploadTokens:
    secret: bytes
    minutes: float

    def _sign(self, conversation_id: str, expires: int) -> str:
        message = f"upload|{conversation_id}|{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def issue(self, conversation_id: str, now: datetime) -> tuple[str, datetime]:
        expires_at = now + timedelta(minutes=self.minutes)
        expires = int(expires_at.timestamp())
        return f"{expires}.{self._sign(conversation_id, expires)}", expires_at

    def check(self, conversation_id: str, token: str, now: datetime) -> str | None:
        """Why the token does not let this conversation upload now (in words), or None."""
        expires_text, _, signature = token.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 12:
            return "That upload link is not valid; please attach the photo again from the chat."
        expected = self._sign(conversation_id, int(expires_text))
        if not hmac.compare_digest(expected, signature):
            return "That upload link is not valid; please attach the photo again from the chat."
        if now.timestamp() >= int(expires_text):
            return "That upload link has expired; please attach the photo again from the chat."
        return None

    def thumbnail_signature(self, item: Evidence) -> str:
        message = f"thumb|{item.conversation_id}|{item.id}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:40]

    def thumbnail_url(self, item: Evidence) -> str:
        return f"{UPLOAD_PREFIX}{item.id}/{self.thumbnail_signature(item)}"


def tokens_for(settings: Settings) -> UploadTokens:
    return UploadTokens(settings.secret.encode(), settings.upload_token_minutes)


def upload_rule(settings: Settings) -> Rule:
    return Rule.of("photo-uploads", settings.limit_uploads_per_conversation)


def photo_view(tokens: UploadTokens, item: Evidence) -> dict[str, str | int]:
    """How the widget shows a photo of the shopper's own: its thumbnail URL and size."""
    return {"id": item.id, "thumbnail_url": tokens.thumbnail_url(item),
            "width": item.width, "height": item.height}  # fmt: skip


async def issue_token(
    settings: Settings, evidence: EvidenceStore | None, conversation_id: str, _: UploadRequest
) -> UploadToken:
    """The answer to the widget's `upload_request`: a token for this conversation only."""
    waiting = 0
    if evidence is not None:
        waiting, _total = await asyncio.to_thread(evidence.counts, conversation_id)
    token, expires_at = tokens_for(settings).issue(conversation_id, settings.clock())
    return UploadToken(
        token=token,
        url=f"{UPLOAD_PREFIX}{conversation_id}",
        expires_at=expires_at,
        max_bytes=MAX_BYTES,
        remaining=max(MAX_PER_RETURN - waiting, 0),
    )


class _Socket(Protocol):
    settings: Settings

    @property
    def session(self) -> _HasId | None: ...
    @property
    def sessions(self) -> _HasDeps: ...
    async def send(self, event: UploadToken) -> None: ...  # noqa: E704
    async def error(self, code: str, message: str) -> None: ...  # noqa: E704


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


class _Services(Protocol):
    @property
    def evidence(self) -> EvidenceStore | None: ...


class _Deps(Protocol):
    @property
    def services(self) -> _Services: ...


class _HasDeps(Protocol):
    @property
    def deps(self) -> _Deps: ...


async def answer(socket: _Socket, event: UploadRequest) -> None:
    """The chat socket's `upload_request`: an `upload_token` for its own conversation."""
    if socket.session is None:
        await socket.error("no_conversation", "Send a hello event first.")
        return
    evidence = socket.sessions.deps.services.evidence
    await socket.send(await issue_token(socket.settings, evidence, socket.session.id, event))


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


_STATUS = {"too_large": 413, "too_many": 409, "too_many_pixels": 422, "corrupt": 422}


async def _read_photo(request: Request) -> tuple[bytes, str | None] | JSONResponse:
    try:
        form = await request.form(max_files=1, max_fields=4, max_part_size=UPLOAD_BODY_BYTES)
    except Exception:  # malformed multipart, too many parts
        return _refuse(400, "bad_upload", "Send one photo as a multipart form field named photo.")
    photo = form.get("photo")
    if not isinstance(photo, UploadFile):
        await form.close()
        return _refuse(400, "bad_upload", "Send one photo as a multipart form field named photo.")
    data = await photo.read(MAX_BYTES + 1)
    declared = photo.content_type
    await form.close()
    return data, declared


class PhotoUploads:
    def __init__(self, state: UploadState, evidence: EvidenceStore) -> None:
        self.settings = state.settings
        self.conversations = state.conversations
        self.throttle = state.throttle
        self.evidence = evidence
        self.tokens = tokens_for(state.settings)
        self.rule = upload_rule(state.settings)

    async def upload(self, request: Request) -> Response:
        conv_id = str(request.path_params["conversation_id"])[:128]
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        problem = self.tokens.check(conv_id, token, self.settings.clock())
        if problem is not None:
            return _refuse(401, "upload_token", problem)
        if not await self.throttle.hit(self.rule, conv_id):
            return _refuse(429, "rate_limited", "That's a lot of photos in a short time; "
                           f"please wait {self.rule.window} and try again.")  # fmt: skip
        read = await _read_photo(request)
        if isinstance(read, JSONResponse):
            return read
        data, declared = read
        try:
            await asyncio.to_thread(self.evidence.check_room, conv_id)
            image = await asyncio.to_thread(clean_image, data, declared)
            item = await asyncio.to_thread(self.evidence.save, conv_id, image)
        except ImageRefused as refused:
            return _refuse(_STATUS.get(refused.code, 415), refused.code, refused.message)
        view = photo_view(self.tokens, item)
        # A note, not a shopper message: the model learns of photos from the request's facts,
        # and a message here could land between a pending tool call and its result.
        note = {"role": "system-note", "content": f"Shopper attached a photo ({item.id})",
                "photos": [view]}  # fmt: skip
        await self.conversations.acall(self.conversations.append, conv_id, "system-note", note)
        waiting, _ = await asyncio.to_thread(self.evidence.counts, conv_id)
        words = "photo" if waiting == 1 else "photos"
        return JSONResponse(
            {**view, "message": f"Photo received ({waiting} {words} attached so far).",
             "remaining": max(MAX_PER_RETURN - waiting, 0)},
            status_code=201,
        )  # fmt: skip

    async def thumbnail(self, request: Request) -> Response:
        item = await asyncio.to_thread(self.evidence.get, str(request.path_params["evidence_id"]))
        signature = str(request.path_params["signature"])
        if item is None or not hmac.compare_digest(
            self.tokens.thumbnail_signature(item), signature
        ):
            return _refuse(404, "not_found", "That photo is not here.")
        data = await asyncio.to_thread(self.evidence.read, item, thumbnail=True)
        return image_response(
            data, "image/png" if item.thumb_name.endswith(".png") else "image/jpeg"
        )


def image_response(data: bytes, content_type: str) -> Response:
    """Stored image bytes, served so a browser can only ever show them as an image."""
    return Response(data, media_type=content_type, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'", "Content-Disposition": "inline",
    })  # fmt: skip


def with_cors(request: Request, response: Response, allowed: list[str]) -> Response:
    """Let the store's own pages (an embedded widget) read the answer; others get none."""
    origin = request.headers.get("origin")
    if origin and origin_allowed(origin, request.headers.get("host"), allowed):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Authorization"
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Vary"] = "Origin"
    return response


def upload_routes(state: UploadState, evidence: EvidenceStore | None) -> list[BaseRoute]:
    if evidence is None:
        return []
    uploads = PhotoUploads(state, evidence)
    allowed = list(state.settings.allowed_origins)

    async def upload(request: Request) -> Response:
        if request.method == "OPTIONS":
            return with_cors(request, Response(status_code=204), allowed)
        return with_cors(request, await uploads.upload(request), allowed)

    return [
        Route(UPLOAD_PREFIX + "{conversation_id}", upload, methods=["POST", "OPTIONS"]),
        Route(UPLOAD_PREFIX + "{evidence_id}/{signature}", uploads.thumbnail, methods=["GET"]),
    ]


__all__ = [
    "UPLOAD_BODY_BYTES",
    "UPLOAD_PREFIX",
    "UploadTokens",
    "answer",
    "image_response",
    "issue_token",
    "photo_view",
    "tokens_for",
    "upload_routes",
]
