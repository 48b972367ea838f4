"""DESIGN invariant 5: public output never contains order ids, client order ids, run ids, raw payloads,
internal messages or any configured secret; timestamps are whole minutes."""

from __future__ import annotations

import json
import re

from publisher_ledger_kit import source_for, tree
from pydantic import SecretStr

from publisher.build import build_site
from publisher.config import PublisherConfig

CANARY = "CANARY7f3a"   # planted by the kit in every internal id, payload, message, reason and host name
SECRETS = ["r2-key-CANARY-9d1e", "r2-secret-CANARY-77aa", "cf-token-CANARY-31c0", "pg-pass-CANARY-5b5b"]
FORBIDDEN_KEYS = {"order_id", "client_order_id", "exchange_order_id", "exchange_fill_id", "run_id", "intent_key",
                  "decision_id", "payload", "detail", "reason_codes", "features", "host", "message", "cycle_id"}


def test_no_internal_id_payload_or_secret_is_published(db, db_url, seeded, publish_at, tmp_path, monkeypatch):
    monkeypatch.setenv("KALSHI_API_KEY_ID", "kalshi-key-CANARY-0f0f")
    config = PublisherConfig(
        r2_access_key_id=SecretStr(SECRETS[0]), r2_secret_access_key=SecretStr(SECRETS[1]),
        cloudflare_api_token=SecretStr(SECRETS[2]),
        database_url=SecretStr(f"postgresql://milkbot_publisher:{SECRETS[3]}@127.0.0.1/x"))
    assert db.scalar("SELECT count(*) FROM ops.fills WHERE exchange_order_id LIKE ?", [f"%{CANARY}%"]) > 50
    build_site(source_for(db, db_url), config, publish_at, tmp_path / "site")
    files = tree(tmp_path / "site")
    for path, data in files.items():
        text = data.decode("utf-8")
        for needle in [CANARY, "CANARY", *SECRETS]:
            assert needle not in text, f"{needle} leaked into {path}"
        if path.endswith(".json") and "/schemas/" not in path:
            keys = set(re.findall(r'"([a-z_]+)":', text))
            assert not keys & FORBIDDEN_KEYS, f"{path} has internal fields {keys & FORBIDDEN_KEYS}"
    assert SECRETS[1] not in repr(config) and SECRETS[1] not in str(config.model_dump())


def test_public_times_are_whole_minutes(db, db_url, seeded, publish_at, config, tmp_path):
    build_site(source_for(db, db_url), config, publish_at, tmp_path / "site")
    stamps = []
    for path, data in tree(tmp_path / "site").items():
        if path.endswith(".json"):
            stamps += re.findall(r'"(\d{4}-\d{2}-\d{2}T[0-9:.]+Z?)"', data.decode())
    assert stamps and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z", s) for s in stamps)
    recent = json.loads((tmp_path / "site/api/v1/trades/recent.json").read_text())
    # the kit's fills carry seconds; the public row is truncated to the minute
    assert recent["trades"] and all(t["trade_time"].endswith(":00Z") for t in recent["trades"])
