"""Walk-forward model parameters for a backtest: what is in force at an instant was fitted on older days only.

At instant t the parameters are those fitted on every climate day up to the day before the first of t's month
(in Eastern standard time, the earliest of the cities' LST days); every climate day traded at t is on or after
t's LST date, so no parameter has seen a day it trades. Fits are cached on disk by (data, cut-off, fit code),
because a fit of the whole data takes tens of seconds and reruns should not pay it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from daemon.cities import CityRegistry
from daemon.clock import Clock
from daemon.ledger.db import Database

log = logging.getLogger(__name__)
_EASTERN_STANDARD = timezone(timedelta(hours=-5))


def fit_cutoff(instant: datetime) -> date:
    local = instant.astimezone(_EASTERN_STANDARD).date()
    return local.replace(day=1) - timedelta(days=1)


class ParamsSchedule:
    def __init__(self, data_dir: Path, db: Database, clock: Clock, registry: CityRegistry, *, enabled: bool,
                 cache_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.db = db
        self.clock = clock
        self.registry = registry
        self.enabled = enabled
        self.cache_dir = cache_dir or self.data_dir.parent / ".milkbot-fit-cache"
        self._dataset: Any = None
        self._current: date | None = None
        self.fits: dict[str, int] = {}          # cut-off → ops.model_params id

    def apply(self, daemon: Any, instant: datetime, registry: CityRegistry) -> None:
        if not self.enabled:
            return
        cutoff = fit_cutoff(instant)
        if cutoff == self._current:
            return
        from daemon.model.params import save_params

        params = self._fit(cutoff)
        params_id = save_params(self.db, params, self.clock, fit_to=cutoff)
        daemon.use_params(params_id, params)
        self._current = cutoff
        self.fits[str(cutoff)] = params_id

    def summary(self) -> dict[str, Any]:
        return {"walk_forward": self.enabled, "fits": dict(self.fits)}

    def _fit(self, cutoff: date) -> Any:
        from daemon.model.params import ModelParams

        path = self._cache_path(cutoff)
        if path is not None and path.exists():
            return ModelParams.model_validate(json.loads(path.read_text()))
        from daemon.model.data import load_dataset
        from daemon.model.fit import FitWindow, fit_params

        if self._dataset is None:
            self._dataset = load_dataset(self.data_dir, self.registry)
        log.info("fitting model parameters on climate days up to %s", cutoff)
        params = fit_params(self._dataset, FitWindow(None, cutoff))
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(params.canonical(), sort_keys=True))
                tmp.replace(path)
            except OSError as exc:  # a read-only data location only costs the cache
                log.warning("model fit cache not written: %s", exc)
        return params

    def _cache_path(self, cutoff: date) -> Path | None:
        digest = hashlib.sha256()
        for rel in sorted(p for p in self.data_dir.rglob("*") if p.is_file() and p.suffix in (".parquet", ".csv")):
            stat = rel.stat()
            digest.update(f"{rel.relative_to(self.data_dir)}|{stat.st_size}|{int(stat.st_mtime)}".encode())
        model_dir = Path(__file__).resolve().parents[1] / "model"
        for src in sorted(model_dir.glob("*.py")):
            digest.update(src.read_bytes())
        return self.cache_dir / f"params-{cutoff}-{digest.hexdigest()[:16]}.json"
