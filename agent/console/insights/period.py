"""The insights date range: whole days in the store's business time zone, both ends included."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 30
MAX_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PeriodError(ValueError):
    """A date range the page cannot show; the message is written for the store owner."""


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    tz: str  # IANA zone the days are counted in

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def utc_start(self) -> datetime:
        """Local midnight starting the first day, in UTC (a bound for `created_at >=`)."""
        return datetime.combine(self.start, time(), self.zone).astimezone(UTC)

    @property
    def utc_end(self) -> datetime:
        """Local midnight after the last day, in UTC (a bound for `created_at <`)."""
        return datetime.combine(self.end + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def local_day(self, moment: datetime) -> date:
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).date()

    def query(self) -> str:
        return f"from={self.start.isoformat()}&to={self.end.isoformat()}"

    def label(self) -> str:
        if self.start == self.end:
            return self.start.strftime("%b %d, %Y")
        return f"{self.start.strftime('%b %d, %Y')} – {self.end.strftime('%b %d, %Y')}"


def _parse_day(value: str, name: str) -> date:
    value = value.strip()
    if not _DATE.match(value):
        raise PeriodError(f"“{value[:20]}” is not a date: write the {name} date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"“{value}” is not a real calendar date ({name}).") from None


def parse_period(
    raw_from: str | None,
    raw_to: str | None,
    *,
    now: datetime,
    tz: str,
) -> Period:
    """`?from=&to=` (either may be missing): a missing `to` is today, a missing `from` is 30 days
    ending at `to`. Raises PeriodError for a bad date, from after to, or more than 366 days.
    `now` is the product's clock, which also stamps every conversation and return."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    end = _parse_day(raw_to, "end") if raw_to else today
    if raw_from:
        start = _parse_day(raw_from, "start")
    else:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise PeriodError(
            f"The start date ({start.isoformat()}) is after the end date ({end.isoformat()})."
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(f"Choose at most {MAX_DAYS} days at a time.")
    return Period(start, end, tz)


__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "Period", "PeriodError", "parse_period"]
