"""`/returns`: the return portal's routes. Plain forms, post-redirect-get, no JavaScript needed.

identify (order number + email, a signed identity, or an emailed code) → items (each line with the
policy's answer and fees, for the chosen reason) → review (nothing is created yet) → confirm (one
RMA however often it is clicked) → done (the RMA, its next step and the label link).
"""

from __future__ import annotations

from decimal import Decimal

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from actions import wording
from actions.policy import ReturnReason
from actions.workflow import RESOLUTIONS
from agent.app.state import AppState
from agent.chat.identity import verify_signature
from agent.portal.flow import Portal, PortalError
from agent.portal.pages import HERE, Pages
from agent.portal.photos import (
    MAX_PHOTOS,
    EvidencePhotos,
    PhotoIntake,
    PhotoRefused,
    photos_offered,
    photos_required,
)
from agent.portal.session import Draft, PortalSession, csrf_ok

RESOLUTION_WORDS = {"refund": "A refund", "replacement": "A replacement", "store_credit": "Store credit"}  # fmt: skip
BAD_SIGNATURE = "That sign-in link from the store's website isn't valid; please enter your order number and email instead."  # fmt: skip
NOT_YET = "Please enter your order number and email first."
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _field(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _reason(value: str | None) -> ReturnReason:
    try:
        return ReturnReason(value or ReturnReason.CHANGED_MIND)
    except ValueError:
        return ReturnReason.CHANGED_MIND


class PortalRoutes:
    def __init__(self, state: AppState, photos: PhotoIntake | None = None) -> None:
        self.state = state
        self.portal = Portal(state)
        self.pages = Pages(state.settings)
        evidence = state.services.evidence
        if photos is None and evidence is not None:
            photos = EvidencePhotos(evidence)
        self.photos = photos  # the image module's intake (actions/evidence)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/returns", self.index, methods=["GET"]),
            Route("/returns/identify", self.identify, methods=["POST"]),
            Route("/returns/code", self.code, methods=["POST"]),
            Route("/returns/signed", self.signed, methods=["POST"]),
            Route("/returns/order", self.order, methods=["POST"]),
            Route("/returns/items", self.items, methods=["GET"]),
            Route("/returns/items", self.choose, methods=["POST"]),
            Route("/returns/review", self.review, methods=["GET"]),
            Route("/returns/confirm", self.confirm, methods=["POST"]),
            Route("/returns/done", self.done, methods=["GET"]),
            Route("/returns/restart", self.restart, methods=["POST"]),
            Route("/returns/static/{name}", self.static, methods=["GET"]),
        ]

    # Sessions ---------------------------------------------------------------------------
    def _current(self, request: Request) -> PortalSession:
        session, expired = self.pages.session(request)
        if session is None:
            session = self.pages.codec.new()
            session.notice = self.pages.expired_words() if expired else None
        return session

    async def _posted(self, request: Request) -> tuple[PortalSession, FormData] | Response:
        """The session and form of a POST, or the answer to an expired session or forged form."""
        session, expired = self.pages.session(request)
        form = await request.form(max_files=MAX_PHOTOS, max_fields=120, max_part_size=MAX_PHOTO_BYTES)  # fmt: skip
        if session is None and expired:
            fresh = self.pages.codec.new()
            fresh.notice = self.pages.expired_words()
            return self.pages.redirect("/returns", fresh)
        if session is None or not csrf_ok(session, form.get("csrf")):
            return self.pages.forged()
        return session, form

    def _identify_page(self, session: PortalSession, error: str | None = None, **typed: str) -> Response:  # fmt: skip
        signed_only = self.state.settings.verification == "signed"
        status = 422 if error else 200
        return self.pages.render("portal_identify.jinja2", session, status=status, error=error,
                                 code_sent=session.code_sent, signed_only=signed_only, **typed)  # fmt: skip

    # Identify ---------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        session = self._current(request)
        email, signature = request.query_params.get("email"), request.query_params.get("signature")
        if email is not None or signature is not None:
            return await self._sign_in(session, email or "", signature or "")
        if session.email and session.order_id:
            return self.pages.redirect("/returns/items", session)
        if session.email and session.signed:
            orders = await self.portal.orders(session)
            return self.pages.render("portal_orders.jinja2", session, orders=orders, email=session.email)  # fmt: skip
        return self._identify_page(session)

    async def _sign_in(self, session: PortalSession, email: str, signature: str) -> Response:
        email = email.strip()[:320]
        if not verify_signature(email, signature[:200], self.state.settings.secret):
            return self._identify_page(self.pages.codec.new(), BAD_SIGNATURE)
        fresh = self.pages.codec.new()
        self.portal.signed_in(fresh, email)
        return self.pages.redirect("/returns", fresh)

    async def signed(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        return await self._sign_in(session, _field(form, "email", 320), _field(form, "signature", 200))  # fmt: skip

    async def identify(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        order_id, email = _field(form, "order_id", 64), _field(form, "email", 320)
        if not order_id or "@" not in email:
            error = "Please enter both your order number and the email address you ordered with."
            return self._identify_page(session, error, order_id=order_id, email=email)
        try:
            await self.portal.identify(session, order_id, email, _address(request))
        except PortalError as exc:
            return self._identify_page(session, exc.message, order_id=order_id, email=email)
        return self.pages.redirect("/returns/items", session)

    async def code(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        code = "".join(ch for ch in _field(form, "code", 12) if ch.isdigit())
        try:
            await self.portal.check_code(session, code, _address(request))
        except PortalError as exc:
            return self._identify_page(session, exc.message)
        return self.pages.redirect("/returns/items", session)

    async def order(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        if not (session.email and session.signed):
            session.notice = NOT_YET
            return self.pages.redirect("/returns", session)
        try:
            await self.portal.choose_order(session, _field(form, "order_id", 64))
        except PortalError as exc:
            orders = await self.portal.orders(session)
            return self.pages.render("portal_orders.jinja2", session, status=422, error=exc.message,
                                     orders=orders, email=session.email)  # fmt: skip
        return self.pages.redirect("/returns/items", session)

    # Items, review, confirm -------------------------------------------------------------
    async def items(self, request: Request) -> Response:
        session = self._current(request)
        if not (session.email and session.order_id):
            session.notice = session.notice or NOT_YET
            return self.pages.redirect("/returns", session)
        default = session.draft.reason if session.draft else None
        return await self._items_page(
            session, _reason(request.query_params.get("reason") or default)
        )

    async def _items_page(self, session: PortalSession, reason: ReturnReason, error: str | None = None) -> Response:  # fmt: skip
        try:
            result = await self.portal.eligibility(session, reason)
        except PortalError as exc:
            return self._identify_page(session, exc.message)
        order = await self.state.conversations.acall(self.state.services.store.find_order, result.order_id)  # fmt: skip
        return self.pages.render(
            "portal_items.jinja2", session, status=422 if error else 200, error=error,
            order_id=result.order_id, reason=reason.value, summary=result.message,
            lines=result.lines, any_eligible=any(ln.eligible for ln in result.lines),
            currency=order.currency if order else "USD",
            reasons=[(r.value, wording.return_reason(r.value).capitalize()) for r in ReturnReason],
            resolutions=[(r, RESOLUTION_WORDS[r]) for r in RESOLUTIONS],
            photos_required=photos_required(self.state.services.policy, reason.value),
            photos_offered=self.photos is not None
            and photos_offered(self.state.services.policy, reason.value),
            max_photos=MAX_PHOTOS,
        )  # fmt: skip

    async def choose(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        if not (session.email and session.order_id):
            session.notice = NOT_YET
            return self.pages.redirect("/returns", session)
        reason = _reason(_field(form, "reason", 40))
        resolution = _field(form, "resolution", 20)
        lines = {}
        for key, value in form.multi_items():
            if (
                key.startswith("qty:")
                and isinstance(value, str)
                and value.isdigit()
                and int(value) > 0
            ):
                lines[key[4:68]] = min(int(value), 1000)
        if not lines:
            return await self._items_page(
                session, reason, "Please choose at least one item to return."
            )
        if resolution not in RESOLUTIONS:
            return await self._items_page(session, reason, "Please choose a refund, a replacement or store credit.")  # fmt: skip
        try:
            photos = await self._photos(session, form, reason)
            draft = Draft(reason=reason.value, resolution=resolution, lines=lines, photos=photos)
            await self.portal.preview(session, draft)
        except (PortalError, PhotoRefused) as exc:
            return await self._items_page(session, reason, str(exc))
        session.draft, session.rma_id = draft, None
        return self.pages.redirect("/returns/review", session)

    async def _photos(self, session: PortalSession, form: FormData, reason: ReturnReason) -> list[str]:  # fmt: skip
        uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
        required = photos_required(self.state.services.policy, reason.value)
        if required and not uploads:
            raise PortalError(f"Please add at least one photo: {wording.return_reason(reason.value)} items need photos for our team.")  # fmt: skip
        if not uploads:
            return session.draft.photos if session.draft else []
        if self.photos is None:
            raise PortalError("We can't take photos here just now; please start this return in the chat instead.")  # fmt: skip
        if len(uploads) > MAX_PHOTOS:
            raise PhotoRefused(f"Please choose at most {MAX_PHOTOS} photos.")
        if session.conversation_id is None:  # photos wait under the visit's own conversation
            record = await self.state.conversations.acall(self.state.conversations.create, session.email)  # fmt: skip
            session.conversation_id = record.id
        ids = []
        for upload in uploads:
            data = await upload.read(MAX_PHOTO_BYTES + 1)
            if len(data) > MAX_PHOTO_BYTES:
                raise PhotoRefused(f"{upload.filename} is larger than 10 MB; please choose a smaller photo.")  # fmt: skip
            ids.append(await self.photos.accept(session.conversation_id, data, upload.content_type or ""))  # fmt: skip
        return ids

    async def review(self, request: Request) -> Response:
        session = self._current(request)
        draft = session.draft
        if not (session.email and session.order_id) or draft is None:
            return self.pages.redirect("/returns/items" if session.email else "/returns", session)
        try:
            lines = await self.portal.preview(session, draft)
        except PortalError as exc:
            return await self._items_page(session, _reason(draft.reason), exc.message)
        order = await self.state.conversations.acall(self.state.services.store.find_order, session.order_id)  # fmt: skip
        return self.pages.render(
            "portal_review.jinja2", session, order_id=session.order_id, lines=lines,
            currency=order.currency if order else "USD", key=draft.key, reason=draft.reason,
            reason_words=wording.return_reason(draft.reason),
            resolution_words=RESOLUTION_WORDS[draft.resolution].lower(),
            fees=sum((ln.restocking_fee + ln.return_shipping_fee for ln in lines), Decimal(0)),
            total=sum((ln.refund_amount for ln in lines), Decimal(0)),
            review=any(ln.review == "manual" for ln in lines), photos=len(draft.photos),
        )  # fmt: skip

    async def confirm(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        if session.draft is None or _field(form, "key", 32) != session.draft.key:
            return self.pages.redirect("/returns/done" if session.rma_id else "/returns/items", session)  # fmt: skip
        try:
            result = await self.portal.confirm(session)
        except PortalError as exc:
            return await self._items_page(session, _reason(session.draft.reason), exc.message)
        if self.photos is not None and session.draft.photos and session.conversation_id:
            await self.photos.attach(session.conversation_id, result.rma_id)
        label = await self.portal.label(session, result)
        session.rma_id, session.rma_message = result.rma_id, (label.message if label else result.message)[:600]  # fmt: skip
        return self.pages.redirect("/returns/done", session)

    async def done(self, request: Request) -> Response:
        session = self._current(request)
        rma = await self.state.conversations.acall(self.state.services.workflow.get, session.rma_id) if session.rma_id else None  # fmt: skip
        if rma is None or rma.customer_email != session.email:
            return self.pages.redirect("/returns", session)
        return self.pages.render(
            "portal_done.jinja2", session, rma_id=rma.id, message=session.rma_message,
            status_words=wording.return_status(rma.status), email=rma.customer_email,
            label_url=rma.label.url if rma.label else None,
            tracking=rma.label.tracking_number if rma.label else None,
        )  # fmt: skip

    async def restart(self, request: Request) -> Response:
        posted = await self._posted(request)
        if isinstance(posted, Response):
            return posted
        return self.pages.redirect("/returns", self.pages.codec.new())

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == "theme.css":
            return Response(self.pages.theme(), media_type="text/css")
        if name != "portal.css":
            return Response("Not found", status_code=404, media_type="text/plain")
        css = (HERE / "static" / "portal.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


def routes(state: AppState, photos: PhotoIntake | None = None) -> list[BaseRoute]:
    """The portal's routes, mounted by agent.app.server.build_app."""
    return PortalRoutes(state, photos).routes()


__all__ = ["PortalRoutes", "routes"]
