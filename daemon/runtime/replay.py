"""`milkbot replay <decision-id>`: recompute one decision from the ledger alone and compare.

Inputs come only from stored rows: the event's market snapshots (ids in the decision's features), the
weather snapshot by id (read as of the decision time: a later row would be look-ahead), the model
parameters by id, and the trading policy from the config version named by hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database
from daemon.runtime import parts
from daemon.runtime.decide import Q2, Q4, DecisionInputError, EventInputs, decide_event, own_from_json
from daemon.strategies import build_strategies
from daemon.strategies.config import StrategiesConfig
from daemon.trading.config import TradingConfig

FIELDS = ("p_yes", "side", "price", "fee_per_contract", "edge", "size", "outcome")


class ReplayError(LookupError):
    """The decision or one of its inputs is not in the ledger."""


@dataclass
class ReplayResult:
    decision_id: int
    original: dict[str, Any]
    recomputed: dict[str, Any]
    notes: list[str]

    @property
    def identical(self) -> bool:
        return self.original == self.recomputed

    def differences(self) -> list[str]:
        return [f for f in FIELDS if self.original.get(f) != self.recomputed.get(f)]


def _q(value: Any, quantum: Decimal) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(quantum)


def original_of(row: dict[str, Any]) -> dict[str, Any]:
    return {"p_yes": row["p_yes"], "side": row["side"], "price": _q(row["price"], Q4),
            "fee_per_contract": _q(row["fee_per_contract"], Q4), "edge": _q(row["edge"], Q4),
            "size": _q(row["size"], Q2), "outcome": row["outcome"]}


def _ladder(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        raise ReplayError("decision names no market snapshots")
    rows = db.query(f"SELECT * FROM ops.market_snapshots WHERE id IN ({', '.join('?' * len(ids))})", ids)
    by_id = {int(r["id"]): r for r in rows}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ReplayError(f"market snapshots missing from the ledger: {missing}")
    return [by_id[i] for i in ids]


def _instant(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value)


def _lst_offset(features: dict[str, Any], config: dict[str, Any], city_code: str) -> int | None:
    """The LST offset the decision used (in its features); older decisions: from the registry the decision's
    own config version names (the shipped one unless `[cities] file` replaced it)."""
    if features.get("lst_offset_hours") is not None:
        return int(features["lst_offset_hours"])
    from pathlib import Path

    from daemon.cities import CityRegistryError, load_registry

    cities = config.get("cities") or {}
    try:
        registry = load_registry(Path(cities["file"]) if cities.get("file") else None,
                                 Path(cities["extra_file"]) if cities.get("extra_file") else None)
    except CityRegistryError as exc:
        raise ReplayError(f"the decision's city registry cannot be read: {exc}") from None
    return registry.get(city_code).lst_offset_hours if city_code in registry else None


def replay_decision(db: Database, decision_id: int) -> ReplayResult:
    row = db.query_one("SELECT * FROM ops.decisions WHERE id = ?", [decision_id])
    if row is None:
        raise ReplayError(f"no decision {decision_id}")
    features = row["features"] or {}
    notes = []
    ladder = _ladder(db, [int(i) for i in features.get("ladder", [])])
    weather = None
    if row["weather_snapshot_id"] is not None:
        weather = parts.weather_asof.AsOfWeather(db).by_id(int(row["weather_snapshot_id"]), row["decided_at"])
        if weather is None:
            raise ReplayError(f"weather snapshot {row['weather_snapshot_id']} missing")
    if row["model_params_id"] is None:
        raise ReplayError("decision names no model parameters")
    params = parts.model_params.load_by_id(db, int(row["model_params_id"]))
    config = db.scalar("SELECT config FROM ops.config_versions WHERE config_hash = ?", [row["config_hash"]])
    if config is None:
        raise ReplayError(f"config version {row['config_hash']} missing")
    policy = TradingConfig.model_validate(config.get("trading", {}))
    strategy_name = features.get("strategy", "taker")
    strategies_config = StrategiesConfig.model_validate(config.get("strategies", {}))
    strategies = [s for s in build_strategies(strategies_config.model_copy(update={"enabled": (strategy_name,)}),
                                              policy)]
    impl = features.get("impl", {})
    now_impl = {k: parts.IMPL[k] for k in impl}
    if impl and impl != now_impl:
        notes.append(f"implementation changed since the decision: {impl} → {now_impl}")
    if features.get("code") and features["code"] != parts.CODE_FINGERPRINT:
        notes.append(f"decision code {features['code']} differs from the code now {parts.CODE_FINGERPRINT}"
                     " (model/edge/sizing changed since): a difference may come from that")
    own, positions = own_from_json(features)
    inputs = EventInputs(row["city_code"], row["climate_day"], row["decided_at"], tuple(ladder), weather,
                         Decimal(features.get("bankroll", "0")), Decimal(features.get("size_multiplier", "1")),
                         tuple(features.get("blocked_by", [])), tuple(features.get("weather_blocked_by", [])),
                         own, positions, _instant(features.get("day_end")),
                         _lst_offset(features, config, row["city_code"]))
    if features.get("input_error") or any(str(r).startswith("input_error") for r in row["reason_codes"] or []):
        notes.append("the original decision could not be computed from its inputs")
    try:
        decided = {d.ticker: d.comparable() for d in decide_event(inputs, params, policy, strategies)}
    except DecisionInputError as exc:
        notes.append(f"inputs refused: {exc}")
        skip = {f: None for f in FIELDS}
        decided = {row["ticker"]: {**skip, "size": Decimal(0).quantize(Q2), "outcome": "skip"}}
    if row["ticker"] not in decided:
        raise ReplayError(f"{row['ticker']} is not in its own ladder")
    return ReplayResult(decision_id, original_of(row), decided[row["ticker"]], notes)
