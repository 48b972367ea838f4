"""What `milkbot risk show` and `milkbot status` say about risk: the trading state, the bankroll, the caps and the
exposure against them — computed by the risk engine's own code on the bankroll the daemon last enforced.

The policy is the one the latest daemon run recorded (ops.runs → ops.config_versions), so an edited config file
does not change what is shown until the daemon runs with it; without a daemon run, the settings given.
One state, named the same in both commands (the effective state: a pause whose end has passed is shown as
what it has become, with when it ended). Every figure says what it measures. Read-only: never writes a row.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database
from daemon.runtime.heartbeat import last_beat
from daemon.trading import state as st
from daemon.trading.bankroll import Bankroll, from_heartbeat
from daemon.trading.config import TradingConfig
from daemon.trading.risk import RiskEngine, display_amount, human_duration


def plain_json(value: Any) -> Any:
    """A ledger value as JSON can hold it: Decimal as its exact string, instants as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _at(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%MZ}" if moment is not None else "-"


def describe_state(current: st.TradingState, now: datetime) -> str:
    """e.g. 'HALTED until 2026-01-06 18:00Z (in 24 h): daily_loss … — set by risk:daily_loss at …'."""
    name = current.effective
    kill = ", KILL SWITCH ON" if current.kill_switch else ""
    if current.set_at is None:
        return f"{name} (no trading state recorded yet)"
    by = f"set by {current.set_by} at {_at(current.set_at)}"
    if current.expired:
        after = (f" until {_at(current.fallback_until)}" if current.fallback_until else "")
        return (f"{name}{after}{kill}: the {current.state} pause ({current.reason}) ended at"
                f" {_at(current.until_at)} — {by}")
    if current.until_at is not None:
        left = human_duration(current.until_at - now)
        return f"{name} until {_at(current.until_at)} (in {left}){kill}: {current.reason} — {by}"
    return f"{name}{kill}: {current.reason} — {by}"


def enforced_policy(db: Database, settings: Any) -> tuple[TradingConfig, str]:
    """The trading policy the latest daemon run enforces, and where it came from."""
    row = db.query_one("SELECT r.run_id, r.config_hash, c.config FROM ops.runs r JOIN ops.config_versions c"
                       " ON c.config_hash = r.config_hash WHERE r.component = 'daemon' ORDER BY r.run_id DESC LIMIT 1")
    if row is not None:
        config = row["config"]
        config = json.loads(config) if isinstance(config, str) else config
        try:
            policy = TradingConfig.model_validate(config["trading"])
        except (KeyError, TypeError, ValueError):  # a config from an older version: fall back to the settings
            pass
        else:
            return policy, f"daemon run #{row['run_id']} (config {str(row['config_hash'])[:12]})"
    return settings.trading, f"this config ({settings.config_hash[:12]}; no daemon run recorded)"


def recorded_bankroll(db: Database, configured: Decimal) -> Bankroll:
    """The bankroll the daemon last enforced (its heartbeat); unknown when no daemon ever read the balance."""
    beat = last_beat(db, "daemon")
    return from_heartbeat(configured, beat["detail"] if beat else None)


def risk_snapshot(db: Database, settings: Any, clock: Any, events: int = 10) -> dict[str, Any]:
    """Everything `risk show` prints (and `status` summarises), as plain JSON data."""
    from daemon.cities import load_registry

    policy, policy_source = enforced_policy(db, settings)
    registry = load_registry(settings.cities.file, settings.cities.extra_file)
    now = clock.now()
    bankroll = recorded_bankroll(db, policy.bankroll)
    enforced = bankroll.enforced
    # Unknown bankroll: the engine refuses every order; the caps are shown on the configured bankroll as the
    # most they can be once the balance is read, and labelled so.
    engine = RiskEngine(db, clock, policy, registry,
                        lambda: enforced if enforced is not None else bankroll.configured)
    current = st.effective(db, now)
    report = engine.exposure_report()
    losses = engine.loss_usage(enforced if enforced is not None else bankroll.configured)
    recent = db.query(f"SELECT * FROM ops.risk_events ORDER BY id DESC LIMIT {int(events)}")
    return {
        "as_of": now.isoformat(),
        "policy": policy_source,
        "bankroll": {**bankroll.to_json(), "summary": bankroll.describe()},
        "state": {"state": current.effective, "stored": current.state, "kill_switch": current.kill_switch,
                  "reason": current.reason, "set_by": current.set_by, "set_at": plain_json(current.set_at),
                  "until_at": plain_json(current.until_at), "expired": current.expired,
                  "summary": describe_state(current, now)},
        "orders_blocked": enforced is None or current.effective == "HALTED",
        "caps_basis": "enforced bankroll" if enforced is not None else "configured bankroll (ceiling: orders blocked"
                                                                      " until the exchange balance is read)",
        "caps": {k: str(v) for k, v in report.limits.items()},
        "exposure": {
            "open_risk": str(display_amount(report.open_risk)),
            "positions_risk": str(display_amount(report.positions_risk)),
            "pending_risk": str(display_amount(report.pending_risk)),
            "by_city": {k: str(display_amount(v)) for k, v in sorted(report.by_city.items())},
            "by_cluster": {k: str(display_amount(v)) for k, v in sorted(report.by_cluster.items())},
            "by_event": {f"{c}/{d}": str(display_amount(v)) for (c, d), v in sorted(report.by_event.items())},
            "confirmed_lots": report.confirmed_lots, "pending_lots": report.pending_lots,
        },
        "losses": {u.limit.removesuffix("_loss"): {"loss": str(u.loss), "allowed": str(u.allowed),
                                                   "window": human_duration(u.window), "action": u.action,
                                                   "pause": human_duration(u.pause)} for u in losses},
        "recent_events": [{k: plain_json(v) for k, v in r.items()} for r in recent],
    }


def summary_lines(data: dict[str, Any]) -> list[str]:
    """The lines both commands print: state, bankroll, and the three labelled worst-case figures vs caps."""
    caps, exp = data["caps"], data["exposure"]
    ceiling = "" if data["bankroll"]["enforced"] is not None else " (at most; orders blocked)"
    return [
        f"trading state {data['state']['summary']}",
        data["bankroll"]["summary"],
        (f"open risk (worst-case loss, positions and pending orders together): ${exp['open_risk']}"
         f" of the ${caps['open_risk']} open-risk cap{ceiling}"),
        (f"  worst-case loss on open positions: ${exp['positions_risk']}   pending orders' worst-case loss:"
         f" ${exp['pending_risk']}"),
    ]
