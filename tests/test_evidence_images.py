"""The image module rule by rule: what a shopper's photo becomes, and what is refused in words."""

from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from actions.clock import Clock
from actions.evidence import EvidenceStore, ImageRefused, accept_image
from actions.evidence.images import MAX_BYTES, MAX_SIDE, sniff
from actions.store.orders import OrderStore

pillow_heif.register_heif_opener()
GPS_IFD = 0x8825
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def photo(fmt: str, size: tuple[int, int] = (640, 480), *, exif: bool = True) -> bytes:
    image = Image.new("RGB", size, (200, 60, 40))
    for x in range(0, size[0], 16):  # some detail, so it is not a flat colour
        image.putpixel((x, x % size[1]), (10, 200, 30))
    out = io.BytesIO()
    kwargs: dict[str, object] = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x0132] = "2026:03:01 10:00:00"
        tags.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
        kwargs["exif"] = tags.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header claims 900 megapixels of zeros (a decompression bomb)."""
    raw = zlib.compress(b"\x00" * (width // 8 + 1) * 64, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def reopened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "declared", "kind"),
    [
        ("JPEG", "image/jpeg", "jpeg"),
        ("PNG", "image/png", "png"),
        ("WEBP", "image/webp", "webp"),
        ("HEIF", "image/heic", "heic"),
    ],
)
def test_each_photo_type_is_kept_as_a_fresh_image_without_exif_or_gps(
    fmt: str, declared: str, kind: str
) -> None:
    original = photo(fmt)
    assert sniff(original) == kind
    clean = accept_image(original, declared)
    assert clean.source_kind == kind
    assert clean.data != original
    kept = reopened(clean.data)
    assert kept.format in ("JPEG", "PNG")
    assert (kept.width, kept.height) == (640, 480)
    assert len(kept.getexif()) == 0 and GPS_IFD not in kept.getexif()
    assert b"PhoneMaker" not in clean.data and b"PhoneMaker" not in clean.thumbnail
    assert max(reopened(clean.thumbnail).size) <= 320


def test_heic_from_a_phone_is_accepted_when_the_browser_sends_no_type() -> None:
    clean = accept_image(photo("HEIF"), "")
    assert reopened(clean.data).format == "JPEG"


def test_a_transparent_png_stays_a_png() -> None:
    image = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    clean = accept_image(out.getvalue(), "image/png")
    assert clean.content_type == "image/png" and reopened(clean.data).mode == "RGBA"


def test_a_big_photo_is_downscaled_to_the_pixel_bound() -> None:
    clean = accept_image(photo("JPEG", (4000, 3000), exif=False), "image/jpeg")
    assert max(clean.width, clean.height) == MAX_SIDE
    assert reopened(clean.data).size == (clean.width, clean.height)


def test_a_sideways_phone_photo_is_turned_upright_before_its_exif_is_dropped() -> None:
    image = Image.new("RGB", (300, 100), (1, 2, 3))
    tags = Image.Exif()
    tags[0x0112] = 6  # "rotate 90° clockwise to view"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=tags.tobytes())
    clean = accept_image(out.getvalue(), "image/jpeg")
    assert (clean.width, clean.height) == (100, 300)


@pytest.mark.parametrize(
    ("tail", "what"),
    [
        (b"PK\x03\x04" + b"\x00" * 40 + b"evil.js", "a zip"),
        (b"<script>alert(document.cookie)</script>", "a script"),
    ],
)
def test_a_polyglot_is_refused(tail: bytes, what: str) -> None:
    with pytest.raises(ImageRefused) as refused:
        accept_image(photo("JPEG") + tail, "image/jpeg")
    assert refused.value.code == "not_a_photo", what
    assert "something else hidden inside it" in refused.value.message


def test_a_script_hidden_in_a_png_comment_is_refused() -> None:
    image = Image.new("RGB", (20, 20))
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "<html><script>alert(1)</script></html>")
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    with pytest.raises(ImageRefused, match="hidden inside"):
        accept_image(out.getvalue(), "image/png")


def test_a_file_that_is_not_an_image_is_refused_in_words() -> None:
    with pytest.raises(ImageRefused) as refused:
        accept_image(b"%PDF-1.7 not a photo at all", "image/jpeg")
    assert refused.value.code == "wrong_type"
    assert "JPEG, PNG, WebP or HEIC" in refused.value.message


def test_a_png_sent_as_a_jpeg_is_refused() -> None:
    with pytest.raises(ImageRefused, match="says it is a JPEG image but it is really a PNG"):
        accept_image(photo("PNG"), "image/jpeg")


def test_an_svg_declared_type_is_refused() -> None:
    with pytest.raises(ImageRefused, match="image/svg"):
        accept_image(photo("PNG"), "image/svg+xml")


def test_an_oversized_file_is_refused_before_it_is_read() -> None:
    with pytest.raises(ImageRefused) as refused:
        accept_image(photo("JPEG") + b"\x00" * MAX_BYTES, "image/jpeg")
    assert refused.value.code == "too_large"
    assert "at most 10 MB" in refused.value.message


def test_a_decompression_bomb_is_refused_without_decoding_it() -> None:
    bomb = png_bomb()  # beyond even Pillow's own bomb limit
    assert len(bomb) < 100_000
    with pytest.raises(ImageRefused) as refused:
        accept_image(bomb, "image/png")
    assert refused.value.code == "too_many_pixels"
    assert "far too large to open safely" in refused.value.message


def test_an_image_over_the_pixel_bound_is_refused_with_its_size() -> None:
    with pytest.raises(ImageRefused) as refused:
        accept_image(png_bomb(9000, 9000), "image/png")  # 81 MP: under Pillow's limit, over ours
    assert refused.value.code == "too_many_pixels"
    assert "9000 × 9000 pixels" in refused.value.message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_a_truncated_photo_is_refused_as_damaged(fmt: str) -> None:
    whole = photo(fmt, exif=False)
    with pytest.raises(ImageRefused) as refused:
        accept_image(whole[: len(whole) // 2], None)
    assert refused.value.code == "corrupt"
    assert "damaged or incomplete" in refused.value.message


def _evidence(tmp_path: Path) -> EvidenceStore:
    store = OrderStore(f"sqlite:///{tmp_path / 'shop.db'}")
    store.migrate()
    return EvidenceStore(store, tmp_path / "evidence", Clock(NOW, frozen=True))


def test_a_kept_photo_is_stored_under_random_names_with_the_clock_time(tmp_path: Path) -> None:
    evidence = _evidence(tmp_path)
    original = photo("JPEG")
    item = evidence.save("conv-1", accept_image(original, "image/jpeg"))
    files = sorted(p.name for p in (tmp_path / "evidence").iterdir())
    assert sorted([item.file_name, item.thumb_name]) == files
    assert all(len(Path(name).stem) >= 32 for name in files)
    assert item.created_at == NOW and item.rma_id is None
    assert all((tmp_path / "evidence" / n).read_bytes() != original for n in files)
    assert evidence.thumbnail_for("conv-2", item.id) is None  # another conversation sees nothing
    found = evidence.thumbnail_for("conv-1", item.id)
    assert found is not None and reopened(found[1]).size[0] <= 320


def test_nothing_is_stored_when_a_photo_is_refused(tmp_path: Path) -> None:
    evidence = _evidence(tmp_path)
    for bad in (png_bomb(), photo("JPEG") + b"<script>", b"GIF89a....", photo("PNG")[:200]):
        with pytest.raises(ImageRefused):
            evidence.save("conv-1", accept_image(bad, None))
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").iterdir())
    assert evidence.counts("conv-1") == (0, 0)


def test_a_return_carries_at_most_five_photos(tmp_path: Path) -> None:
    evidence = _evidence(tmp_path)
    clean = accept_image(photo("JPEG", (64, 64)), "image/jpeg")
    for _ in range(5):
        evidence.save("conv-1", clean)
    with pytest.raises(ImageRefused, match="already attached 5 photos"):
        evidence.save("conv-1", clean)
    assert len(list((tmp_path / "evidence").iterdir())) == 10
    assert evidence.counts("conv-1") == (5, 5)
