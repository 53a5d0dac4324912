"""Draws a 4×6 inch return label (288×432 pt): FROM, SHIP TO, contents and a Code128 barcode.

Everything stays inside the 0.2 inch margins whatever the data: lines wrap (or shrink to a legible
minimum), the contents list ends with "+ N more" when it would run into the barcode, and the
barcode's bar width is chosen so any tracking number of up to 30 characters fits with its quiet
zones (10 modules each side, the Code 128 minimum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reportlab.graphics.barcode import code128
from reportlab.lib.units import inch
from reportlab.lib.utils import TimeStamp, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = 4 * inch, 6 * inch
MARGIN = 0.2 * inch
INNER = WIDTH - 2 * MARGIN
MAX_TRACKING = 30
BAR_HEIGHT = 1.1 * inch
BARCODE_BOTTOM = MARGIN + 30  # room beneath for the human-readable number
QUIET_MODULES = 10
MAX_BAR_WIDTH = 1.6  # wider bars scan more easily; no need to go wider than this
WRITE_IN_LINES = 4  # ruled lines for an address the store does not know


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, origin bottom-left."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class LabelLayout:
    """Where the barcode went (bars and quiet zones), for callers that check the print."""

    barcode: Box
    bar_width: float


def draw_label(
    path: Path,
    *,
    tracking_number: str,
    rma_id: str,
    order_id: str,
    ship_from: Sequence[str] | None,
    ship_to: Sequence[str],
    items: Sequence[tuple[str, int]],
    created: datetime,
    sender_name: str = "",
) -> LabelLayout:
    """Write the label PDF to `path`. `ship_from` is the shopper's address, one line each (None:
    leave ruled lines to write it in, under `sender_name`); `items` are (product name, quantity)."""
    barcode = fit_barcode(tracking_number)
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    c._doc._timeStamp = _timestamp(created)
    c.setTitle(f"Return label {tracking_number} for {rma_id}")
    c.setAuthor("shopdesk local carrier")
    top = HEIGHT - MARGIN

    c.setFont("Helvetica-Bold", 14)
    c.drawString(MARGIN, top - 14, "RETURN — PREPAID")
    c.setFont("Helvetica", 8)
    c.drawRightString(WIDTH - MARGIN, top - 12, created.strftime("%Y-%m-%d"))
    c.line(MARGIN, top - 22, WIDTH - MARGIN, top - 22)

    if ship_from:
        y = _block(c, "FROM", ship_from, top - 36, size=9)
    else:
        y = _write_in(c, sender_name, top - 36)
    c.line(MARGIN, y - 6, WIDTH - MARGIN, y - 6)
    y = _block(c, "SHIP TO", ship_to, y - 20, size=13)
    c.line(MARGIN, y - 6, WIDTH - MARGIN, y - 6)

    c.setFont("Helvetica-Bold", 11)
    c.drawString(MARGIN, y - 22, f"Return {rma_id}")
    c.setFont("Helvetica", 9)
    c.drawRightString(WIDTH - MARGIN, y - 22, f"Order {order_id}")
    _contents(c, items, y - 38, floor=BARCODE_BOTTOM + BAR_HEIGHT + 8)

    x = (WIDTH - barcode.width) / 2
    barcode.drawOn(c, x, BARCODE_BOTTOM)
    size = _fitting_size(tracking_number, "Courier-Bold", 14, INNER, minimum=8)
    c.setFont("Courier-Bold", size)
    c.drawCentredString(WIDTH / 2, MARGIN + 12, tracking_number)
    c.showPage()
    c.save()
    box = Box(x, BARCODE_BOTTOM, x + barcode.width, BARCODE_BOTTOM + BAR_HEIGHT)
    return LabelLayout(barcode=box, bar_width=barcode.barWidth)


def fit_barcode(value: str) -> code128.Code128:
    """The widest bars (easiest to scan) that still fit between the margins, quiet zones included.
    Bar width scales the whole symbol, so one measurement at width 1 gives the answer."""
    if not 1 <= len(value) <= MAX_TRACKING or not all(32 < ord(ch) < 127 for ch in value):
        raise ValueError(
            f"a tracking number must be 1–{MAX_TRACKING} printable ASCII characters: {value!r}"
        )
    unit = _code128(value, 1.0)
    bar_width = min(MAX_BAR_WIDTH, int(INNER / unit.width * 1000) / 1000)
    return _code128(value, bar_width)


def _code128(value: str, bar_width: float) -> code128.Code128:
    quiet = QUIET_MODULES * bar_width
    return code128.Code128(
        value, barHeight=BAR_HEIGHT, barWidth=bar_width, humanReadable=False,
        lquiet=quiet, rquiet=quiet,
    )  # fmt: skip


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


def _fitting_size(text: str, font: str, size: float, width: float, *, minimum: float) -> float:
    while size > minimum and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _block(c: canvas.Canvas, title: str, lines: Sequence[str], y: float, *, size: int) -> float:
    """A titled address block; a line too long for the label wraps rather than being cut off."""
    c.setFont("Helvetica-Bold", 7)
    c.drawString(MARGIN, y, title)
    font = "Helvetica-Bold" if size > 10 else "Helvetica"
    c.setFont(font, size)
    for line in lines:
        for part in simpleSplit(str(line), font, size, INNER - 6):
            y -= size + 3
            c.drawString(MARGIN + 6, y, part)
    return y


def _write_in(c: canvas.Canvas, name: str, y: float) -> float:
    """No address on the order: ruled lines and a request to write it in by hand."""
    c.setFont("Helvetica-Bold", 7)
    c.drawString(MARGIN, y, "FROM")
    c.setFont("Helvetica-Oblique", 7)
    c.drawRightString(WIDTH - MARGIN, y, "Please write your name and address here")
    c.setFont("Helvetica", 9)
    if name:
        y -= 12
        c.drawString(MARGIN + 6, y, simpleSplit(name, "Helvetica", 9, INNER - 6)[0])
    c.setLineWidth(0.5)
    for _ in range(WRITE_IN_LINES):
        y -= 16
        c.line(MARGIN + 6, y, WIDTH - MARGIN, y)
    c.setLineWidth(1)
    return y - 4


def _contents(
    c: canvas.Canvas, items: Sequence[tuple[str, int]], y: float, *, floor: float
) -> None:
    """Each product with its quantity under "Contents:", down to `floor`; items that do not fit
    are counted on a last line instead of running into the barcode."""
    size, step = 8.5, 11
    c.setFont("Helvetica-Bold", size)
    c.drawString(MARGIN, y, "Contents:")
    c.setFont("Helvetica", size)
    room = max(1, int((y - floor) // step))
    groups = [_item_lines(f"{qty} × {name}", size) for name, qty in items]
    rows: list[str] = []
    for index, group in enumerate(groups):
        left = len(groups) - index
        if len(rows) + len(group) + (1 if left > 1 else 0) > room:
            rows.append(f"+ {left} more item{'s' if left > 1 else ''}")
            break
        rows += group
    for row in rows:
        y -= step
        c.drawString(MARGIN + 6, y, row)


def _item_lines(text: str, size: float) -> list[str]:
    parts = simpleSplit(text, "Helvetica", size, INNER - 18)
    return [parts[0], *("    " + p for p in parts[1:])] if parts else []
