"""The persisted trading state (ops.trading_state): ACTIVE | REDUCING | HALTED, plus the kill switch.

The newest row is the current state and survives restarts. A row with `until_at` expires on its own
(e.g. the 24 h daily-loss pause) — unless the kill switch is set: the kill switch is carried onto every later
row and is cleared only by an explicit `resume`. Used by the RiskEngine and by `milkbot kill|resume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from daemon.clock import Clock
from daemon.ledger.db import Database

StateName = Literal["ACTIVE", "REDUCING", "HALTED"]
STATES: tuple[str, ...] = ("ACTIVE", "REDUCING", "HALTED")
_RANK = {name: i for i, name in enumerate(STATES)}


class TradingStateError(ValueError):
    """An unknown trading state name."""


@dataclass(frozen=True)
class TradingState:
    state: str
    kill_switch: bool
    reason: str
    set_by: str
    set_at: datetime | None
    until_at: datetime | None
    expired: bool = False            # the row's until_at has passed: the state falls back to `fallback`
    fallback: str = "ACTIVE"           # an earlier automatic state still in force (e.g. REDUCING under a pause)
    fallback_until: datetime | None = None

    @property
    def effective(self) -> str:
        return self.fallback if self.expired else self.state


INITIAL = TradingState("ACTIVE", False, "no state recorded", "system", None, None)


def rank(state: str) -> int:
    """Severity order: ACTIVE < REDUCING < HALTED."""
    try:
        return _RANK[normalise(state)]
    except KeyError:
        raise TradingStateError(f"unknown trading state {state!r}") from None


def normalise(state: Any) -> str:
    name = str(getattr(state, "value", state)).upper()
    if name not in _RANK:
        raise TradingStateError(f"unknown trading state {state!r}; expected one of {', '.join(STATES)}")
    return name


def latest(db: Database) -> TradingState:
    """The newest row as stored (no expiry applied); INITIAL when nothing was ever written."""
    row = db.query_one("SELECT * FROM ops.trading_state ORDER BY id DESC LIMIT 1")
    if row is None:
        return INITIAL
    return TradingState(row["state"], bool(row["kill_switch"]), row["reason"], row["set_by"], row["set_at"],
                        row["until_at"])


def effective(db: Database, now: datetime) -> TradingState:
    """The current state at `now`. A row whose until_at has passed (and no kill switch) falls back to the most
    severe earlier automatic row still in force since the last reset (ACTIVE row or operator change), else ACTIVE."""
    current = latest(db)
    if current.until_at is None or now < current.until_at or current.kill_switch:
        return current
    fallback, fallback_until = "ACTIVE", None
    rows = db.query("SELECT * FROM ops.trading_state ORDER BY id DESC LIMIT 50")
    for row in rows[1:]:
        if row["state"] == "ACTIVE" or str(row["set_by"]).startswith("operator"):
            break
        in_force = row["until_at"] is None or row["until_at"] > now
        if in_force and rank(row["state"]) > rank(fallback):
            fallback, fallback_until = row["state"], row["until_at"]
    return TradingState(current.state, False, current.reason, current.set_by, current.set_at, current.until_at,
                        expired=True, fallback=fallback, fallback_until=fallback_until)


def write(
    db: Database, clock: Clock, state: str, reason: str, set_by: str, *,
    until: datetime | None = None, kill_switch: bool | None = None,
) -> TradingState:
    """Append a state row. `kill_switch=None` carries the current kill switch over (only resume clears it).

    While the kill switch is set, a write that does not name it explicitly (every writer but `kill` and
    `resume`) changes nothing: HALTED with the kill switch is already the strongest state, and the kill row
    keeps its reason and who set it. The request is recorded as a risk event instead.
    """
    name = normalise(state)
    if not reason or not set_by:
        raise TradingStateError("a trading state change needs a reason and who set it")
    current = latest(db)
    if kill_switch is None and current.kill_switch:
        _event(db, clock, "trading_state", "warning",
               f"kill switch set: {name} by {set_by} not recorded ({reason})"[:500],
               {"limit": "kill_switch", "actual": "on", "allowed": "on", "requested": name, "set_by": set_by})
        return current
    kill = current.kill_switch if kill_switch is None else kill_switch
    now = clock.now()
    db.execute(
        "INSERT INTO ops.trading_state (state, kill_switch, reason, set_by, set_at, until_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (name, kill, reason, set_by, now, until),
    )
    return TradingState(name, kill, reason, set_by, now, until)


def kill(db: Database, clock: Clock, reason: str, set_by: str) -> TradingState:
    """HALTED at once with the kill switch set; nothing but `resume` clears it."""
    state = write(db, clock, "HALTED", reason, set_by, kill_switch=True)
    _event(db, clock, "kill_switch", "critical", f"kill switch set by {set_by}: {reason}",
           {"limit": "kill_switch", "actual": "on", "allowed": "off", "set_by": set_by})
    return state


def resume(db: Database, clock: Clock, reason: str, set_by: str) -> TradingState:
    """Explicit operator resume: ACTIVE, kill switch cleared."""
    state = write(db, clock, "ACTIVE", reason, set_by, kill_switch=False)
    _event(db, clock, "kill_switch", "info", f"trading resumed by {set_by}: {reason}",
           {"limit": "kill_switch", "actual": "off", "allowed": "off", "set_by": set_by})
    return state


def history(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    return db.query(f"SELECT * FROM ops.trading_state ORDER BY id DESC LIMIT {int(limit)}")


def _event(db: Database, clock: Clock, kind: str, severity: str, message: str, detail: dict[str, Any]) -> None:
    from daemon.ledger.db import Json

    db.execute(
        "INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail) VALUES (?, ?, ?, ?, ?)",
        (clock.now(), kind, severity, message, Json(detail)),
    )
