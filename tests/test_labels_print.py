"""A label a carrier would take: the barcode decodes (zbarimg on the page rendered by pdftoppm)
and stays inside the margins for tracking numbers up to 30 characters; FROM is the shopper's
address, or ruled lines to write it in; contents are product names; SHIP TO is the store's
configured returns address."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from actions.labelpdf import HEIGHT, MARGIN, WIDTH, LabelLayout, draw_label
from actions.policy import evaluate_line
from actions.services import ActionServices, build_services
from actions.store.rma import ReturnAuthorization
from agent.app.services import open_services
from agent.app.settings import SettingsError, load_settings

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
DPI = 200
SCALE = DPI / 72  # pixels per point
TRACKING = {
    10: "WKR0424242",
    18: "1Z999AA10123456784",  # the number that overran the margin at a fixed bar width
    30: "1ZX9W8V7U6T5S4R3Q2P1N0M9L8K7J6",
}
RETURNS = ("Willow & Kiln Returns", "118 Foundry Lane, Unit 4", "Hudson, NY 12534", "United States")


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[ActionServices]:
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test:8000/", clock=lambda: NOW,
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    yield svc
    svc.close()


def _rma(svc: ActionServices, order_id: str, skus: dict[str, int]) -> ReturnAuthorization:
    order = svc.store.find_order(order_id)
    assert order is not None
    lines = [
        evaluate_line(order, order.line(sku), qty, "changed_mind", svc.policy, NOW)  # type: ignore[arg-type]
        for sku, qty in skus.items()
    ]
    assert all(line.eligible for line in lines), [line.message for line in lines]
    return svc.workflow.create_authorization(order, lines, "changed_mind", "refund", "k", None)


def _png(pdf: Path) -> Path:
    stem = pdf.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", str(pdf), str(stem)], check=True
    )
    return stem.with_suffix(".png")


def _decode(png: Path) -> str:
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _text(pdf: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def _ink_box(png: Path) -> tuple[int, int, int, int]:
    """The bounding box (left, top, right, bottom, in pixels) of everything printed dark."""
    image = Image.open(png).convert("L").point(lambda v: 255 if v < 128 else 0)
    box = image.getbbox()
    assert box is not None, "a blank page"
    return box


def _horizontal_rules(png: Path) -> int:
    """Lines drawn across most of the label's width (separators and write-in lines)."""
    image = Image.open(png).convert("L")
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    rules, previous = 0, False
    for y in range(height):
        dark = sum(1 for x in range(0, width, 2) if pixels[x, y] < 128)  # type: ignore[operator]
        is_rule = dark * 2 > 0.8 * (width - 2 * MARGIN * SCALE)
        rules += int(is_rule and not previous)
        previous = is_rule
    return rules


def _draw(tmp_path: Path, tracking: str, **over: object) -> tuple[Path, LabelLayout]:
    pdf = tmp_path / f"label-{tracking}.pdf"
    fields: dict[str, object] = {
        "tracking_number": tracking, "rma_id": "RMA-7F3K2Q", "order_id": "WK-1001",
        "ship_from": ("Maya Chen", "41 Linden Street", "Apt 3B", "Hudson, NY 12534", "United States"),
        "ship_to": RETURNS, "items": [("Sage speckled stoneware mug", 2)], "created": NOW,
    }  # fmt: skip
    fields.update(over)
    layout = draw_label(pdf, **fields)  # type: ignore[arg-type]
    return pdf, layout


@pytest.mark.parametrize("length", sorted(TRACKING))
def test_barcode_scans_as_the_tracking_number_and_stays_inside_the_margins(
    tmp_path: Path, length: int, screenshot_dir: Path
) -> None:
    tracking = TRACKING[length]
    assert len(tracking) == length
    pdf, layout = _draw(tmp_path, tracking)
    png = _png(pdf)
    assert _decode(png) == tracking
    # The page as scanned (`make screenshots` keeps them in docs/labels for README).
    (screenshot_dir / "labels").mkdir(exist_ok=True)
    shutil.copy(png, screenshot_dir / "labels" / f"label-{length}-characters.png")

    # As drawn: bars and quiet zones between the margins.
    box = layout.barcode
    assert MARGIN - 0.01 <= box.x0 and box.x1 <= WIDTH - MARGIN + 0.01, box
    assert MARGIN <= box.y0 and box.y1 <= HEIGHT - MARGIN
    # As printed: no ink in the margins anywhere on the page, and the bars' ink within the box.
    left, top, right, bottom = _ink_box(png)
    inside = MARGIN * SCALE - 1
    assert left >= inside and top >= inside, (left, top)
    assert right <= (WIDTH - MARGIN) * SCALE + 1 and bottom <= (HEIGHT - MARGIN) * SCALE + 1
    band = Image.open(png).convert("L").crop(
        (0, round((HEIGHT - box.y1) * SCALE) + 2, round(WIDTH * SCALE), round((HEIGHT - box.y0) * SCALE) - 2)
    )  # fmt: skip
    bars = band.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert bars is not None
    quiet = 10 * layout.bar_width * SCALE
    assert bars[0] >= box.x0 * SCALE + quiet - 2 and bars[2] <= box.x1 * SCALE - quiet + 2, bars


