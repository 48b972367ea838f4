"""The parts the runtime wires together, named in one place.

`IMPL` names the module behind each numeric part; it goes into every decision's features with
`CODE_FINGERPRINT`, so `replay` can tell a difference caused by changed code from one caused by changed inputs.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from daemon.model import api as _model_api
from daemon.model import params as _model_params
from daemon.model import nowcast_decided as _nowcast
from daemon.model.api import ModelInputs
from daemon.settlement import brackets as _brackets
from daemon.trading import edge as _edge
from daemon.trading import sizing as _sizing
from daemon.weather import asof as _asof
from daemon.weather import freshness as _freshness
from daemon.weather import snapshots as _snapshots

weather_store = SimpleNamespace(WeatherSnapshot=_snapshots.WeatherSnapshot, store_snapshot=_snapshots.store_snapshot)
weather_asof = SimpleNamespace(AsOfWeather=_asof.AsOfWeather, LookAheadError=_asof.LookAheadError)
freshness = SimpleNamespace(assess=_freshness.assess)
brackets = SimpleNamespace(event_brackets=_brackets.event_brackets, BracketError=_brackets.BracketError)
model_api = SimpleNamespace(price_event=_model_api.price_event)
model_params = SimpleNamespace(default_params=_model_params.default_params, save_params=_model_params.save_params,
                               load_latest=_model_params.load_latest, load_by_id=_model_params.load_by_id)
edge = SimpleNamespace(evaluate_edge=_edge.evaluate_edge, Quote=_edge.Quote)
sizing = SimpleNamespace(kelly_count=_sizing.kelly_count)

IMPL: dict[str, str] = {
    "weather_store": _snapshots.__name__, "weather_asof": _asof.__name__, "freshness": _freshness.__name__,
    "brackets": _brackets.__name__, "model": _model_api.__name__, "params": _model_params.__name__,
    "edge": _edge.__name__, "sizing": _sizing.__name__, "nowcast": _nowcast.__name__,
}


def nowcast_verdicts(ladder: dict, observed_max_f: float | None, observed_until: datetime | None,
                     day_end: datetime | None) -> dict[str, str | None]:
    """What the observed maximum so far has settled already, per ticker ('lost' / 'won' / None)."""
    if day_end is None:
        return {ticker: None for ticker in ladder}
    return _nowcast.decided(tuple(ladder.items()), observed_max_f, observed_until, day_end)


def model_inputs(**values: object) -> ModelInputs:
    return ModelInputs(**values)  # type: ignore[arg-type]


def _code_fingerprint() -> str:
    """Short hash of the source of everything a decision's numbers depend on (model, edge, sizing, brackets)."""
    root = Path(__file__).resolve().parents[1]
    files = (sorted((root / "model").glob("*.py")) + sorted((root / "strategies").glob("*.py"))
             + [root / "trading" / "edge.py", root / "trading" / "sizing.py", root / "settlement" / "brackets.py",
                root / "runtime" / "decide.py"])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_FINGERPRINT = _code_fingerprint()
