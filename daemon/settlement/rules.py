"""Read the settlement station and source from an event's rules text and check them against the registry.

Two rule-text eras (shared/reference/kalshi_api.md §1, cities.md; real texts in shared/data):
- events up to 2026-08-13: the NWS daily climate report, station by name, e.g.
  "If the highest temperature recorded in Central Park, New York for August 16, 2024 as reported by the National
  Weather Service's Daily Climate Report, is between 84-85°, …" (also "NWS's Daily Climate Report" and
  "National Weather Service's Climatological Report (Daily)");
- events from 2026-08-14: The Weather Company, station by its CLI code, e.g.
  "If the maximum temperature recorded at Chicago (CLIMDW) for Sep 25, 2026, is … according to The Weather Company, …".
Anything else — another source, another station, a minimum-temperature market, a different date — is untradeable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from daemon.cities import City
from daemon.settlement.brackets import Bracket, BracketError, event_brackets
from daemon.settlement.days import TickerDateError, event_climate_day

__all__ = [
    "NWS_SOURCE",
    "TWC_FROM",
    "TWC_SOURCE",
    "RulesCheck",
    "bracket_from_rules",
    "check_event",
    "check_rules",
]

NWS_SOURCE = "nws_climate_report"
TWC_SOURCE = "the_weather_company"
TWC_FROM = date(2026, 8, 14)  # first climate day whose rules name The Weather Company

_NWS_PATTERNS = (
    re.compile(
        r"\b(?:NWS|National Weather Service)['’]s\s+Daily\s+Climate\s+Report\b", re.IGNORECASE
    ),
    re.compile(
        r"\b(?:NWS|National Weather Service)['’]s\s+Climatological\s+Report\s*\(Daily\)",
        re.IGNORECASE,
    ),
)
_TWC_PATTERN = re.compile(r"\baccording\s+to\s+The\s+Weather\s+Company\b", re.IGNORECASE)
_CLI_CODE = re.compile(r"\((CLI[A-Z]{3})\)")
# "recorded in Central Park, New York for August 16, 2024" / "recorded at Chicago (CLIMDW) for Sep 25, 2026"
_STATION_AND_DAY = re.compile(
    r"\brecorded\s+(?:at|in)\s+(?P<station>.+?)\s+for\s+(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2}),\s*(?P<year>\d{4})"
)
_RULE_BETWEEN = re.compile(r"\bis\s+between\s+(-?\d+)\s*°?\s*(?:-|to)\s*(-?\d+)\s*°")
_RULE_GREATER = re.compile(r"\bis\s+greater\s+than\s+(-?\d+)\s*°")
_RULE_LESS = re.compile(r"\bis\s+less\s+than\s+(-?\d+)\s*°")
_MAX_WORDS = re.compile(r"\b(?:highest|maximum|high)\s+temperature\b", re.IGNORECASE)
_MIN_WORDS = re.compile(r"\b(?:lowest|minimum|low)\s+temperature\b", re.IGNORECASE)

# Kalshi's own wordings of our stations in NWS-era rules, as seen in shared/data/kalshi (2024-08..2025-05)
# and the July 2026 captures; the registry's station_name is always accepted too.
_NWS_STATION_ALIASES: dict[str, tuple[str, ...]] = {
    "NYC": ("Central Park, New York",),
    "CHI": ("Chicago Midway, IL", "Chicago Midway"),
    "MIA": ("Miami, FL", "Miami International Airport"),
    "AUS": ("Austin Bergstrom",),
    "DEN": ("Denver, CO",),
}


@dataclass(frozen=True)
class RulesCheck:
    ok: bool
    source: str  # NWS_SOURCE, TWC_SOURCE or "unknown"
    station: (
        str | None
    )  # the CLI code when the text cites one, else the station wording; None if unreadable
    reasons: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _source_of(text: str) -> str:
    nws = any(p.search(text) for p in _NWS_PATTERNS)
    twc = bool(_TWC_PATTERN.search(text))
    if nws == twc:
        return "unknown"  # neither, or both (ambiguous)
    return NWS_SOURCE if nws else TWC_SOURCE


def _rules_day(match: re.Match[str]) -> date | None:
    month = match.group("month")[:3].title()
    try:
        return datetime.strptime(
            f"{month} {match.group('day')} {match.group('year')}", "%b %d %Y"
        ).date()
    except ValueError:
        return None


def _station_reasons(station: str, cli_code: str | None, city: City, source: str) -> list[str]:
    if cli_code is not None:
        if cli_code != city.cli_code:
            return [f"rules cite station {cli_code}, registry has {city.cli_code} for {city.code}"]
        return []
    if source == TWC_SOURCE:
        return [
            f"Weather Company rules must cite the CLI code {city.cli_code}; found only {station!r}"
        ]
    accepted = {_norm(city.station_name), _norm(re.sub(r"\(.*?\)", "", city.station_name))}
    accepted |= {_norm(a) for a in _NWS_STATION_ALIASES.get(city.code, ())}
    if _norm(station) not in accepted:
        return [f"rules name station {station!r}, not {city.code}'s {city.station_name!r}"]
    return []


def bracket_from_rules(rules_text: str) -> Bracket | None:
    """The bracket a rule text states ("is between 84-85°", "is greater than 91°" = 92+, "is less than 84°" = ≤83)."""
    found = []
    if m := _RULE_BETWEEN.search(rules_text):
        found.append((int(m.group(1)), int(m.group(2))))
    if m := _RULE_GREATER.search(rules_text):
        found.append((int(m.group(1)) + 1, None))
    if m := _RULE_LESS.search(rules_text):
        found.append((None, int(m.group(1)) - 1))
    if len(found) != 1:
        return None
    try:
        return Bracket(*found[0])
    except BracketError:
        return None


def check_rules(
    rules_text: str, city: City, climate_day: date, *, bracket: Bracket | None = None
) -> RulesCheck:
    """Is this event's rule text the settlement we model for `city` on `climate_day`? ok=False lists why not.

    With `bracket` (the market's strikes read by bracket_for_market) the rule text's own bracket must equal it.
    """
    text = (rules_text or "").strip()
    if not text:
        return RulesCheck(False, "unknown", None, ["rules text is empty"])
    reasons: list[str] = []
    source = _source_of(text)
    expected = TWC_SOURCE if climate_day >= TWC_FROM else NWS_SOURCE
    if source == "unknown":
        reasons.append(
            "settlement source is neither the NWS daily climate report nor The Weather Company"
        )
    elif source != expected:
        reasons.append(f"source {source} but events dated {climate_day} settle on {expected}")
    if _MIN_WORDS.search(text) or not _MAX_WORDS.search(text):
        reasons.append("rules are not about the daily maximum temperature")

    match = _STATION_AND_DAY.search(text)
    codes = _CLI_CODE.findall(text)
    if len(set(codes)) > 1:
        reasons.append(f"rules cite several stations {sorted(set(codes))}")
    cli_code = codes[0] if codes else None
    station: str | None = cli_code
    if match is None:
        reasons.append("cannot find the station and date in the rules text")
    else:
        wording = match.group("station").strip().rstrip(",")
        station = cli_code or wording
        reasons += _station_reasons(wording, cli_code, city, source)
        day = _rules_day(match)
        if day != climate_day:
            reasons.append(
                f"rules are for {day or match.group(0)!r}, expected climate day {climate_day}"
            )
    if bracket is not None:
        stated = bracket_from_rules(text)
        if stated != bracket:
            reasons.append(
                f"rules state bracket {stated or 'unreadable'}, market strikes say {bracket}"
            )
    return RulesCheck(not reasons, source, station, reasons)


def check_event(markets: list[dict], city: City) -> RulesCheck:
    """One verdict for a whole event: the ladder tiles, its date parses, and every market's rules check out
    (station, source for the era, date, and the rule text's own bracket equal to the strikes)."""
    if not markets:
        return RulesCheck(False, "unknown", None, ["event has no markets"])
    try:
        ladder = dict(event_brackets(markets))
        day = event_climate_day(str(markets[0].get("event_ticker") or markets[0]["ticker"]))
    except (BracketError, TickerDateError) as exc:
        return RulesCheck(False, "unknown", None, [str(exc)])
    checks = [
        check_rules(str(m.get("rules_primary") or ""), city, day, bracket=ladder[m["ticker"]])
        for m in markets
    ]
    reasons = sorted(
        {f"{m['ticker']}: {r}" for m, c in zip(markets, checks, strict=True) for r in c.reasons}
    )
    sources = {c.source for c in checks}
    stations = {c.station for c in checks}
    if len(sources) > 1 or len(stations) > 1:
        reasons.append(
            f"markets disagree on source/station: {sorted(map(str, sources | stations))}"
        )
    first = checks[0]
    return RulesCheck(not reasons, first.source, first.station, reasons)
