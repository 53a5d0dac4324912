"""Rendering the portal's pages and carrying its session: jinja2 (autoescaped), the signed cookie,
and the redirects of post-redirect-get."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from actions.policy import format_money, money
from agent.app.settings import Settings
from agent.portal.session import COOKIE, PortalSession, SessionCodec

HERE = Path(__file__).resolve().parent
EXPIRED = (
    "Your return session ended because it was open longer than {minutes}. Nothing was created; "
    "please enter your order number and email again."
)
FORGED = (
    "This form has run out or did not come from this page, so nothing was changed. Please start "
    "the return again."
)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "jinja2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda value, currency: format_money(
        money(Decimal(str(value))), currency
    )
    return env


def accent_ink(colour: str) -> str:
    """Dark text on a pale store colour, white on a deep one (the widget's rule)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#1f2328" if (0.299 * r + 0.587 * g + 0.114 * b) > 160 else "#ffffff"


def minutes_words(minutes: float) -> str:
    whole = round(minutes)
    if whole % 60 == 0:
        hours = whole // 60
        return "an hour" if hours == 1 else f"{hours} hours"
    return "a minute" if whole == 1 else f"{whole} minutes"


class Pages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = _env()
        self.codec = SessionCodec(settings.secret, settings.clock, settings.portal_session_minutes)
        self.secure = settings.resolved_public_url.startswith("https://")

    def expired_words(self) -> str:
        return EXPIRED.format(minutes=minutes_words(self.settings.portal_session_minutes))

    def session(self, request: Request) -> tuple[PortalSession | None, bool]:
        return self.codec.read(request.cookies.get(COOKIE))

    def render(
        self,
        name: str,
        session: PortalSession | None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        notice = None
        if session is not None:
            notice, session.notice = session.notice, None
        page = self.env.get_template(name).render(
            store_name=self.settings.store_name,
            csrf=session.csrf if session else None,
            notice=notice,
            **context,
        )
        response = HTMLResponse(page, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'"
        )
        if session is not None:
            self.keep(response, session)
        return response

    def redirect(self, path: str, session: PortalSession | None) -> Response:
        response = RedirectResponse(path, status_code=303)
        if session is not None:
            self.keep(response, session)
        return response

    def keep(self, response: Response, session: PortalSession) -> None:
        response.set_cookie(
            COOKIE,
            self.codec.dump(session),
            max_age=int(self.settings.portal_session_minutes * 60) + 60,
            path="/returns",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def theme(self) -> str:
        colour = self.settings.portal_colour  # a checked #rrggbb (settings)
        return f":root {{ --accent: {colour}; --accent-ink: {accent_ink(colour)}; }}\n"

    def forged(self) -> Response:
        """A POST without this session's CSRF token: refused in words, nothing changed."""
        fresh = self.codec.new()
        return self.render("portal_refused.jinja2", fresh, status=403, error=FORGED)


__all__ = ["EXPIRED", "FORGED", "Pages", "accent_ink", "minutes_words"]
