"""The parts the runtime wires together, taken from their owners' modules, else from `fallbacks`.

`IMPL` records which one is in use (it goes into every decision's features, so replay can tell).
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

from daemon.runtime import fallbacks

IMPL: dict[str, str] = {}


def _pick(area: str, module_name: str, names: tuple[str, ...]) -> SimpleNamespace:
    try:
        module = importlib.import_module(module_name)
        values = {name: getattr(module, name) for name in names}
        IMPL[area] = module_name
    except (ImportError, AttributeError):
        values = {name: getattr(fallbacks, name) for name in names}
        IMPL[area] = "fallback"
    return SimpleNamespace(**values)


weather_store = _pick("weather_store", "daemon.weather.snapshots", ("WeatherSnapshot", "store_snapshot"))
weather_asof = _pick("weather_asof", "daemon.weather.asof", ("AsOfWeather", "LookAheadError"))
freshness = _pick("freshness", "daemon.weather.freshness", ("assess",))
brackets = _pick("brackets", "daemon.settlement.brackets", ("event_brackets", "BracketError"))
model_api = _pick("model", "daemon.model.api", ("price_event",))
model_params = _pick("params", "daemon.model.params", ("default_params", "save_params", "load_latest", "load_by_id"))
edge = _pick("edge", "daemon.trading.edge", ("evaluate_edge", "Quote"))
sizing = _pick("sizing", "daemon.trading.sizing", ("kelly_count",))


def model_inputs(**values: Any) -> Any:
    """`daemon.model.api.ModelInputs` when the model is present, else a plain namespace of the same fields."""
    try:
        from daemon.model.api import ModelInputs
    except ImportError:
        return SimpleNamespace(**values)
    return ModelInputs(**values)


def risk_engine_class() -> Any | None:
    try:
        from daemon.trading.risk import RiskEngine
    except ImportError:
        return None
    return RiskEngine


# The model and its parameters must come from the same place: real params cannot drive the stand-in model.
if (IMPL["model"] == "fallback") != (IMPL["params"] == "fallback"):
    model_api = SimpleNamespace(price_event=fallbacks.price_event)
    model_params = SimpleNamespace(**{n: getattr(fallbacks, n) for n in
                                      ("default_params", "save_params", "load_latest", "load_by_id")})
    IMPL["model"] = IMPL["params"] = "fallback"
# Quote must match the edge function that reads it.
if IMPL["edge"] == "fallback":
    edge = SimpleNamespace(evaluate_edge=fallbacks.evaluate_edge, Quote=fallbacks.Quote)


def _code_fingerprint() -> str:
    """Short hash of the source of everything a decision's numbers depend on (model, edge, sizing, brackets).

    Stored with each decision so `replay` can say when a difference comes from code changed since then."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "model").glob("*.py")) + [root / "trading" / "edge.py", root / "trading" / "sizing.py",
                                                      root / "settlement" / "brackets.py", root / "runtime" / "decide.py",
                                                      root / "runtime" / "fallbacks.py"]
    digest = hashlib.sha256()
    for path in files:
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_FINGERPRINT = _code_fingerprint()
