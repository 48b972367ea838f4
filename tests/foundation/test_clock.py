from datetime import datetime, timedelta, timezone

import pytest

from daemon.clock import Clock, SimulatedClock, SystemClock, ensure_utc


def test_simulated_clock_moves_only_when_told():
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert clock.now() == clock.now()
    clock.sleep(90)
    clock.advance(timedelta(minutes=1))
    clock.advance(30)
    assert clock.now() == datetime(2026, 1, 1, 0, 3, tzinfo=timezone.utc)
    assert clock.monotonic() == 180
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 1, 1, tzinfo=timezone.utc))


def test_clocks_satisfy_the_protocol_and_are_aware():
    for clock in (SystemClock(), SimulatedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))):
        assert isinstance(clock, Clock)
        assert clock.now().tzinfo is not None


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        SimulatedClock(datetime(2026, 1, 1))
