"""Pinned decisions: recorded inputs → the exact probabilities, pmf and decisions the model gave
before it was vectorised (tests/fixtures/model/decision_pins.json.gz, generated once by the old
code; see the generator's docstring). Every float is compared with ==: replay compares p_yes
exactly, so a faster model must be the same model to the last bit, not merely close to it.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from daemon.runtime.decide import decide_event, price_ladder
from daemon.strategies import build_strategies
from daemon.strategies.config import StrategiesConfig
from daemon.trading.config import TradingConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "model"
_spec = importlib.util.spec_from_file_location(
    "make_decision_pins", FIXTURES / "make_decision_pins.py"
)
pins = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pins)

DATA = json.loads(gzip.decompress((FIXTURES / "decision_pins.json.gz").read_bytes()))
PARAMS = {name: pins.params_from(raw) for name, raw in DATA["params"].items()}
STRATEGIES = build_strategies(
    StrategiesConfig(enabled=("taker", "model_maker", "fixed_offset_maker")), TradingConfig()
)


def _case_id(case: dict) -> str:
    return f"{case['params']}-{case['inputs']['city_code']}-{case['inputs']['decided_at']['$t']}"


@pytest.mark.parametrize("case", DATA["cases"], ids=_case_id)
def test_pinned_event_reproduces_exactly(case: dict) -> None:
    inputs = pins.event_inputs(case["inputs"])
    params = PARAMS[case["params"]]
    strategies = tuple(s for s in STRATEGIES if s.name in case["strategies"])
    want = pins.decode(case["expected"])
    got = pins.decode(json.loads(json.dumps(pins.expected(inputs, params, strategies))))
    assert got["probabilities"] == want["probabilities"]  # exact floats
    assert got["pmf"] == want["pmf"]
    assert (got["valid"], got["reasons"]) == (want["valid"], want["reasons"])
    assert got["members"] == want["members"]
    assert got["decisions"] == want["decisions"]


def test_pins_cover_every_path() -> None:
    """The fixture exercises every member valid and invalid, the nowcast keys, every strategy."""
    cases = DATA["cases"]
    members = {(m["strategy"], m["valid"]) for c in cases for m in c["expected"]["members"]}
    assert members == {
        (n, v) for n in ("forecast", "climatology", "nowcast", "market") for v in (True, False)
    }
    assert any(not c["expected"]["valid"] for c in cases)
    assert any(r.endswith("+nowcast") for c in cases for r in c["expected"]["reasons"])
    outcomes = {(d["strategy"], d["outcome"]) for c in cases for d in c["expected"]["decisions"]}
    assert {
        ("taker", "trade"),
        ("model_maker", "trade"),
        ("fixed_offset_maker", "trade"),
    } <= outcomes
    assert len({c["inputs"]["city_code"] for c in cases}) == 10


def test_pinned_forecast_directly() -> None:
    """Sanity of the harness: the decoded inputs price to the pinned numbers via price_ladder."""
    case = next(c for c in DATA["cases"] if c["params"] == "fitted" and c["expected"]["valid"])
    forecast, _ = price_ladder(pins.event_inputs(case["inputs"]), PARAMS["fitted"])
    assert forecast.probabilities == pins.decode(case["expected"])["probabilities"]
    assert decide_event(pins.event_inputs(case["inputs"]), PARAMS["fitted"], None, STRATEGIES)
