"""CSV downloads for the console (leads, insights tables): one response shape, spreadsheet-safe.

A cell that starts with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel and
LibreOffice; shopper-typed text (a question, an email) must never run as one, so such cells get a
leading apostrophe (OWASP "CSV injection"). Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A download named `filename` (sanitised), UTF-8 with a BOM so Excel reads accents right."""
    name = _SAFE_NAME.sub("-", filename).strip("-") or "export.csv"
    if not name.endswith(".csv"):
        name += ".csv"
    body = "\ufeff" + csv_text(header, rows)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


__all__ = ["csv_response", "csv_text", "safe_cell"]
