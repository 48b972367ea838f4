"""`milkbot sim serve` as a real process, and the truth sources behind the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from daemon.cities import default_registry
from daemon.clock import SystemClock
from daemon.exchange.signing import auth_headers, public_key_pem
from daemon.simulation.truth import RecordedTruth, SyntheticTruth, TruthError, TruthSource

REGISTRY = default_registry()


def test_sim_serve_process_answers_signed_requests(tmp_path: Path, sim_key: rsa.RSAPrivateKey) -> None:
    pem = tmp_path / "me.pub.pem"
    pem.write_text(public_key_pem(sim_key))
    env = {**os.environ, "MILKBOT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from daemon.cli.main import app; app()", "sim", "serve", "--port", "0", "--api-key-id", "key-1",
         "--public-key-file", str(pem), "--balance-cents", "12345", "--seed", "4", "--no-agents",
         "--state", str(tmp_path / "state.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("simulator serving http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
        base = line.split()[2]
        path = "/trade-api/v2/portfolio/balance"
        response = httpx.get(base + "/portfolio/balance",
                             headers=auth_headers("key-1", sim_key, SystemClock(), "GET", path), timeout=5)
        assert response.status_code == 200 and response.json()["balance"] == 12345
        markets = httpx.get(base + "/markets", params={"series_ticker": "KXHIGHCHI"}, timeout=5).json()["markets"]
        assert markets and all("(CLIMDW)" in m["rules_primary"] for m in markets)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert (tmp_path / "state.jsonl").stat().st_size > 0


def test_sim_serve_rejects_unpaired_keys(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", "from daemon.cli.main import app; app()", "sim", "serve", "--api-key-id", "a"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "MILKBOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "pairs" in result.stderr


def test_synthetic_truth_is_deterministic_and_coherent() -> None:
    truth: TruthSource = SyntheticTruth(5, REGISTRY)
    other = SyntheticTruth(5, REGISTRY)
    day = date(2026, 7, 4)
    high = truth.settled_high("NYC", day)
    assert high == other.settled_high("NYC", day)
    days = [day + timedelta(days=i) for i in range(10)]
    assert [truth.settled_high("NYC", d) for d in days] != [SyntheticTruth(6, REGISTRY).settled_high("NYC", d)
                                                            for d in days]
    normal, _ = truth.climatology("NYC", day)
    assert 70 < normal < 95
    start, _ = REGISTRY.get("NYC").climate_day_bounds(day)
    assert truth.observed_max_until("NYC", day, start - timedelta(seconds=1)) is None
    readings = [truth.observed_max_until("NYC", day, start + timedelta(hours=h)) for h in range(24)]
    assert readings == sorted(readings)                                # a running maximum never falls
    assert round(readings[-1]) == high                                 # the day's max is the settled high
    # Forecasts: closer to the event is better on average, and never reveal the future exactly.
    errors_far, errors_near = [], []
    for offset in range(60):
        d = day + timedelta(days=offset)
        s, _ = REGISTRY.get("NYC").climate_day_bounds(d)
        errors_far.append(abs(truth.forecast_high("NYC", d, s - timedelta(days=4)) - truth.settled_high("NYC", d)))
        errors_near.append(abs(truth.forecast_high("NYC", d, s + timedelta(hours=6)) - truth.settled_high("NYC", d)))
    assert sum(errors_near) < sum(errors_far)
    assert truth.forecast_high("NYC", day, start - timedelta(days=30)) is None
    assert truth.forecast_high("NYC", day, start) == truth.forecast_high("NYC", day, start + timedelta(minutes=59))
    with pytest.raises(TruthError):
        truth.settled_high("XXX", day)


def test_recorded_truth_from_a_shared_data_layout(tmp_path: Path) -> None:
    (tmp_path / "kalshi").mkdir()
    (tmp_path / "weather").mkdir()
    (tmp_path / "kalshi" / "kxhigh_settlements.csv").write_text(
        "series_ticker,event_ticker,date,n_markets,statuses,expiration_value_raw,total_volume,settled_value,"
        "expiration_value_is_text,winning_ticker,winning_bracket\n"
        "KXHIGHNY,KXHIGHNY-25JAN02,2025-01-02,6,finalized,41.00,100,41.0,false,X,40° to 41°\n"
        "KXHIGHMIA,KXHIGHMIA-25JAN02,2025-01-02,6,finalized,text,100,,true,X,?\n")
    (tmp_path / "weather" / "isd_daily_max_kmia_kord_ksea.csv").write_text(
        "station,isd_date,date_lst,tmax_f,tmax_time_lst,tmin_f,ka_max_c,ka_max_f\n"
        "KMIA,2025-01-03 04:59:00,2025-01-02,78.0,,68.0,25.6,78.0\n"
        "KSEA,2025-01-03 07:59:00,2025-01-02,47.0,,40.0,8.3,47.0\n")
    truth = RecordedTruth(tmp_path, REGISTRY, seed=1)
    day = date(2025, 1, 2)
    assert truth.settled_high("NYC", day) == 41
    assert truth.settled_high("MIA", day) == 78                  # text settlement skipped → ISD fallback
    assert truth.settled_high("SEA", day) == 47
    assert truth.settled_high("NYC", date(2025, 1, 3)) is None
    end = REGISTRY.get("NYC").climate_day_bounds(day)[1]
    assert truth.observed_max_until("NYC", day, end - timedelta(seconds=1)) is None      # no look-ahead
    assert truth.observed_max_until("NYC", day, end) == 41.0
    assert truth.forecast_high("NYC", day, end - timedelta(days=1)) is not None
    with pytest.raises(TruthError):
        RecordedTruth(tmp_path / "missing", REGISTRY)


def test_recorded_truth_on_real_shared_data(shared_data: Path) -> None:
    truth = RecordedTruth(shared_data, REGISTRY)
    assert truth.settled_high("NYC", date(2025, 1, 2)) is not None
    assert len(truth.days("CHI")) > 3000
