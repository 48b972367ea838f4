"""Injected time. The only module allowed to read the wall clock.

Every component takes a `Clock`; simulations and tests drive a `SimulatedClock`, so a ten-day demo
replays in minutes and tests are deterministic. All instants are timezone-aware UTC.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

UTC = timezone.utc


def ensure_utc(instant: datetime) -> datetime:
    """Return `instant` in UTC; refuse naive datetimes, which are always a bug here."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: every instant must be timezone-aware")
    return instant.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for measuring intervals (rate limits, timeouts)."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class SimulatedClock:
    """A clock that moves only when told to (`advance`, `set`, or `sleep`). Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)
        self._origin = self._now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return (self._now - self._origin).total_seconds()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(timedelta(seconds=seconds))

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError("a clock never moves backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        instant = ensure_utc(instant)
        with self._lock:
            if instant < self._now:
                raise ValueError(f"cannot move clock back from {self._now} to {instant}")
            self._now = instant

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now.isoformat()})"


class AcceleratedClock:
    """Wall time scaled by `speed` from `start`: for demos and `milkbot sim serve --speed`."""

    def __init__(self, start: datetime, speed: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self._start = ensure_utc(start)
        self._speed = speed
        self._wall0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._wall0) * self._speed)

    def monotonic(self) -> float:
        return (time.monotonic() - self._wall0) * self._speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self._speed)
