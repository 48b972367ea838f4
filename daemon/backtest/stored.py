"""Stored backtest results: `milkbot backtest` keeps its result JSON beside the run's ledger, and the go-live
gate reads the one of the latest recorded window.

`store_result` writes `result.json` (the `--json` object plus the configuration hash) into the run's folder
(by default `<data dir>/backtests/<window>_<fill>_<config>/`). `latest_backtest` finds, under
`<data dir>/backtests/`, the result whose window ends latest (then the longest such window, then by folder
name) among those run with the given configuration; results of another configuration are counted, not used.
Read-only apart from `store_result`; never reads the clock; an unreadable file is skipped and named.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"


@dataclass(frozen=True)
class StoredBacktest:
    path: Path
    start: date
    end: date
    fill_rule: str
    days: int
    fills: int
    pnl_after_fees: Decimal
    fees: Decimal

    @property
    def label(self) -> str:
        return f"{self.start}…{self.end}, {self.fill_rule} fills ({self.path})"


@dataclass
class Lookup:
    found: StoredBacktest | None
    other_config: int = 0                       # results of another configuration, not used
    unreadable: list[str] = field(default_factory=list)


def store_result(result_json: dict[str, Any], folder: Path, config_hash: str) -> Path:
    """Write the result (atomically) as `<folder>/result.json`, tagged with the configuration hash."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESULT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**result_json, "config_hash": config_hash}, sort_keys=True))
    os.replace(tmp, path)
    return path


def _parse(path: Path) -> tuple[StoredBacktest, str]:
    raw = json.loads(path.read_text())
    return StoredBacktest(path=path, start=date.fromisoformat(raw["from"]), end=date.fromisoformat(raw["to"]),
                          fill_rule=str(raw["fill_rule"]), days=int(raw["days"]), fills=int(raw["fills"]),
                          pnl_after_fees=Decimal(str(raw["pnl_after_fees"])),
                          fees=Decimal(str(raw["fees"]))), str(raw.get("config_hash") or "")


def latest_backtest(data_dir: Path, config_hash: str) -> Lookup:
    lookup = Lookup(None)
    best: tuple[Any, ...] | None = None
    for path in sorted((Path(data_dir) / "backtests").glob(f"*/{RESULT_FILE}")):
        try:
            stored, tag = _parse(path)
        except (OSError, ValueError, KeyError, TypeError, InvalidOperation):
            lookup.unreadable.append(str(path))
            continue
        if tag != config_hash:
            lookup.other_config += 1
            continue
        key = (stored.end, stored.end - stored.start, str(path))
        if best is None or key > best:
            best, lookup.found = key, stored
    return lookup
