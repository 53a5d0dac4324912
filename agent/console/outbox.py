"""`/console/outbox`: every email the store sent or will send — recipient, subject, what it is
about, sent / waiting / bounced — and a view of each message as it went out (the HTML part in a
sandboxed frame). With the embedded .eml transport this is how a store sees what would be sent.

Also the after-hours follow-up: a person's reply in a conversation whose shopper left an email
while the team was away, and has no widget open now, goes to that address.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from actions.email import EmailEvent
from agent.console.inbox import InboxItem
from agent.console.staff import StaffSession

if TYPE_CHECKING:
    from actions.email import EmailOutbox
    from agent.console.app import Console

MAX_PAGE = 300


def _parts(message: EmailMessage) -> dict[str, Any]:
    """The headers, the text and HTML parts and the attachments' names, for the page."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = [
        {"name": part.get_filename() or "attachment", "type": part.get_content_type(),
         "size": len(part.get_payload(decode=True) or b"")}
        for part in message.iter_attachments()
    ]  # fmt: skip
    headers = [(k, str(message[k])) for k in ("From", "To", "Subject", "Date", "Message-ID")]
    return {
        "headers": [(k, v) for k, v in headers if v and v != "None"],
        "text": text.get_content() if isinstance(text, EmailMessage) else "",
        "html": html.get_content() if isinstance(html, EmailMessage) else "",
        "attachments": attachments,
    }


async def email_reply_if_away(
    console: Console, item: InboxItem, staff_name: str, text: str
) -> bool:
    """Queue the reply to the follow-up address when the shopper is not in the chat to read it."""
    if not item.follow_up_email:
        return False
    session = console.state.sessions.sessions.get(item.id)
    if session is not None and session.sockets:
        return False  # they are looking at the widget: the reply reached them there
    outbox = console.state.services.email
    if outbox is None:
        return False
    context = {"staff_name": staff_name, "text": text, "conversation_id": item.id}
    queued = await asyncio.to_thread(
        outbox.enqueue_now, EmailEvent.AGENT_REPLY, item.follow_up_email, context,
        conversation_id=item.id,
    )  # fmt: skip
    return queued is not None


def routes(console: Console) -> list[BaseRoute]:
    def outbox() -> EmailOutbox | None:
        return console.state.services.email

    async def page(request: Request, staff: StaffSession) -> Response:
        box = outbox()
        items = await asyncio.to_thread(box.messages, MAX_PAGE) if box is not None else []
        transport = box.transport.name if box is not None else "none"
        return console.render(
            "console_outbox.jinja2", staff=staff, section="outbox", items=items,
            transport=transport,
        )  # fmt: skip

    async def view(request: Request, staff: StaffSession) -> Response:
        box = outbox()
        found = (
            await asyncio.to_thread(box.message, request.path_params["message_id"]) if box else None
        )
        if found is None:
            return console.render("console_missing.jinja2", code=404, staff=staff, section="outbox")
        item, message = found
        parts = _parts(message) if message is not None else None
        return console.render(
            "console_outbox_message.jinja2", staff=staff, section="outbox", item=item, parts=parts
        )

    return [
        Route("/console/outbox", console.page(page), methods=["GET"]),
        Route("/console/outbox/{message_id}", console.page(view), methods=["GET"]),
    ]


__all__ = ["email_reply_if_away", "routes"]
