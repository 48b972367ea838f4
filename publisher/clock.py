"""The publisher's clock: publish time T is injected, never read inside the build.

This module (with daemon/clock.py) is the only place allowed to read the wall clock; `FixedClock` pins T for
tests, audits and `--at` rebuilds. `publisher` cannot import `daemon.clock`, hence this small twin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at


def ensure_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are refused (their zone is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give a timezone")
    return value.astimezone(UTC)


def floor_minute(value: datetime) -> datetime:
    return ensure_utc(value).replace(second=0, microsecond=0)


def cutoff_for(published_at: datetime, delay_minutes: int) -> datetime:
    """The embargo: nothing younger than this is public."""
    return floor_minute(published_at) - timedelta(minutes=delay_minutes)
