"""Draws a 4×6 inch shipping label (288×432 pt) with a Code128 barcode of the tracking number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from reportlab.graphics.barcode import code128
from reportlab.lib.units import inch
from reportlab.lib.utils import TimeStamp
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = 4 * inch, 6 * inch
MARGIN = 0.2 * inch


def draw_label(
    path: Path,
    *,
    tracking_number: str,
    rma_id: str,
    order_id: str,
    ship_from: Sequence[str],
    ship_to: Sequence[str],
    items: Sequence[tuple[str, int]],
    created: datetime,
) -> None:
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    c._doc._timeStamp = _timestamp(created)
    c.setTitle(f"Return label {tracking_number}")
    c.setAuthor("shopdesk local carrier")
    top = HEIGHT - MARGIN

    c.setFont("Helvetica-Bold", 14)
    c.drawString(MARGIN, top - 14, "RETURN — PREPAID")
    c.setFont("Helvetica", 8)
    c.drawRightString(WIDTH - MARGIN, top - 12, created.strftime("%Y-%m-%d"))
    c.line(MARGIN, top - 22, WIDTH - MARGIN, top - 22)

    y = _block(c, "FROM", ship_from, top - 36, size=9)
    c.line(MARGIN, y - 4, WIDTH - MARGIN, y - 4)
    y = _block(c, "SHIP TO", ship_to, y - 18, size=13)
    c.line(MARGIN, y - 6, WIDTH - MARGIN, y - 6)

    c.setFont("Helvetica-Bold", 11)
    c.drawString(MARGIN, y - 24, f"RMA {rma_id}")
    c.setFont("Helvetica", 9)
    c.drawString(MARGIN, y - 38, f"Order {order_id}")
    listed = ", ".join(f"{qty} × {sku}" for sku, qty in items)[:70]
    c.drawString(MARGIN, y - 50, f"Contents: {listed}")

    # Barcode across the bottom, human-readable number beneath (scanners read the bars).
    barcode = code128.Code128(
        tracking_number, barHeight=1.1 * inch, barWidth=1.3, humanReadable=False
    )
    bx = max(MARGIN, (WIDTH - barcode.width) / 2)
    barcode.drawOn(c, bx, MARGIN + 30)
    c.setFont("Courier-Bold", 14)
    c.drawCentredString(WIDTH / 2, MARGIN + 12, tracking_number)
    c.showPage()
    c.save()


def _timestamp(created: datetime) -> TimeStamp:
    """The PDF's CreationDate/ModDate from the product's clock: reportlab would read the wall
    clock, and a label made under a pinned clock would then say two different dates."""
    stamp = TimeStamp(invariant=True)
    utc = created.astimezone(UTC)
    stamp.t = utc.timestamp()
    stamp.lt = tuple(utc.timetuple())
    stamp.YMDhms = stamp.lt[:6]
    stamp.dhh = stamp.dmm = 0
    stamp.tzname = "UTC"
    return stamp


def _block(c: canvas.Canvas, title: str, lines: Sequence[str], y: float, *, size: int) -> float:
    c.setFont("Helvetica-Bold", 7)
    c.drawString(MARGIN, y, title)
    c.setFont("Helvetica-Bold" if size > 10 else "Helvetica", size)
    for line in lines:
        y -= size + 3
        c.drawString(MARGIN + 6, y, str(line)[:48])
    return y


def _barcode(value: str) -> code128.Code128:
    """The widest bars (easiest to scan) that still fit between the margins, quiet zones included."""
    for bar_width in (1.6, 1.4, 1.2, 1.0, 0.8):
        barcode = code128.Code128(
            value, barHeight=1.1 * inch, barWidth=bar_width, humanReadable=False
        )
        if barcode.width <= WIDTH - 2 * MARGIN:
            break
    return barcode
