"""The trade history, written while streaming: monthly JSON archives and fixed chronological HTML pages.

Pages are numbered from the OLDEST trade (page 1 = trades #1–N), so a new trade changes only the last page:
an incremental publish costs the same whatever the length of the history. Archive pages and monthly files
carry no as-of time for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.models import MonthlyTrades, Trade
from publisher.render import Renderer
from publisher.site import SiteWriter


@dataclass(frozen=True)
class PageLink:
    number: int
    first: int
    last: int

    @property
    def file(self) -> str:
        return f"p{self.number:06d}.html"


def _next_month_start(month: str) -> datetime:
    year, mon = int(month[:4]), int(month[5:7])
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return datetime.fromisoformat(f"{year:04d}-{mon:02d}-01T00:00:00+00:00")


class TradeArchive:
    def __init__(self, writer: SiteWriter, renderer: Renderer, cutoff: datetime, per_page: int,
                 delay_minutes: int) -> None:
        self._writer, self._renderer = writer, renderer
        self._cutoff, self._per_page, self._delay = cutoff, per_page, delay_minutes
        self._month: str | None = None
        self._month_rows: list[Trade] = []
        self._page_rows: list[Trade] = []
        self.months: list[str] = []
        self.pages: list[PageLink] = []

    def add(self, trade: Trade) -> None:
        month = trade.trade_time[:7]
        if month != self._month:
            self._flush_month()
            self._month = month
        self._month_rows.append(trade)
        self._page_rows.append(trade)
        if len(self._page_rows) == self._per_page:
            self._flush_page()

    def finish(self) -> None:
        self._flush_month()
        self._flush_page()

    def _flush_month(self) -> None:
        if self._month is None:
            return
        closed = self._cutoff >= _next_month_start(self._month)
        feed = MonthlyTrades(month=self._month, delay_minutes=self._delay, trades=self._month_rows,
                             complete=closed and all(t.status != "open" for t in self._month_rows))
        self._writer.write_json(f"api/v1/trades/{self._month}.json", feed.model_dump(mode="json"))
        self.months.append(self._month)
        self._month, self._month_rows = None, []

    def _flush_page(self) -> None:
        if not self._page_rows:
            return
        link = PageLink(len(self.pages) + 1, self._page_rows[0].seq, self._page_rows[-1].seq)
        previous = self.pages[-1].file if self.pages else None
        html = self._renderer.page("trades_page.html", "../", live=False, trades=self._page_rows,
                                   first=link.first, last=link.last, previous=previous)
        self._writer.write(f"trades/{link.file}", html)
        self.pages.append(link)
        self._page_rows = []
