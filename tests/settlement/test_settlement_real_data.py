"""Golden tests on real recorded Kalshi data: every ladder tiles and every settled value picks the recorded winner."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from daemon.cities import default_registry
from daemon.settlement.brackets import (
    BracketError,
    bracket_for_market,
    event_brackets,
    settled_int,
    winning_ticker,
)
from daemon.settlement.rules import NWS_SOURCE, TWC_SOURCE, check_rules
from daemon.trading.intents import climate_day_from_ticker

# (fixture file, event) -> expected ladder as (ticker suffix, lo, hi); the recorded YES market where settled.
GOLDEN = {
    ("kalshi_events_legacy_schema/kxhighny_2025-03-01.json", "KXHIGHNY-25MAR01"): (
        [
            ("T51", None, 50),
            ("B51.5", 51, 52),
            ("B53.5", 53, 54),
            ("B55.5", 55, 56),
            ("B57.5", 57, 58),
            ("T58", 59, None),
        ],
        "T58",
    ),
    (
        "kalshi_events_legacy_schema/kxhighny_2024-08-16_legacy_HIGHNY_ticker.json",
        "HIGHNY-24AUG16",
    ): (
        [
            ("T84", None, 83),
            ("B84.5", 84, 85),
            ("B86.5", 86, 87),
            ("B88.5", 88, 89),
            ("B90.5", 90, 91),
            ("T91", 92, None),
        ],
        "B86.5",
    ),
    ("kalshi_events_legacy_schema/kxhighchi_2025-03-01.json", "KXHIGHCHI-25MAR01"): (
        [
            ("T28", None, 27),
            ("B28.5", 28, 29),
            ("B30.5", 30, 31),
            ("B32.5", 32, 33),
            ("B34.5", 34, 35),
            ("T35", 36, None),
        ],
        "T35",
    ),
    ("kalshi_events_legacy_schema/kxhighmia_2025-03-01.json", "KXHIGHMIA-25MAR01"): (
        [
            ("T76", None, 75),
            ("B76.5", 76, 77),
            ("B78.5", 78, 79),
            ("B80.5", 80, 81),
            ("B82.5", 82, 83),
            ("T83", 84, None),
        ],
        "B80.5",
    ),
    ("kalshi_events_legacy_schema/kxhighaus_2025-03-01.json", "KXHIGHAUS-25MAR01"): (
        [
            ("T77", None, 76),
            ("B77.5", 77, 78),
            ("B79.5", 79, 80),
            ("B81.5", 81, 82),
            ("B83.5", 83, 84),
            ("T84", 85, None),
        ],
        "B83.5",
    ),
    ("kalshi_events_legacy_schema/kxhighden_2025-03-01.json", "KXHIGHDEN-25MAR01"): (
        [
            ("T62", None, 61),
            ("B62.5", 62, 63),
            ("B64.5", 64, 65),
            ("B66.5", 66, 67),
            ("B68.5", 68, 69),
            ("T69", 70, None),
        ],
        "B64.5",
    ),
    ("kalshi_api_2026-09/markets_open_KXHIGHCHI_20260924T224050Z.json", "KXHIGHCHI-26SEP25"): (
        [
            ("T64", None, 63),
            ("B64.5", 64, 65),
            ("B66.5", 66, 67),
            ("B68.5", 68, 69),
            ("B70.5", 70, 71),
            ("T71", 72, None),
        ],
        None,
    ),
    ("kalshi_api_2026-09/markets_open_KXHIGHTSEA_20260924T224135Z.json", "KXHIGHTSEA-26SEP25"): (
        [
            ("T57", None, 56),
            ("B57.5", 57, 58),
            ("B59.5", 59, 60),
            ("B61.5", 61, 62),
            ("B63.5", 63, 64),
            ("T64", 65, None),
        ],
        None,
    ),
    ("kalshi_api_2026-09/event_KXHIGHNY-26SEP23.json", "KXHIGHNY-26SEP23"): (
        [
            ("T65", None, 64),
            ("B65.5", 65, 66),
            ("B67.5", 67, 68),
            ("B69.5", 69, 70),
            ("B71.5", 71, 72),
            ("T72", 73, None),
        ],
        None,
    ),
}


def fixture_markets(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["markets"]


@pytest.mark.parametrize("key", sorted(GOLDEN), ids=lambda k: k[1])
def test_golden_ladders_per_city(shared_data, key):
    file, event = key
    expected, yes_suffix = GOLDEN[key]
    markets = [
        m for m in fixture_markets(shared_data / "fixtures" / file) if m["event_ticker"] == event
    ]
    ladder = event_brackets(markets)
    assert [(t.rsplit("-", 1)[1], b.lo, b.hi) for t, b in ladder] == expected
    # each market's label is exactly our reading of its strikes
    for m in markets:
        assert str(dict(ladder)[m["ticker"]]) == m["yes_sub_title"]
    if yes_suffix is not None:
        values = {m["expiration_value"] for m in markets if m.get("expiration_value")}
        assert len(values) == 1
        assert winning_ticker(ladder, values.pop()) == f"{event}-{yes_suffix}"
        assert [m["ticker"] for m in markets if m["result"] == "yes"] == [f"{event}-{yes_suffix}"]
    city = default_registry().for_ticker(event)
    for m in markets:
        check = check_rules(
            m["rules_primary"],
            city,
            climate_day_from_ticker(event),
            bracket=dict(ladder)[m["ticker"]],
        )
        assert check.ok, check.reasons
        assert check.source == (TWC_SOURCE if "26SEP" in event else NWS_SOURCE)


@pytest.mark.parametrize("file", ["kxhighny_open_trimmed.json", "kxhighny_settled_trimmed.json"])
def test_trimmed_captures_are_refused_not_guessed(shared_data, file):
    """Their recorder dropped markets from the event: the ladder has a gap and must be refused."""
    with pytest.raises(BracketError, match="gap"):
        event_brackets(
            fixture_markets(shared_data / "fixtures" / "kalshi_api_dollars_schema" / file)
        )


# -- every settled event in shared/data/kalshi -------------------------------------------------------------
@pytest.fixture(scope="module")
def kalshi_events(shared_data) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    cur = con.execute(
        f"SELECT * FROM read_parquet('{shared_data / 'kalshi' / 'kxhigh_markets.parquet'}')"
    )
    columns = [d[0] for d in cur.description]
    events: dict[str, list[dict]] = defaultdict(list)
    for row in cur.fetchall():
        market = dict(zip(columns, row))
        events[market["event_ticker"]].append(market)
    with open(shared_data / "kalshi" / "kxhigh_settlements.csv", newline="", encoding="utf-8") as f:
        settlements = {r["event_ticker"]: r for r in csv.DictReader(f)}
    return dict(events), settlements


def test_every_settled_event_has_exactly_the_recorded_winner(kalshi_events):
    events, settlements = kalshi_events
    assert len(events) == 889 and set(settlements) == set(events)
    checked = label_only = text_valued = 0
    for event, markets in events.items():
        ladder = event_brackets(markets)
        row = settlements[event]
        winner = winning_ticker(ladder, row["settled_value"])
        assert [m["ticker"] for m in markets if m["result"] == "yes"] == [winner], event
        assert row["winning_ticker"] == winner, event
        # the market's own expiration_value agrees (free text once: KXHIGHMIA-24NOV05, see README)
        if row["expiration_value_is_text"] == "true":
            text_valued += 1
            assert row["expiration_value_raw"].startswith(f"{settled_int(row['settled_value'])}.")
        else:
            assert settled_int(row["expiration_value_raw"]) == settled_int(row["settled_value"])
        label_only += any(m["strike_type"] is None for m in markets)
        checked += 1
    assert checked == 889
    assert text_valued == 1
    assert label_only > 0  # the 2025-01-16..02-09 strike-less markets were read from their labels


def test_greater_and_less_labels_prove_strict_inequalities(kalshi_events):
    """Evidence for the contract: `greater` floor F is labelled "F+1° or above", `less` cap C "C-1° or below"."""
    events, _ = kalshi_events
    seen = {"greater": 0, "less": 0}
    for markets in events.values():
        for m in markets:
            kind, label = m["strike_type"], m["yes_sub_title"]
            if kind == "greater":
                assert label == f"{int(m['floor_strike']) + 1}° or above"
            elif kind == "less":
                assert label == f"{int(m['cap_strike']) - 1}° or below"
            else:
                continue
            seen[kind] += 1
    assert seen == {"greater": 856, "less": 882}


def test_strikeless_markets_count(kalshi_events):
    events, _ = kalshi_events
    strikeless = [
        m
        for ms in events.values()
        for m in ms
        if m["floor_strike"] is None
        and m["cap_strike"] is None
        or (isinstance(m["floor_strike"], float) and math.isnan(m["floor_strike"]))
        and (isinstance(m["cap_strike"], float) and math.isnan(m["cap_strike"]))
    ]
    assert len(strikeless) == 125


def test_every_market_rule_text_names_the_registry_station(kalshi_events):
    events, _ = kalshi_events
    registry = default_registry()
    for event, markets in events.items():
        city, day = registry.for_ticker(event), climate_day_from_ticker(event)
        assert city is not None and day is not None and str(day) == markets[0]["file_date"][:10]
        for m in markets:
            # the rule text's own bracket must also be the one read from strikes/labels
            check = check_rules(m["rules_primary"], city, day, bracket=bracket_for_market(m))
            assert check.ok and check.source == NWS_SOURCE, (m["ticker"], check.reasons)


def test_ladder_shape(kalshi_events):
    """Six markets (two tails, four 2 °F brackets) per event throughout the recorded period."""
    events, _ = kalshi_events
    widths = defaultdict(int)
    for markets in events.values():
        ladder = event_brackets(markets)
        assert len(ladder) == 6
        for _, b in ladder[1:-1]:
            widths[b.hi - b.lo + 1] += 1
    assert dict(widths) == {2: 889 * 4}


def test_check_event_on_real_captures(shared_data):
    from daemon.settlement.rules import check_event

    registry = default_registry()
    path = (
        shared_data
        / "fixtures"
        / "kalshi_api_2026-09"
        / "markets_open_KXHIGHCHI_20260924T224050Z.json"
    )
    markets = [m for m in fixture_markets(path) if m["event_ticker"] == "KXHIGHCHI-26SEP25"]
    verdict = check_event(markets, registry.get("CHI"))
    assert verdict.ok and verdict.source == TWC_SOURCE and verdict.station == "CLIMDW"
    assert not check_event(markets, registry.get("NYC")).ok  # wrong city's registry entry
    tampered = [dict(m) for m in markets]
    tampered[0]["rules_primary"] = tampered[0]["rules_primary"].replace("CLIMDW", "CLIORD")
    assert any("CLIORD" in r for r in check_event(tampered, registry.get("CHI")).reasons)
    assert "gap" in check_event(markets[1:], registry.get("CHI")).reasons[0]
    assert not check_event([], registry.get("CHI")).ok
