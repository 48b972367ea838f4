"""Station observations: QC filtering, METAR remark decoding and the observed maximum of a climate day.

The feed mixes two cadences: routine hourly METARs/SPECIs (with `rawMessage`, whose remarks carry the
temperature to 0.1 °C in the T-group and 6-hour maxima at 00/06/12/18 UTC) and 5-minute ASOS readings
(no rawMessage, whole °C, so ±1 °F after conversion). Readings flagged X (rejected) or Q (questioned)
by MADIS QC are dropped. Pure functions; never reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from daemon.cities import City
from daemon.weather.errors import WeatherParseError
from daemon.weather.units import c_to_f, checked_celsius, parse_instant, unit_is

BAD_QC = frozenset({"X", "Q"})
WHOLE_C_HALF_STEP = 0.5  # a whole-°C reading's value can sit this far above the temperature it rounds
_T_GROUP = re.compile(r"(?<!\S)T([01])(\d{3})(?:([01])(\d{3}))?(?!\S)")
_SIX_HOUR_MAX = re.compile(r"(?<!\S)1([01])(\d{3})(?!\S)")
_DAY_MAX_MIN = re.compile(r"(?<!\S)4([01])(\d{3})([01])(\d{3})(?!\S)")


def _signed_tenths(sign: str, digits: str) -> float:
    value = int(digits) / 10.0
    return -value if sign == "1" else value


def _remarks(raw: str) -> str:
    """The part of a METAR after RMK (groups before it use other encodings), without the end-of-report `=`.

    Many relays terminate a report with `=` glued to the last group (`... T00330022=`, seen on every KSEA
    record in ISD); left on, it hides the T-group or 6-hour group that happens to come last.
    """
    _, sep, tail = raw.partition(" RMK ")
    return tail.strip().rstrip("=").rstrip() if sep else ""


def decode_t_group(raw: str | None) -> float | None:
    """Remark T-group temperature in °C to 0.1: `T01560072` → 15.6, `T10111022` → -1.1."""
    match = _T_GROUP.search(_remarks(raw or ""))
    return _signed_tenths(match.group(1), match.group(2)) if match else None


def decode_six_hour_max(raw: str | None) -> float | None:
    """The 6-hour maximum group `1snTTT` (°C to 0.1), sent at 00/06/12/18 UTC: `10244` → 24.4."""
    match = _SIX_HOUR_MAX.search(_remarks(raw or ""))
    return _signed_tenths(match.group(1), match.group(2)) if match else None


def decode_24_hour_max(raw: str | None) -> float | None:
    """The 24-hour max/min group `4snTxTxTxsnTnTnTn` (midnight-LST report): max °C to 0.1."""
    match = _DAY_MAX_MIN.search(_remarks(raw or ""))
    return _signed_tenths(match.group(1), match.group(2)) if match else None


def _qc_flag(quantity: Mapping[str, Any] | None) -> str | None:
    """MADIS QC flag, written either `qc:V` or `V`."""
    if not quantity or quantity.get("qualityControl") is None:
        return None
    return str(quantity["qualityControl"]).split(":")[-1].upper()


@dataclass(frozen=True)
class Observation:
    timestamp: datetime
    kind: Literal["metar", "5min"]
    temperature_c: float | None        # best available: T-group if present, else the reported value
    precise: bool                      # True when temperature_c came from the 0.1 °C T-group
    qc: str | None
    six_hour_max_c: float | None       # from the 1snTTT remark; covers the 6 h ending at `timestamp`
    dropped_reason: str | None = None  # why temperature_c is None despite a value being present
    raw_message: str | None = None

    @property
    def temperature_f(self) -> float | None:
        return None if self.temperature_c is None else c_to_f(self.temperature_c)


def parse_observation(feature: Mapping[str, Any]) -> Observation:
    """One GeoJSON observation feature (or its `properties`)."""
    props = feature.get("properties", feature)
    if not isinstance(props, Mapping) or not props.get("timestamp"):
        raise WeatherParseError("observation without a timestamp")
    timestamp = parse_instant(props["timestamp"])
    raw = props.get("rawMessage") or None
    quantity = props.get("temperature") or {}
    qc = _qc_flag(quantity)
    kind: Literal["metar", "5min"] = "metar" if raw else "5min"
    if quantity.get("value") is not None and not unit_is(quantity.get("unitCode"), "degC"):
        raise WeatherParseError(f"observation temperature unit {quantity.get('unitCode')!r}, expected degC")
    if qc in BAD_QC:
        return Observation(timestamp, kind, None, False, qc, None, f"qc_{qc}", raw)
    t_group = decode_t_group(raw)
    reported = quantity.get("value")
    six_hour = decode_six_hour_max(raw)  # only synoptic (00/06/12/18 UTC) reports carry the group
    if t_group is not None:
        return Observation(timestamp, kind, checked_celsius(t_group), True, qc, _checked_opt(six_hour), None, raw)
    value = None if reported is None else checked_celsius(reported)
    return Observation(timestamp, kind, value, False, qc, _checked_opt(six_hour), None, raw)


def _checked_opt(value: float | None) -> float | None:
    return None if value is None else checked_celsius(value)


def parse_observations(payload: Mapping[str, Any]) -> tuple[list[Observation], list[str]]:
    """A /stations/{id}/observations collection → (observations oldest first, skip reasons).

    A malformed feature is skipped with a reason; the same timestamp seen twice keeps the copy with a
    usable temperature (records are re-sent with missing fields filled in later).
    """
    features = payload.get("features")
    if features is None and "properties" in payload:
        features = [payload]
    if not isinstance(features, list):
        raise WeatherParseError("observations payload has no features")
    by_time: dict[datetime, Observation] = {}
    skipped = []
    for feature in features:
        try:
            obs = parse_observation(feature)
        except WeatherParseError as exc:
            skipped.append(str(exc))
            continue
        previous = by_time.get(obs.timestamp)
        if previous is None or (previous.temperature_c is None and obs.temperature_c is not None):
            by_time[obs.timestamp] = obs
    return [by_time[t] for t in sorted(by_time)], skipped


@dataclass(frozen=True)
class ObservedMax:
    max_f: float | None
    until: datetime | None       # timestamp of the newest usable observation counted
    count: int                   # usable readings counted
    precise_count: int           # of which 0.1 °C (T-group / 6-hour groups)
    dropped: int                 # readings refused by QC
    precise_max_f: float | None = None  # max over the 0.1 °C values only (5-minute whole-°C readings excluded)


def day_values(obs: Observation, start: datetime, end: datetime) -> list[tuple[float, bool]]:
    """The (°F, precise) values one observation adds to the maximum of the climate day [start, end).

    The one rule for every user (live feed, recorded replay): the reading itself, and its 6-hour max group
    only when the group's whole window — the 6 hours ending at the report — lies inside the day. No slack:
    in a Central-time 05:51 LST report the group covers 23:51-05:51 and carries the previous evening's
    temperature (on 8 recorded KORD days it put the day's maximum ~1 °F above the day's recorded high).
    A reading outside the day, or refused by QC, adds nothing. A reading without a T-group (5-minute data,
    most SPECIs) is whole °C and proves only that the temperature reached its value − 0.5 °C: that is what it
    adds. Taken at face value it can read 0.8 °F above the whole-°F value it came from, enough to round
    above the settled high (recorded KMIA SPECI "32/..", 89.6 °F, on a day that settled at 89).
    """
    if obs.dropped_reason or not start <= obs.timestamp < end:
        return []
    values = []
    if obs.temperature_c is not None:
        if obs.precise:
            values.append((c_to_f(obs.temperature_c), True))
        else:
            values.append((c_to_f(obs.temperature_c - WHOLE_C_HALF_STEP), False))
    if obs.six_hour_max_c is not None and obs.timestamp - timedelta(hours=6) >= start:
        values.append((c_to_f(obs.six_hour_max_c), True))
    return values


def observed_max(observations: Iterable[Observation], city: City, day: date, until: datetime) -> ObservedMax:
    """Max observed temperature on the LST day up to `until`, from readings and 6-hour max groups.

    A 6-hour max group counts only when its whole window lies inside the climate day (see day_values).
    """
    start, end = city.climate_day_bounds(day)
    limit = min(until, end)
    values: list[tuple[float, bool]] = []
    newest = None
    dropped = 0
    for obs in observations:
        if not start <= obs.timestamp <= limit or obs.timestamp == end:
            continue
        if obs.dropped_reason:
            dropped += 1
            continue
        values.extend(day_values(obs, start, end))
        if obs.temperature_c is not None:
            newest = obs.timestamp if newest is None else max(newest, obs.timestamp)
    if not values:
        return ObservedMax(None, None, 0, 0, dropped)
    precise = [v for v, p in values if p]
    return ObservedMax(
        max_f=round(max(v for v, _ in values), 2),
        until=newest,
        count=len(values),
        precise_count=len(precise),
        dropped=dropped,
        precise_max_f=round(max(precise), 2) if precise else None,
    )
