"""The recorded Kalshi tape: markets, every trade, and the recorded results, for point-in-time replay.

Reads any directory with the layout of `shared/data` (`kalshi/kxhigh_markets.parquet`,
`kalshi/kxhigh_trades.parquet`, `kalshi/kxhigh_settlements.csv`) with DuckDB. Trades are kept as one set of
numpy arrays sorted by (ticker, created_time, trade_id), sliced per ticker, so every point-in-time look-up is a
bisect. Traps handled here (see the data README):
- trades of tickers that have no market row (the legacy `HIGHNY…` period before 2024-08-16) are dropped, and so
  is any trade outside its market's [open_time, close_time);
- the market rows' bid/ask/last/volume/open-interest fields were captured AFTER settlement: they are never read;
- markets without strike fields get their bracket from `subtitle` ("61° to 62°", "34° or below", "41° or above");
- `close_time` is read per market, never derived from the climate day (Chicago closes at 23:59 Eastern);
- an event may have no result: its markets get `RecordedResult(result=None)` and never settle.

The price "at t" is the study's rule: the last trade with created_time < t; trades sharing one timestamp are one
sweep, whose deepest level (the highest YES price of a YES-taker sweep, the lowest of a NO-taker sweep) is last.
A result becomes knowable at `settles_at`: the recorded `expected_expiration_time` plus the market's
`settlement_timer_seconds` (the data has no actual settlement timestamp), else close_time + 24 h.
Never reads the wall clock; holds no mutable state after loading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np

from daemon.cities import CityRegistry, default_registry

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FALLBACK_SETTLE_DELAY = timedelta(hours=24)   # close → result knowable, when the data has no expiration time
MARKETS_FILE = Path("kalshi/kxhigh_markets.parquet")
TRADES_FILE = Path("kalshi/kxhigh_trades.parquet")
SETTLEMENTS_FILE = Path("kalshi/kxhigh_settlements.csv")

_BETWEEN = re.compile(r"^\s*(-?\d+)°?\s+to\s+(-?\d+)°?\s*$")
_BELOW = re.compile(r"^\s*(-?\d+)°?\s+or\s+below\s*$")
_ABOVE = re.compile(r"^\s*(-?\d+)°?\s+or\s+above\s*$")


class TapeError(ValueError):
    """The data directory is missing a file, or its contents contradict themselves."""


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch of an aware instant (the tape's time axis)."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}")
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def strikes_from_subtitle(subtitle: str | None) -> tuple[str, Decimal | None, Decimal | None] | None:
    """(strike_type, floor, cap) in Kalshi's convention from a bracket label; None if it is not one.

    'between' is inclusive [floor, cap]; 'less' wins below cap (strict); 'greater' wins above floor (strict)."""
    text = (subtitle or "").strip()
    if m := _BETWEEN.match(text):
        return "between", Decimal(m.group(1)), Decimal(m.group(2))
    if m := _BELOW.match(text):
        return "less", None, Decimal(int(m.group(1)) + 1)
    if m := _ABOVE.match(text):
        return "greater", Decimal(int(m.group(1)) - 1), None
    return None


@dataclass(frozen=True)
class TapeMarket:
    """The point-in-time-safe static fields of one recorded market (nothing captured after settlement)."""

    ticker: str
    event_ticker: str
    series_ticker: str
    climate_day: date
    strike_type: str | None
    floor_strike: Decimal | None
    cap_strike: Decimal | None
    subtitle: str
    yes_sub_title: str
    no_sub_title: str
    title: str
    event_title: str
    event_sub_title: str
    open_time: datetime
    close_time: datetime
    expected_expiration_time: datetime | None
    latest_expiration_time: datetime | None
    settlement_timer_seconds: int
    rules_primary: str
    rules_secondary: str
    strikes_from_subtitle: bool = False     # the row had no strike fields: parsed from `subtitle`

    def wins(self, high: int) -> bool | None:
        """YES iff `high` is in the bracket; None when the market has no bracket."""
        if self.strike_type == "between" and self.floor_strike is not None and self.cap_strike is not None:
            return self.floor_strike <= high <= self.cap_strike
        if self.strike_type == "greater" and self.floor_strike is not None:
            return high > self.floor_strike
        if self.strike_type == "less" and self.cap_strike is not None:
            return high < self.cap_strike
        return None


@dataclass(frozen=True)
class RecordedResult:
    """What the record says a market settled to, and from when a backtest may know it."""

    result: str | None          # 'yes' | 'no' | None (no result recorded: never settles)
    settles_at: datetime
    expiration_value: str | None = None


@dataclass(frozen=True)
class LastTrade:
    price_cents: int            # YES price of the sweep's deepest level
    taker_yes: bool             # the sweep's aggressor bought YES
    created_time: datetime
    index: int                  # position in the ticker's arrays of the sweep's last trade


@dataclass(frozen=True)
class TickerTrades:
    """One market's trades (views into the tape's arrays), sorted by created_time."""

    time_us: np.ndarray         # int64 µs since the epoch
    price: np.ndarray           # int16 YES price, cents
    count: np.ndarray           # int32 contracts
    taker_yes: np.ndarray       # bool
    sweep_price: np.ndarray     # int16: the deepest price of the sweep each trade belongs to
    cum_count: np.ndarray       # int64: contracts traded up to and including each trade

    def __len__(self) -> int:
        return len(self.time_us)

    def index_before(self, t_us: int) -> int:
        """How many trades have created_time < t (so trades[:i] are visible at t)."""
        return int(np.searchsorted(self.time_us, t_us, side="left"))


@dataclass
class TapeStats:
    markets: int = 0
    events: int = 0
    trades: int = 0
    dropped_unknown_ticker: int = 0
    dropped_outside_hours: int = 0
    strikes_from_subtitle: int = 0
    events_without_result: list[str] = field(default_factory=list)


_EMPTY = TickerTrades(*(np.zeros(0, dtype=d) for d in ("int64", "int16", "int32", "bool", "int16", "int64")))


class Tape:
    """Markets, trades and results of a recorded data set. Immutable after construction."""

    def __init__(self, markets: list[TapeMarket], results: dict[str, RecordedResult],
                 trades: dict[str, TickerTrades], stats: TapeStats) -> None:
        self.markets: dict[str, TapeMarket] = {m.ticker: m for m in sorted(markets, key=lambda m: m.ticker)}
        self.results = results
        self._trades = trades
        self.stats = stats
        events: dict[str, list[TapeMarket]] = {}
        for m in self.markets.values():
            events.setdefault(m.event_ticker, []).append(m)
        self.events: dict[str, list[TapeMarket]] = dict(sorted(events.items()))

    # -- loading --------------------------------------------------------------------------------------
    @classmethod
    def load(cls, data_dir: Path | str, *, start: date | None = None, end: date | None = None,
             series: Iterable[str] | None = None, cities: Iterable[str] | None = None,
             registry: CityRegistry | None = None) -> Tape:
        """Load `data_dir`, keeping climate days in [start, end] (inclusive) and the given series (`KXHIGHNY`…;
        legacy `HIGHNY` events belong to their `series_ticker`) and/or cities (codes of the registry, whose
        series and legacy series they stand for). Raises TapeError."""
        root = Path(data_dir)
        if cities is not None:
            registry = registry or default_registry()
            wanted: list[str] = list(series or [])
            for code in cities:
                try:
                    city = registry.get(code)
                except KeyError as exc:
                    raise TapeError(str(exc).strip('"')) from None
                wanted.extend((*city.series, *city.legacy_series))
            series = wanted
        for name in (MARKETS_FILE, TRADES_FILE, SETTLEMENTS_FILE):
            if not (root / name).is_file():
                raise TapeError(f"{root / name}: missing (expected the layout of shared/data)")
        con = duckdb.connect()
        try:
            return cls._load(con, root, start, end, tuple(s.upper() for s in series) if series else None)
        except duckdb.Error as exc:
            raise TapeError(f"{root}: unreadable tape ({str(exc).splitlines()[0]})") from None
        finally:
            con.close()

    @classmethod
    def _load(cls, con: duckdb.DuckDBPyConnection, root: Path, start: date | None, end: date | None,
              series: tuple[str, ...] | None) -> Tape:
        stats = TapeStats()
        where, params = ["TRUE"], []
        if start is not None:
            where.append("CAST(file_date AS DATE) >= ?")
            params.append(start)
        if end is not None:
            where.append("CAST(file_date AS DATE) <= ?")
            params.append(end)
        if series is not None:
            where.append(f"upper(series_ticker) IN ({', '.join('?' * len(series))})")
            params.extend(series)
        con.execute(f"""
            CREATE TEMP TABLE mk AS SELECT
              ticker, event_ticker, series_ticker, CAST(file_date AS DATE) AS climate_day, strike_type,
              floor_strike, cap_strike, coalesce(subtitle, '') AS subtitle, coalesce(yes_sub_title, '') AS yes_sub,
              coalesce(no_sub_title, '') AS no_sub, coalesce(title, '') AS title,
              coalesce(event_title, '') AS event_title, coalesce(event_sub_title, '') AS event_sub,
              CAST(open_time AS TIMESTAMPTZ) AS open_time, CAST(close_time AS TIMESTAMPTZ) AS close_time,
              CAST(nullif(expected_expiration_time, '') AS TIMESTAMPTZ) AS expected_exp,
              CAST(nullif(latest_expiration_time, '') AS TIMESTAMPTZ) AS latest_exp,
              coalesce(settlement_timer_seconds, 0) AS timer, coalesce(rules_primary, '') AS rules_primary,
              coalesce(rules_secondary, '') AS rules_secondary, nullif(result, '') AS result,
              nullif(expiration_value, '') AS expiration_value
            FROM read_parquet(?) WHERE {' AND '.join(where)}""", [str(root / MARKETS_FILE), *params])
        rows = con.execute("SELECT * FROM mk ORDER BY ticker").fetchall()
        dupes = con.execute("SELECT ticker FROM mk GROUP BY ticker HAVING count(*) > 1 LIMIT 1").fetchall()
        if dupes:
            raise TapeError(f"market {dupes[0][0]} appears twice in {MARKETS_FILE}")
        winners = {e: w for e, w in con.execute(
            "SELECT event_ticker, nullif(winning_ticker, '') FROM read_csv_auto(?, header=true)",
            [str(root / SETTLEMENTS_FILE)]).fetchall()}
        markets, results = [], {}
        for (ticker, event, series_ticker, day, strike_type, floor, cap, subtitle, yes_sub, no_sub, title,
             event_title, event_sub, open_t, close_t, expected, latest, timer, rules, rules2, result,
             exp_value) in rows:
            parsed = False
            floor_d = None if floor is None else Decimal(repr(floor))
            cap_d = None if cap is None else Decimal(repr(cap))
            if strike_type is None and floor is None and cap is None:
                bracket = strikes_from_subtitle(subtitle or yes_sub)
                if bracket is not None:
                    strike_type, floor_d, cap_d = bracket
                    parsed = True
                    stats.strikes_from_subtitle += 1
            open_t, close_t = open_t.astimezone(UTC), close_t.astimezone(UTC)
            expected = expected.astimezone(UTC) if expected is not None else None
            markets.append(TapeMarket(
                ticker=ticker, event_ticker=event, series_ticker=(series_ticker or event.split("-")[0]).upper(),
                climate_day=day, strike_type=strike_type, floor_strike=floor_d, cap_strike=cap_d,
                subtitle=subtitle, yes_sub_title=yes_sub, no_sub_title=no_sub, title=title,
                event_title=event_title, event_sub_title=event_sub, open_time=open_t, close_time=close_t,
                expected_expiration_time=expected,
                latest_expiration_time=latest.astimezone(UTC) if latest is not None else None,
                settlement_timer_seconds=int(timer), rules_primary=rules, rules_secondary=rules2,
                strikes_from_subtitle=parsed))
            results[ticker] = RecordedResult(_result(ticker, event, result, winners), _settles_at(
                close_t, expected, int(timer)), exp_value)
        stats.markets = len(markets)
        stats.events = len({m.event_ticker for m in markets})
        stats.events_without_result = sorted({m.event_ticker for m in markets if results[m.ticker].result is None})
        trades = cls._load_trades(con, root, stats)
        return cls(markets, results, trades, stats)

    @staticmethod
    def _load_trades(con: duckdb.DuckDBPyConnection, root: Path, stats: TapeStats) -> dict[str, TickerTrades]:
        con.execute("""
            CREATE TEMP TABLE tr AS SELECT t.ticker, k.id, t.created_time, t.trade_id, t.yes_price, t.count,
              t.taker_side, k.open_time, k.close_time
            FROM read_parquet(?) t
            LEFT JOIN (SELECT ticker, open_time, close_time, row_number() OVER (ORDER BY ticker) - 1 AS id FROM mk) k
            USING (ticker)""", [str(root / TRADES_FILE)])
        names = [r[0] for r in con.execute("SELECT ticker FROM mk ORDER BY ticker").fetchall()]
        unknown, outside = con.execute("""SELECT count(*) FILTER (WHERE open_time IS NULL),
              count(*) FILTER (WHERE open_time IS NOT NULL AND (created_time < open_time
                                                              OR created_time >= close_time)) FROM tr""").fetchone()
        stats.dropped_unknown_ticker, stats.dropped_outside_hours = int(unknown), int(outside)
        bad = con.execute("""
            SELECT ticker FROM tr WHERE open_time IS NOT NULL AND (yes_price NOT BETWEEN 1 AND 99 OR count <= 0
              OR taker_side NOT IN ('yes', 'no') OR created_time IS NULL) LIMIT 1""").fetchall()
        if bad:
            raise TapeError(f"{TRADES_FILE}: impossible trade in {bad[0][0]} (price, count, side or time)")
        arrays = con.execute("""
            SELECT CAST(id AS INTEGER) AS k, epoch_us(created_time) AS t, CAST(yes_price AS SMALLINT) AS p,
                   CAST(count AS INTEGER) AS n, taker_side = 'yes' AS y
            FROM tr WHERE open_time IS NOT NULL AND created_time >= open_time AND created_time < close_time
            ORDER BY id, created_time, trade_id""").fetchnumpy()
        tickers = np.ascontiguousarray(arrays["k"], dtype=np.int32)
        stats.trades = len(tickers)
        time_us = np.ascontiguousarray(arrays["t"], dtype=np.int64)
        price = np.ascontiguousarray(arrays["p"], dtype=np.int16)
        count = np.ascontiguousarray(arrays["n"], dtype=np.int32)
        taker_yes = np.ascontiguousarray(arrays["y"], dtype=bool)
        if len(tickers) == 0:
            return {}
        starts = np.flatnonzero(np.r_[True, tickers[1:] != tickers[:-1]])
        ends = np.r_[starts[1:], len(tickers)]
        sweep = _sweep_prices(time_us, price, taker_yes, starts)
        cum = np.cumsum(count, dtype=np.int64)
        out = {}
        for a, b in zip(starts.tolist(), ends.tolist()):
            base = cum[a - 1] if a else 0
            out[names[int(tickers[a])]] = TickerTrades(time_us[a:b], price[a:b], count[a:b], taker_yes[a:b], sweep[a:b],
                                                cum[a:b] - base)
        return out

    # -- reading --------------------------------------------------------------------------------------
    def trades(self, ticker: str) -> TickerTrades:
        return self._trades.get(ticker, _EMPTY)

    def last_trade_before(self, ticker: str, t: datetime) -> LastTrade | None:
        """The study's price at t: the last trade with created_time < t, its sweep resolved to the deepest level."""
        tt = self.trades(ticker)
        i = tt.index_before(to_us(t))
        if i == 0:
            return None
        return LastTrade(int(tt.sweep_price[i - 1]), bool(tt.taker_yes[i - 1]), from_us(int(tt.time_us[i - 1])), i - 1)

    def volume_before(self, ticker: str, t: datetime) -> int:
        tt = self.trades(ticker)
        i = tt.index_before(to_us(t))
        return int(tt.cum_count[i - 1]) if i else 0

    def markets_between(self, start: date | None = None, end: date | None = None,
                        series: Iterable[str] | None = None) -> Iterator[TapeMarket]:
        """Markets whose climate day is in [start, end], optionally of some series only, by ticker."""
        wanted = {s.upper() for s in series} if series is not None else None
        for m in self.markets.values():
            if (start is None or m.climate_day >= start) and (end is None or m.climate_day <= end) \
                    and (wanted is None or m.series_ticker in wanted):
                yield m

    @property
    def series(self) -> list[str]:
        return sorted({m.series_ticker for m in self.markets.values()})

    def events_of(self, series_ticker: str) -> list[str]:
        series_ticker = series_ticker.upper()
        return [e for e, ms in self.events.items() if ms[0].series_ticker == series_ticker]

    def all_trade_arrays(self) -> Iterator[tuple[str, TickerTrades]]:
        return iter(sorted(self._trades.items()))


