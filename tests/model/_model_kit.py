"""A small data directory in the shared layout (kalshi/, weather/), built deterministically for model tests."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
CITIES = {"NYC": ("KXHIGHNY", "KNYC", 38.0), "MIA": ("KXHIGHMIA", "KMIA", 77.0)}  # winter means


def ladder_markets(series: str, day: date, base: int, true_high: int) -> list[dict]:
    """Six markets tiling the integers around `base`: ≤base-1, four 2°F brackets, ≥base+8."""
    event = f"{series}-{day:%y}{MONTHS[day.month - 1]}{day:%d}"
    close = datetime(day.year, day.month, day.day, 4, 59, tzinfo=UTC) + timedelta(days=1)  # EST close
    rows = [("less", None, base, f"{event}-T{base}", (None, base - 1))]
    for k in range(4):
        lo = base + 2 * k
        rows.append(("between", lo, lo + 1, f"{event}-B{lo}.5", (lo, lo + 1)))
    rows.append(("greater", base + 7, None, f"{event}-T{base + 7}", (base + 8, None)))
    out = []
    for strike_type, floor, cap, ticker, (lo, hi) in rows:
        yes = (lo is None or true_high >= lo) and (hi is None or true_high <= hi)
        out.append({"ticker": ticker, "event_ticker": event, "strike_type": strike_type, "floor_strike": floor,
                    "cap_strike": cap, "subtitle": None, "yes_sub_title": None,
                    "close_time": close.strftime("%Y-%m-%dT%H:%M:%SZ"), "result": "yes" if yes else "no",
                    "expiration_value": f"{true_high}.00" if yes else "", "series_dir": series.lower(),
                    "file_date": day.isoformat(), "lo": lo, "hi": hi, "close": close})
    return out


def build(root: Path, days: int = 30, first: date = date(2025, 1, 2), seed: int = 7) -> dict:
    """Write the layout under root; returns the facts tests need (markets with brackets, trades, highs)."""
    rng = random.Random(seed)
    (root / "kalshi").mkdir(parents=True)
    (root / "weather").mkdir()
    markets, trades, settlements, ghcn, hourly, isd_daily = [], [], [], [], [], []
    for city, (series, icao, mean) in CITIES.items():
        for back in range(400, 0, -1):  # history before the markets start
            d = first - timedelta(days=back)
            ghcn.append((icao, d.isoformat(), mean + 8 * math.sin(back / 58) + rng.gauss(0, 4)))
        for i in range(days):
            day = first + timedelta(days=i)
            true_high = round(mean + rng.gauss(0, 4))
            base = 2 * ((true_high - 3 + rng.choice([-2, 0, 2])) // 2)
            ms = ladder_markets(series, day, base, true_high)
            markets += ms
            settlements.append((series, ms[0]["event_ticker"], day, true_high))
            for m in ms:
                for hours, noise in ((40, 0.25), (20, 0.15), (8, 0.05)):
                    inside = m["result"] == "yes"
                    p = min(max((0.6 if inside else 0.1) + rng.uniform(-noise, noise), 0.01), 0.99)
                    at = m["close"] - timedelta(hours=hours, minutes=rng.randint(0, 50))
                    trades.append((f"t{len(trades)}", m["ticker"], series.lower(), day.isoformat(), 1, at,
                                   round(p * 100)))
            if city == "MIA":
                start = datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)  # LST midnight (−5)
                for h in range(24):
                    temp_f = true_high - 1 - 8 * (abs(h - 14) / 14) ** 1.5
                    hourly.append((icao, start + timedelta(hours=h, minutes=53), (temp_f - 32) * 5 / 9))
                isd_daily.append((icao, day, float(true_high)))
    _write(root, markets, trades, settlements, ghcn, hourly, isd_daily)
    return {"markets": markets, "trades": trades, "first": first, "days": days}


def _write(root, markets, trades, settlements, ghcn, hourly, isd_daily) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("CREATE TABLE m (ticker VARCHAR, event_ticker VARCHAR, strike_type VARCHAR, floor_strike DOUBLE, "
                "cap_strike DOUBLE, subtitle VARCHAR, yes_sub_title VARCHAR, close_time VARCHAR, result VARCHAR, "
                "expiration_value VARCHAR, series_dir VARCHAR, file_date VARCHAR)")
    cols = ["ticker", "event_ticker", "strike_type", "floor_strike", "cap_strike", "subtitle", "yes_sub_title",
            "close_time", "result", "expiration_value", "series_dir", "file_date"]
    con.executemany(f"INSERT INTO m VALUES ({', '.join('?' * len(cols))})", [[m[c] for c in cols] for m in markets])
    con.execute(f"COPY m TO '{root}/kalshi/kxhigh_markets.parquet' (FORMAT parquet)")
    write_trades(root, trades)
    con.execute("CREATE TABLE s (series_ticker VARCHAR, event_ticker VARCHAR, date DATE, settled_value DOUBLE)")
    con.executemany("INSERT INTO s VALUES (?, ?, ?, ?)", settlements)
    con.execute(f"COPY s TO '{root}/kalshi/kxhigh_settlements.csv' (HEADER)")
    con.execute("CREATE TABLE g (station_id VARCHAR, obs_date VARCHAR, tmax_f DOUBLE)")
    con.executemany("INSERT INTO g VALUES (?, ?, ?)", ghcn)
    con.execute(f"COPY g TO '{root}/weather/ghcnd_tmax_knyc_kmdw.parquet' (FORMAT parquet)")
    con.execute("CREATE TABLE h (station VARCHAR, time_utc TIMESTAMP, report_type VARCHAR, tmp_c DOUBLE, "
                "tmp_qc VARCHAR, metar VARCHAR)")
    con.executemany("INSERT INTO h VALUES (?, ?, 'FM-15', ?, '5', '')",
                    [(s, t.replace(tzinfo=None), c) for s, t, c in hourly])
    con.execute(f"COPY h TO '{root}/weather/isd_hourly_kmia_kord_ksea.parquet' (FORMAT parquet)")
    con.execute("CREATE TABLE d (station VARCHAR, date_lst DATE, tmax_f DOUBLE)")
    con.executemany("INSERT INTO d VALUES (?, ?, ?)", isd_daily)
    con.execute(f"COPY d TO '{root}/weather/isd_daily_max_kmia_kord_ksea.csv' (HEADER)")


def write_trades(root: Path, trades: list[tuple]) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("CREATE TABLE t (trade_id VARCHAR, ticker VARCHAR, series_dir VARCHAR, file_date VARCHAR, "
                "count INTEGER, created_time TIMESTAMPTZ, yes_price INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", trades)
    con.execute(f"COPY t TO '{root}/kalshi/kxhigh_trades.parquet' (FORMAT parquet)")
