"""HTTP routes of the widget: the demo store page at `/`, and `/widget.js` + `/widget.css`.

The script is served with its stylesheet inlined (one request, no flash of unstyled widget), gzipped
when the browser accepts it, with an ETag so repeat visits cost a 304. It carries a permissive CORS
header: any page may load the script; whether it may *talk* to the server is the websocket's origin
check (settings.allowed_origins), not this file's.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
CSS_PLACEHOLDER = "/*__SHOPDESK_CSS__*/ null"

# Short max-age: the URL is not versioned, so a store picks up a new widget within minutes; the ETag
# makes every revalidation after that a 304.
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"


@dataclass(frozen=True)
class DemoShopper:
    """The shopper the demo page can sign in as (a customer in examples/demo-store/orders.json)."""

    name: str
    email: str


DEMO_SHOPPER = DemoShopper(name="Maya Chen", email="maya.chen@example.com")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


def _asset(body: bytes, media_type: str) -> Asset:
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), etag, media_type)


def load_assets() -> dict[str, Asset]:
    """widget.js (with widget.css inlined at its placeholder) and widget.css, ready to serve."""
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    if CSS_PLACEHOLDER not in js:
        raise RuntimeError("widget.js lost its CSS placeholder")
    js = js.replace(CSS_PLACEHOLDER, json.dumps(css), 1)
    return {
        "widget.js": _asset(js.encode("utf-8"), "text/javascript; charset=utf-8"),
        "widget.css": _asset(css.encode("utf-8"), "text/css; charset=utf-8"),
    }


def _serve(asset: Asset, request: Request) -> Response:
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _sign(email: str, secret: str) -> str:
    from agent.chat.identity import sign_email  # the server's scheme, so the page and /ws agree

    return sign_email(email, secret)


def routes(settings: Any) -> list[BaseRoute]:
    """The widget's routes, mounted by agent.app.server.build_app."""
    assets = load_assets()
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "jinja2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    store = env.get_template("store.jinja2")

    async def widget_js(request: Request) -> Response:
        return _serve(assets["widget.js"], request)

    async def widget_css(request: Request) -> Response:
        return _serve(assets["widget.css"], request)

    async def store_page(request: Request) -> Response:
        signed_in = request.query_params.get("as") == "shopper"
        # The signing page signs a shopper with the store's own secret: with a real secret that
        # signature is a real credential, so it exists only in demo mode (settings.demo_mode).
        demo = bool(settings.demo_mode)
        if signed_in and not demo:
            return HTMLResponse(
                "<!doctype html><title>Not found</title><p>The demo sign-in exists only in demo "
                "mode (the demo store's data and no SHOPDESK_SECRET set).</p>",
                status_code=404,
                headers={"Cache-Control": "no-store"},
            )
        # Behind a proxy the page must name the public address, not the one uvicorn was reached on.
        base = settings.resolved_public_url if settings.public_url else str(request.base_url).rstrip("/")  # fmt: skip
        html = store.render(
            store_name=settings.store_name,
            base=base,
            demo=demo,
            shopper=DEMO_SHOPPER if signed_in else None,
            signature=_sign(DEMO_SHOPPER.email, settings.secret) if signed_in else None,
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    return [
        Route("/", store_page, methods=["GET"], name="store"),
        Route("/widget.js", widget_js, methods=["GET", "HEAD"], name="widget_js"),
        Route("/widget.css", widget_css, methods=["GET", "HEAD"], name="widget_css"),
    ]


__all__ = ["DEMO_SHOPPER", "DemoShopper", "load_assets", "routes"]