def _result(ticker: str, event: str, recorded: str | None, winners: dict[str, str | None]) -> str | None:
    """The market row's result, checked against the settlements file; None when neither has one."""
    by_event = None
    if event in winners and winners[event] is not None:
        by_event = "yes" if winners[event] == ticker else "no"
    if recorded is not None and recorded not in ("yes", "no"):
        recorded = None            # 'void' / 'all_no' style values: treated as no result, never guessed
    if recorded is not None and by_event is not None and recorded != by_event:
        raise TapeError(f"{ticker}: market result {recorded!r} contradicts the settlements file ({by_event!r})")
    return recorded if recorded is not None else by_event


def _settles_at(close_time: datetime, expected: datetime | None, timer: int) -> datetime:
    if expected is None:
        return close_time + FALLBACK_SETTLE_DELAY
    return max(expected, close_time) + timedelta(seconds=timer)


def _sweep_prices(time_us: np.ndarray, price: np.ndarray, taker_yes: np.ndarray,
                  ticker_starts: np.ndarray) -> np.ndarray:
    """For every trade, the deepest price of its same-timestamp sweep (max YES price if the taker bought YES)."""
    n = len(time_us)
    new_group = np.r_[True, time_us[1:] != time_us[:-1]]
    new_group[ticker_starts] = True
    group = np.cumsum(new_group) - 1
    group_starts = np.flatnonzero(new_group)
    hi = np.maximum.reduceat(price, group_starts)
    lo = np.minimum.reduceat(price, group_starts)
    deep = np.where(taker_yes[group_starts], hi, lo).astype(np.int16)
    return deep[group] if n else deep
