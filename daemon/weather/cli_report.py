"""The NWS Daily Climate Report (CLI product): the settlement source.

A product holds one or more station summaries ("...THE CENTRAL PARK NY CLIMATE SUMMARY FOR JULY 8 2026...").
Each has a TEMPERATURE section whose block is `YESTERDAY` (the morning final for the summary date) or
`TODAY` (intra-day, "VALID TODAY AS OF 0400 PM LOCAL TIME": NOT final — a partial high can be far below
the day's eventual maximum). `MM` means missing; values may carry a flag letter (R record, E estimated,
* …). Corrections are marked by the WMO BBB `CCx` or the word CORRECTION/CORRECTED in the text; every
issuance is kept, a later correction supersedes.

Pure text parsing; never guesses: a field that cannot be read is None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

from daemon.weather.errors import WeatherParseError

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
# Offsets of the zone abbreviations NWS offices print. "AST" is ambiguous (Atlantic vs. old Alaska): refused.
_ZONES = {
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "SST": -11, "CHST": 10, "UTC": 0, "GMT": 0,
}  # fmt: skip

_WMO = re.compile(r"^\s*([A-Z]{4}\d{2})\s+([A-Z]{4})\s+(\d{6})(?:\s+([A-Z]{3}))?\s*$", re.MULTILINE)
_PIL = re.compile(r"^\s*(CLI[A-Z0-9]{3})\s*$", re.MULTILINE)
_ISSUED = re.compile(
    r"^\s*(\d{3,4})\s+(AM|PM)\s+([A-Z]{3,4})\s+[A-Z]{3}\s+([A-Z]{3})\s+(\d{1,2})\s+(\d{4})\s*$", re.MULTILINE
)
_SUMMARY = re.compile(
    r"\.\.\.\s*THE\s+(.+?)\s+CLIMATE SUMMARY\s+(?:FOR|FROM)\s+([A-Z]+)\s+(\d{1,2})\s*,?\s+(\d{4})(.*?)\.\.\.",
)
_VALID_AS_OF = re.compile(r"VALID\s+(?:TODAY\s+)?AS\s+OF\s+(\d{3,4}\s+[AP]M)\s+LOCAL TIME", re.IGNORECASE)
_TEMP_HEADER = re.compile(r"^\s*TEMPERATURE\s*(?:\(F\))?\s*$")
_BLOCK = re.compile(r"^\s*(YESTERDAY|TODAY)\s*$")
_ROW = re.compile(r"^\s*(MAXIMUM|MINIMUM)\s+(-?\d+|MM)\s*(?:\(([A-Z*])\)|([A-Z*]))?(?=\s|$)(.*)$")
_TIME = re.compile(r"^\s*(\d{1,2}:?\d{2}\s+[AP]M|MM)(?=\s|$)")
_CORRECTION = re.compile(r"\bCORRECT(?:ION|ED)\b")


@dataclass(frozen=True)
class CliReport:
    pil: str | None                       # e.g. CLINYC
    office: str | None                    # WMO originator, e.g. KOKX
    wmo_bbb: str | None                   # RRA (retransmission), CCA (correction), …
    is_correction: bool
    issued_at: datetime | None            # UTC, from the local issuance line; None if the zone is unknown
    station_name: str
    summary_day: date
    block: Literal["YESTERDAY", "TODAY"] | None
    valid_as_of: str | None               # "0400 PM" on intra-day reports
    valid_as_of_at: datetime | None       # that instant in UTC (zone of the issuance line)
    max_f: int | None                     # None when MM or absent
    max_flag: str | None                  # R (record), E (estimated), * …
    max_time: str | None                  # LST clock time as printed, e.g. "347 PM"
    min_f: int | None

    @property
    def is_final(self) -> bool:
        """The morning report's YESTERDAY block, or any report issued after the summary day ended."""
        if self.block == "YESTERDAY":
            return True
        return self.issued_at is not None and self._issued_local_day_after()

    def _issued_local_day_after(self) -> bool:
        # issued_at is UTC; compare in the station's printed zone is unavailable here, so use a
        # conservative bound: more than 36 h after the summary day's UTC start is surely the next day.
        start = datetime.combine(self.summary_day, datetime.min.time(), tzinfo=UTC)
        return self.issued_at is not None and self.issued_at >= start + timedelta(hours=36)

    def final_high_for(self, day: date) -> int | None:
        """The settled high for `day` if this report is a final for it, else None."""
        return self.max_f if self.is_final and self.summary_day == day else None


def _clock_time(hhmm: str, ampm: str) -> tuple[int, int] | None:
    """'347', 'PM' → (15, 47); None if impossible."""
    hour, minute = divmod(int(hhmm.replace(":", "")), 100)
    if not (1 <= hour <= 12 and minute < 60):
        return None
    return hour % 12 + (12 if ampm.upper() == "PM" else 0), minute