def test_the_narrowest_bars_are_still_printable(tmp_path: Path) -> None:
    _, widest = _draw(tmp_path, "WKR0424242")
    _, narrow = _draw(tmp_path, TRACKING[30])
    assert widest.bar_width == 1.6  # short numbers keep the widest bars
    assert narrow.bar_width >= 0.66  # ~9 mil: within what 203 dpi label printers print
    with pytest.raises(ValueError, match="1–30 printable ASCII characters"):
        _draw(tmp_path, "X" * 31)


def test_label_is_from_the_shoppers_address_with_the_products_by_name(
    services: ActionServices,
) -> None:
    rma = _rma(services, "WK-1001", {"CER-MUG-SAGE": 2, "CER-PLT-SAGE": 1})
    order = services.store.find_order("WK-1001")
    label = services.carrier.create_label(rma, order)  # type: ignore[arg-type]
    text = _text(label.path)
    from_block = text.split("SHIP TO")[0]
    for line in ("Maya Chen", "41 Linden Street", "Apt 3B", "Hudson, NY 12534", "United States"):
        assert line in from_block, from_block
    assert "maya.chen@example.com" not in text  # an email is no return address
    assert "2 × Sage speckled stoneware mug" in text and "1 × Sage side plate" in text
    assert "CER-MUG-SAGE" not in text and "CER-PLT-SAGE" not in text
    for line in RETURNS:
        assert line in text.split("SHIP TO")[1]
    assert rma.id in text and label.tracking_number in text
    assert _decode(_png(label.path)) == label.tracking_number


def test_an_order_without_an_address_leaves_ruled_lines_to_write_it_in(
    services: ActionServices, tmp_path: Path
) -> None:
    order = services.store.find_order("WK-1027")
    assert order is not None and order.shipping_address is None
    rma = _rma(services, "WK-1027", {order.items[0].sku: 1})
    label = services.carrier.create_label(rma, order)
    text = _text(label.path)
    assert "Please write your name and address here" in text and "Amelia Novak" in text
    assert order.items[0].name in text
    with_address, _ = _draw(tmp_path, "WKR0424242")
    # Three separators on every label; four ruled lines more where the address is to be written.
    assert _horizontal_rules(_png(with_address)) == 3
    assert _horizontal_rules(_png(label.path)) == 7


def test_many_products_are_listed_until_the_barcode_then_counted(tmp_path: Path) -> None:
    items = [(f"Hand-thrown stoneware piece number {i} in sage glaze", 1) for i in range(1, 31)]
    pdf, layout = _draw(tmp_path, TRACKING[18], items=items)
    text = _text(pdf)
    assert "1 × Hand-thrown stoneware piece number 1 in sage glaze" in text
    shown = len(re.findall(r"1 × Hand-thrown stoneware piece number \d+", text))
    assert 3 <= shown < 30 and f"+ {30 - shown} more items" in text
    png = _png(pdf)
    assert _decode(png) == TRACKING[18]
    left, top, right, bottom = _ink_box(png)
    assert right <= (WIDTH - MARGIN) * SCALE + 1 and bottom <= (HEIGHT - MARGIN) * SCALE + 1
    assert layout.barcode.x1 <= WIDTH - MARGIN + 0.01


def test_a_long_address_line_wraps_inside_the_label(tmp_path: Path) -> None:
    long_line = "Building 7, The Old Pottery Works, Riverside Industrial Estate, North Gate"
    pdf, _ = _draw(tmp_path, TRACKING[10], ship_from=("Maya Chen", long_line, "Hudson, NY 12534"))
    text = " ".join(_text(pdf).split())
    assert "The Old Pottery Works" in text and "North Gate" in text
    left, top, right, bottom = _ink_box(_png(pdf))
    assert right <= (WIDTH - MARGIN) * SCALE + 1


def test_the_returns_address_comes_from_configuration(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        data=tmp_path / "data", database_url=database_url, orders=None,
        returns_address="Acme Ceramics Returns\\nUnit 2, Dock Road\\nLeeds LS1 1AA\\nUnited Kingdom",
    )  # fmt: skip
    svc = open_services(settings)
    try:
        svc.store.import_file(DEMO / "orders.json")
        rma = _rma(svc, "WK-1001", {"CER-MUG-SAGE": 1})
        label = svc.carrier.create_label(rma, svc.store.find_order("WK-1001"))  # type: ignore[arg-type]
        ship_to = _text(label.path).split("SHIP TO")[1]
        for line in (
            "Acme Ceramics Returns",
            "Unit 2, Dock Road",
            "Leeds LS1 1AA",
            "United Kingdom",
        ):
            assert line in ship_to
        assert "Willow & Kiln" not in ship_to
        assert label.events[0].location == "Acme Ceramics Returns"
    finally:
        svc.close()
    with pytest.raises(SettingsError, match="SHOPDESK_RETURNS_ADDRESS.*2 to 6 lines"):
        load_settings(returns_address="Just one line")
