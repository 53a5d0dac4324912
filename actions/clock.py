"""The product's one clock: every time shopdesk writes or compares is read from a `Clock`.

It lives in `actions/` because that is the lowest layer every other part imports; the settings own the
instance (`Settings.clock`), and everything else receives it.

- `Clock()` reads the wall clock.
- `Clock(start)` reads `start` when it is made and then advances in real time (measured on the
  monotonic clock, so a pinned demo still orders its messages and a wall-clock jump moves nothing).
- `Clock(start, frozen=True)` reads `start` until it is moved. Tests freeze it and move it (`set`,
  `advance`) explicitly; they never read the wall clock.

Timeouts and rate-limit windows are durations, not readings, and keep using `time.monotonic`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Clock:
    """A reading of "now" that the whole product shares. Call it: `clock()` is an aware datetime."""

    def __init__(
        self,
        start: datetime | None = None,
        *,
        frozen: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        if frozen and start is None:
            raise ValueError("a frozen clock needs the reading it is frozen at")
        self._frozen = frozen
        self._start: datetime | None = None if start is None else _aware(start)
        self._mark = monotonic()

    def __call__(self) -> datetime:
        with self._lock:
            if self._start is None:
                return self._wall()
            if self._frozen:
                return self._start
            return self._start + timedelta(seconds=self._monotonic() - self._mark)

    @property
    def pinned(self) -> bool:
        """True when the reading was set (`--now`, a test) rather than taken from the wall clock."""
        return self._start is not None

    @property
    def frozen(self) -> bool:
        return self._frozen

    def set(self, when: datetime) -> None:
        """Read `when` from now on; a frozen clock stays frozen there, a running one runs on from it."""
        with self._lock:
            self._start, self._mark = _aware(when), self._monotonic()

    def freeze(self, when: datetime | None = None) -> None:
        """Stop the clock at `when` (default: its current reading) until `set`/`advance` moves it."""
        reading = self() if when is None else _aware(when)
        with self._lock:
            self._start, self._frozen = reading, True

    def advance(self, delta: timedelta) -> None:
        """Move the reading forward (or back, with a negative delta)."""
        reading = self()
        self.set(reading + delta)

    def __repr__(self) -> str:
        if self._start is None:
            return "Clock(wall)"
        state = "frozen" if self._frozen else "running"
        return f"Clock({self().isoformat()}, {state})"


__all__ = ["Clock"]
