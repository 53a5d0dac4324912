"""`accept_image`: a shopper's photo in, a clean re-encoded image (and its thumbnail) out, or a
refusal in words.

Nothing a shopper uploads is kept as sent. The real type is sniffed from the bytes (the declared
type and the file name are only checked against it), the pixels are decoded by Pillow (pillow-heif
for HEIC) and written again as a new JPEG or PNG: EXIF, GPS, comments and anything appended to the
file do not survive, because only the pixels are copied. The pixel count is bounded twice: a file
whose header claims more than `MAX_INPUT_PIXELS` is refused before a single pixel is decoded (a
decompression bomb), and what is kept is downscaled to at most `MAX_SIDE` on its longest side.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

try:  # HEIC (iPhone photos); the shopper gets a clear "not supported" without it
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - pinned in pyproject
    HEIC_SUPPORTED = False

MAX_BYTES = 10 * 1024 * 1024  # per file, as sent
MAX_INPUT_PIXELS = 40_000_000  # a 40-megapixel phone photo decodes; a bomb's claimed size does not
MAX_SIDE = 2048  # longest side of the image kept (~4 megapixels at most)
THUMB_SIDE = 320
JPEG_QUALITY = 85

Kind = Literal["jpeg", "png", "webp", "heic"]
KIND_WORDS: dict[Kind, str] = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "heic": "HEIC"}
_DECLARED: dict[str, Kind] = {
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heic",
    "image/heic-sequence": "heic",
    "image/heif-sequence": "heic",
}
# Types a browser sends when it does not know (HEIC on most desktops): only the bytes decide then.
_UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
# Another format hiding inside the image: an archive, a document or markup a browser would run.
_FOREIGN = (b"PK\x03\x04", b"%PDF-", b"<script", b"<html", b"<svg", b"<?php", b"<!doctype")
ACCEPTED_WORDS = "JPEG, PNG, WebP or HEIC"


class ImageRefused(ValueError):
    """The upload is not a photo we keep; `message` says why in words a shopper reads."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    """What is kept: freshly encoded bytes only, never the original."""

    data: bytes
    content_type: str  # image/jpeg or image/png
    width: int
    height: int
    thumbnail: bytes
    thumbnail_type: str
    source_kind: Kind  # what the shopper sent (HEIC, WebP, …), for the record

    @property
    def extension(self) -> str:
        return ".png" if self.content_type == "image/png" else ".jpg"


def sniff(data: bytes) -> Kind | None:
    """The image type the bytes really are (by their signature), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return "heic"
    return None


def _check_declared(kind: Kind, declared_type: str | None) -> None:
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared in _UNKNOWN_TYPES:
        return
    claimed = _DECLARED.get(declared)
    if claimed is None:
        raise ImageRefused(
            "wrong_type", f"That file is sent as {declared[:60]}; please attach a photo "
            f"({ACCEPTED_WORDS}).",
        )  # fmt: skip
    if claimed != kind:
        raise ImageRefused(
            "wrong_type",
            f"That file says it is a {KIND_WORDS[claimed]} image but it is really a "
            f"{KIND_WORDS[kind]} one; please attach the photo itself.",
        )


def _trailing_bytes(data: bytes, kind: Kind) -> int:
    """How much follows the image's own end marker (where the format has one)."""
    if kind == "png":
        end = data.rfind(b"IEND")
        return len(data) - (end + 8) if end >= 0 else 0  # IEND + its 4-byte CRC
    if kind == "jpeg":
        end = data.rfind(b"\xff\xd9")
        return len(data) - (end + 2) if end >= 0 else 0
    if kind == "webp":
        declared = int.from_bytes(data[4:8], "little") + 8
        return max(len(data) - declared, 0)
    return 0


def _check_polyglot(data: bytes, kind: Kind) -> None:
    lowered = data.lower()
    if _trailing_bytes(data, kind) > 16 or any(sig.lower() in lowered for sig in _FOREIGN):
        raise ImageRefused(
            "not_a_photo",
            f"That file is a {KIND_WORDS[kind]} image with something else hidden inside it, so "
            "we can't keep it; please attach the photo straight from your camera or phone.",
        )


def _open(data: bytes, kind: Kind) -> Image.Image:
    """Open and fully decode, with the claimed size checked before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_INPUT_PIXELS:
                raise ImageRefused("too_many_pixels", _too_many_pixels(width, height))
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("too_many_pixels", _too_many_pixels(None, None)) from None
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError, … for broken files
        raise ImageRefused(
            "corrupt",
            f"That {KIND_WORDS[kind]} file is damaged or incomplete and can't be opened; "
            "please take or export the photo again.",
        ) from None
    return image


def _too_many_pixels(width: int | None, height: int | None) -> str:
    size = f" ({width} × {height} pixels)" if width and height else ""
    return (
        f"That image is far too large{size} to open safely; photos up to "
        f"{MAX_INPUT_PIXELS // 1_000_000} megapixels are accepted."
    )


def _pixels_only(image: Image.Image) -> Image.Image:
    """The upright pixels in a fresh image: no EXIF, GPS, ICC profile, comments or frames."""
    upright = ImageOps.exif_transpose(image) or image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    converted = upright.convert("RGBA" if has_alpha else "RGB")
    fresh = Image.new(converted.mode, converted.size)
    fresh.paste(converted)
    return fresh


def _encode(image: Image.Image) -> tuple[bytes, str]:
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"


def accept_image(data: bytes, declared_type: str | None) -> CleanImage:
    """Check, decode and re-encode one upload; raise ImageRefused (in words) when it is not kept."""
    if len(data) > MAX_BYTES:
        size = len(data) / (1024 * 1024)
        raise ImageRefused(
            "too_large",
            f"That file is {size:.1f} MB; photos can be at most {MAX_BYTES // (1024 * 1024)} MB "
            "each.",
        )
    if not data:
        raise ImageRefused("empty", "That file is empty; please attach a photo.")
    kind = sniff(data)
    if kind is None:
        raise ImageRefused(
            "wrong_type", f"That file is not a photo we can take; please attach a {ACCEPTED_WORDS} "
            "image.",
        )  # fmt: skip
    if kind == "heic" and not HEIC_SUPPORTED:  # pragma: no cover - pillow-heif is pinned
        raise ImageRefused("wrong_type", "HEIC photos can't be read here; please send a JPEG.")
    _check_declared(kind, declared_type)
    _check_polyglot(data, kind)
    decoded = _open(data, kind)
    try:
        image = _pixels_only(decoded)
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        kept, content_type = _encode(image)
        thumb = image.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        thumb_bytes, thumb_type = _encode(thumb)
    except Exception:  # an odd pixel format Pillow decodes but cannot convert (16-bit, …)
        raise ImageRefused(
            "unreadable",
            f"That {KIND_WORDS[kind]} photo is in a form we can't convert; please save or export "
            "it as an ordinary JPEG and attach it again.",
        ) from None
    return CleanImage(
        data=kept,
        content_type=content_type,
        width=image.width,
        height=image.height,
        thumbnail=thumb_bytes,
        thumbnail_type=thumb_type,
        source_kind=kind,
    )


__all__ = [
    "ACCEPTED_WORDS",
    "MAX_BYTES",
    "MAX_INPUT_PIXELS",
    "MAX_SIDE",
    "CleanImage",
    "ImageRefused",
    "accept_image",
    "sniff",
]