def _issuance(text: str) -> tuple[datetime | None, timezone | None]:
    """(issue instant in UTC, the zone printed on the issuance line); Nones if unreadable or ambiguous."""
    match = _ISSUED.search(text)
    if not match:
        return None, None
    hhmm, ampm, zone, mon, day, year = match.groups()
    offset = _ZONES.get(zone)
    month = _MONTHS.get(mon[:3])
    clock = _clock_time(hhmm, ampm)
    if offset is None or month is None or clock is None:
        return None, None
    tz = timezone(timedelta(hours=offset))
    try:
        local = datetime(int(year), month, int(day), *clock, tzinfo=tz)
    except ValueError:
        return None, None
    return local.astimezone(UTC), tz


def _valid_as_of_at(summary_day: date, valid: str | None, tz: timezone | None) -> datetime | None:
    """'0400 PM' on the summary day, in the zone of the issuance line, as UTC."""
    if not valid or tz is None:
        return None
    hhmm, ampm = valid.split()
    clock = _clock_time(hhmm, ampm)
    if clock is None:
        return None
    return datetime(summary_day.year, summary_day.month, summary_day.day, *clock, tzinfo=tz).astimezone(UTC)


def _int_or_none(token: str) -> int | None:
    return None if token == "MM" else int(token)


def _temperature_block(lines: list[str]) -> tuple[str | None, dict[str, tuple[int | None, str | None, str | None]]]:
    """(YESTERDAY|TODAY|None, {MAXIMUM: (value, flag, time), MINIMUM: …}) from a summary's lines."""
    for i, line in enumerate(lines):
        if not _TEMP_HEADER.match(line):
            continue
        block = None
        rows: dict[str, tuple[int | None, str | None, str | None]] = {}
        for follow in lines[i + 1 :]:
            if not follow.strip():
                if block and rows:
                    break
                continue
            if m := _BLOCK.match(follow):
                if block:
                    break
                block = m.group(1)
                continue
            if m := _ROW.match(follow):
                kind, value, paren_flag, flag, rest = m.groups()
                flag = paren_flag or flag
                time_match = _TIME.match(rest)
                when = time_match.group(1) if time_match and time_match.group(1) != "MM" else None
                rows.setdefault(kind, (_int_or_none(value), flag or None, when))
                continue
            if follow[:1] not in (" ", "\t") and not follow.lstrip().startswith(("AVERAGE", "MAXIMUM", "MINIMUM")):
                break  # the next section (PRECIPITATION …)
        return block, rows
    return None, {}


def _split_summaries(text: str) -> list[tuple[re.Match[str], str]]:
    matches = list(_SUMMARY.finditer(text))
    return [(m, text[m.start() : matches[k + 1].start() if k + 1 < len(matches) else len(text)]) for k, m in enumerate(matches)]


def parse_cli_product(text: str) -> list[CliReport]:
    """Every station summary in one CLI product. Raises WeatherParseError if there is none."""
    if not text or not text.strip():
        raise WeatherParseError("empty climate report")
    text = text.replace("\r\n", "\n").replace("\t", "    ")
    wmo = _WMO.search(text)
    pil = _PIL.search(text)
    head = text[: _SUMMARY.search(text).start()] if _SUMMARY.search(text) else text
    bbb = wmo.group(4) if wmo else None
    issued, issued_zone = _issuance(text)
    reports = []
    for match, body in _split_summaries(text):
        station, mon, day, year, trailer = match.groups()
        month = _MONTHS.get(mon[:3])
        if month is None:
            raise WeatherParseError(f"climate summary with unknown month {mon!r}")
        block, rows = _temperature_block(body.splitlines())
        valid = _VALID_AS_OF.search(body)
        valid_text = " ".join(valid.group(1).split()) if valid else None
        summary_day = date(int(year), month, int(day))
        high = rows.get("MAXIMUM", (None, None, None))
        low = rows.get("MINIMUM", (None, None, None))
        correction = bool(bbb and bbb.startswith("CC")) or bool(_CORRECTION.search(head + trailer))
        reports.append(
            CliReport(
                pil=pil.group(1) if pil else None,
                office=wmo.group(2) if wmo else None,
                wmo_bbb=bbb,
                is_correction=correction,
                issued_at=issued,
                station_name=" ".join(station.split()),
                summary_day=summary_day,
                block=block,  # type: ignore[arg-type]
                valid_as_of=valid_text,
                valid_as_of_at=_valid_as_of_at(summary_day, valid_text, issued_zone),
                max_f=high[0],
                max_flag=high[1],
                max_time=high[2],
                min_f=low[0],
            )
        )
    if not reports:
        raise WeatherParseError("no '...CLIMATE SUMMARY FOR <date>...' line: not a daily climate report")
    return reports


def parse_cli(text: str) -> CliReport:
    """The first (main station's) summary of a CLI product."""
    return parse_cli_product(text)[0]


def settled_high(reports: list[CliReport], day: date) -> int | None:
    """The settlement value for `day` from a set of issuances: the latest final, corrections superseding.

    Reports without an issuance time sort first; among finals the latest issued wins.
    """
    finals = [r for r in reports if r.summary_day == day and r.is_final and r.max_f is not None]
    if not finals:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    finals.sort(key=lambda r: (r.issued_at or epoch, r.is_correction))
    return finals[-1].max_f
