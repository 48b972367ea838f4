"""Publisher test fixtures: a seeded ledger, the publish time, a config. Helpers live in publisher_ledger_kit."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from publisher_ledger_kit import PUBLISH_AT, LedgerKit, seed_history

from publisher.config import PublisherConfig


@pytest.fixture
def publish_at() -> datetime:
    return PUBLISH_AT


@pytest.fixture
def config() -> PublisherConfig:
    return PublisherConfig(min_calibration_trades=5)


@pytest.fixture
def kit(db) -> LedgerKit:
    return LedgerKit(db, secret="CANARY7f3a")


@pytest.fixture
def seeded(kit: LedgerKit, publish_at: datetime) -> LedgerKit:
    seed_history(kit, publish_at, random.Random(20260115))
    return kit
