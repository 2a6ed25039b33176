"""The time range of a report: `--since` inclusive, `--until` exclusive (a bare date means its whole day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from canonical.errors import MarketsyncError

DEFAULT_DAYS = 30


class PeriodError(MarketsyncError):
    """A report range could not be read; the message says what to type."""


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def _moment(value: str, *, end: bool) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(f"{value!r} is not a date; use YYYY-MM-DD or an ISO time such as "
                          "2026-11-01T08:00:00+08:00") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def period(since: str | None, until: str | None, *, now: datetime | None = None) -> Period:
    """The range for `--since/--until` (UTC); by default the last 30 days up to now."""
    end = _moment(until, end=True) if until else (now or datetime.now(UTC))
    start = _moment(since, end=False) if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise PeriodError(f"--since {start.date()} is not before --until {end.date()}; give an earlier --since")
    return Period(start, end)
