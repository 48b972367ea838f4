"""Kalshi cursor pagination as a lazy iterator.

An empty (or missing) cursor means the last page. A cursor that repeats is a server bug that would
loop forever: raise `MalformedResponseError` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from daemon.exchange.errors import MalformedResponseError

T = TypeVar("T")
Page = tuple[list[T], str | None]

MAX_PAGES = 10_000


def iter_cursor(fetch_page: Callable[[str | None], Page[T]], *, max_pages: int = MAX_PAGES) -> Iterator[T]:
    """Yield items from `fetch_page(cursor) -> (items, next_cursor)` until the cursor is empty."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        items, cursor = fetch_page(cursor)
        yield from items
        if not cursor:
            return
        if cursor in seen:
            raise MalformedResponseError("cursor_loop", f"cursor {cursor[:40]!r} repeated")
        seen.add(cursor)
    raise MalformedResponseError("too_many_pages", f"more than {max_pages} pages")
