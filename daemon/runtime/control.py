"""The operator's control path to a running embedded daemon: files next to the DuckDB ledger.

A running daemon holds the DuckDB file exclusively, so no other process can open it, not even read-only. Two
small files beside it (`<ledger>.control.json`, `<ledger>.status.json`) carry what must still get through:
- `milkbot kill` writes a kill request to the control file (atomically: a temporary file renamed over it). The
  daemon reads it at the start of every cycle and before every order send; from the moment it sees it no order
  is sent, then it records the kill switch in ops.trading_state and removes the request.
- The daemon writes a status snapshot (the same figures `milkbot status` prints) after its cycles; `status`
  shows it, labelled as the daemon's last snapshot and its time, while the ledger is locked.
An unreadable control file counts as a kill request (fail safe). Never reads the wall clock: times are passed in.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KillRequest:
    reason: str
    set_by: str
    requested_at: str
    cancel_resting: bool
    raw: str  # the file's text, so only this request is removed once applied


class ControlFiles:
    def __init__(self, ledger_path: Path) -> None:
        self.ledger_path = ledger_path
        self.control_path = ledger_path.with_name(ledger_path.name + ".control.json")
        self.status_path = ledger_path.with_name(ledger_path.name + ".status.json")

    # -- kill requests ----------------------------------------------------------------------------------
    def request_kill(self, reason: str, set_by: str, at: datetime, cancel_resting: bool) -> None:
        payload = {"action": "kill", "reason": reason, "set_by": set_by, "requested_at": at.isoformat(),
                   "cancel_resting": cancel_resting}
        _write_atomically(self.control_path, json.dumps(payload, sort_keys=True))

    def pending_kill(self) -> KillRequest | None:
        try:
            raw = self.control_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            return KillRequest(f"control file unreadable ({exc.__class__.__name__})", "operator:control-file", "?",
                               False, "")
        try:
            data = json.loads(raw)
            return KillRequest(str(data["reason"]), str(data["set_by"]), str(data["requested_at"]),
                               bool(data.get("cancel_resting", False)), raw)
        except (ValueError, KeyError, TypeError):
            return KillRequest("control file unreadable (not a kill request we understand)",
                               "operator:control-file", "?", False, raw)

    def clear(self, request: KillRequest) -> None:
        """Remove the request once applied, unless a newer one replaced it meanwhile."""
        try:
            if self.control_path.read_text(encoding="utf-8") == request.raw:
                self.control_path.unlink()
        except FileNotFoundError:
            pass

    # -- status snapshots -------------------------------------------------------------------------------
    def write_status(self, snapshot: dict[str, Any], at: datetime, pid: int) -> None:
        body = {"written_at": at.isoformat(), "pid": pid, "status": snapshot}
        _write_atomically(self.status_path, json.dumps(body, default=_encode, sort_keys=True))

    def read_status(self) -> tuple[datetime, int, dict[str, Any]] | None:
        try:
            body = json.loads(self.status_path.read_text(encoding="utf-8"), object_hook=_decode)
        except (FileNotFoundError, ValueError):
            return None
        return datetime.fromisoformat(body["written_at"]), int(body["pid"]), body["status"]


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key == "$datetime":
            return datetime.fromisoformat(value)
        if key == "$date":
            return date.fromisoformat(value)
        if key == "$decimal":
            return Decimal(value)
    return obj
