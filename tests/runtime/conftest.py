"""Fixtures for tests/runtime: one short embedded demo run shared by the end-to-end and replay tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _runtime_kit import run_demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """Two simulated days at 2-hour cycles, three cities: trades, fills and day-1 settlements (read-only)."""
    folder = tmp_path_factory.mktemp("demo")
    summary = run_demo(folder, days=2, fast_minutes=120, slow_minutes=120)
    return folder, summary
