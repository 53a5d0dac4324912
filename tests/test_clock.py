"""The product's one clock: it reads `--now` at start-up and advances from there, copies of the
settings share it, and what the product stamps (staff sessions, label PDFs) is read from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pypdf import PdfReader

from actions.clock import Clock
from actions.labelpdf import draw_label
from agent.app.settings import load_settings
from agent.console.staff import StaffAuth
from agent.store.conversations import ConversationStore

NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


def test_a_pinned_clock_reads_its_start_then_advances_in_real_time() -> None:
    ticks = [100.0]
    clock = Clock(datetime(2026, 11, 21, 17, 0, tzinfo=UTC), monotonic=lambda: ticks[0])
    assert clock() == datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
    ticks[0] += 90.5
    assert clock() == datetime(2026, 11, 21, 17, 1, 30, 500000, tzinfo=UTC)
    clock.freeze()
    ticks[0] += 3600
    assert clock() == datetime(2026, 11, 21, 17, 1, 30, 500000, tzinfo=UTC)
    clock.advance(timedelta(days=1))
    assert clock() == datetime(2026, 11, 22, 17, 1, 30, 500000, tzinfo=UTC)


def test_an_unpinned_clock_reads_the_wall_clock_it_is_given() -> None:
    wall = datetime(2031, 1, 2, 3, 4, tzinfo=UTC)
    clock = Clock(wall=lambda: wall)
    assert not clock.pinned and clock() == wall


def test_copies_of_the_settings_share_one_clock() -> None:
    settings = load_settings(now="2026-11-21T17:00:00Z")
    copy = settings.model_copy(update={"port": 9999})
    settings.clock.freeze(datetime(2027, 1, 1, tzinfo=UTC))
    assert copy.clock() == datetime(2027, 1, 1, tzinfo=UTC)


def test_a_staff_session_expires_by_the_product_clock_not_the_wall(tmp_path: Path) -> None:
    clock = Clock(NOW, frozen=True)
    store = ConversationStore(f"sqlite:///{tmp_path / 'c.db'}", clock=clock)
    store.migrate()
    auth = StaffAuth("a-long-password", store=store.staff_sessions, clock=clock, lifetime=12 * 3600)
    signed_in = auth.sign_in("127.0.0.1", "Sam", "a-long-password")
    assert signed_in is not None
    token, session = signed_in
    assert session.created == NOW
    clock.advance(timedelta(hours=11, minutes=59))
    again = auth.session(token)
    assert again is not None and again.name == "Sam" and again.last_seen == clock()
    clock.advance(timedelta(minutes=2))
    assert auth.session(token) is None  # 12 h after sign-in, by the store's clock
    store.close()


def test_a_label_pdf_is_dated_by_the_product_clock(tmp_path: Path) -> None:
    path = tmp_path / "label.pdf"
    draw_label(
        path, tracking_number="WKR1234567890", rma_id="RMA-1", order_id="WK-1001",
        ship_from=["Ada"], ship_to=["Willow & Kiln"], items=[("Mug", 1)], created=NOW,
    )  # fmt: skip
    reader = PdfReader(path)
    assert reader.metadata is not None
    assert reader.metadata.creation_date == NOW
    assert "2026-11-21" in reader.pages[0].extract_text()
