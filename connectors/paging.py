"""Shared paginators: a connector says how one page is fetched; these walk the pages lazily.

Each paginator takes `fetch` (one request → one `Page`) and yields lists of items as the caller
consumes them, so memory stays flat for any catalogue. Each refuses to loop: a cursor it has
already followed, or a page identical to the one before (a platform ignoring the page number),
stops the walk with `Rejected` rather than reading forever.

- `cursor_pages`       next-token / cursor APIs (Shopify `endCursor`, Kuaishou `cursor` with
                       "nomore", WeChat `next_key` with `has_more`);
- `numbered_pages`     page numbers 1..N, N from the total pages or items the platform reports,
                       else the first short page (WooCommerce `X-WP-TotalPages`);
- `pages_from_the_back` newest-first results in a *closed* time window (Taobao, Pinduoduo): read
                       the last page first and each page reversed, so items arrive oldest first and
                       an item leaving the window while we read only shifts not-yet-read items;
- `time_windows`       [start, end) cut into windows of at most `span`, oldest first, for APIs that
                       bound a query's time range (≤ 30 min, ≤ 1 day, ≤ 7 days).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any, Generic, TypeVar

from connectors.errors import Rejected

T = TypeVar("T")

END_TOKENS = frozenset({"", "nomore", "null", "None"})


@dataclass(frozen=True)
class Page(Generic[T]):
    """One answered page: its items and whatever the platform said about the rest."""

    items: Sequence[T]
    next_token: str | None = None
    has_more: bool | None = None
    total_items: int | None = None
    total_pages: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _loop(where: str, what: str) -> Rejected:
    return Rejected(where, f"the platform returned {what} twice; stopped paginating to avoid a loop")


def cursor_pages(fetch: Callable[[str | None], Page[T]], *, where: str, first: str | None = None,
                 end_tokens: frozenset[str] = END_TOKENS) -> Iterator[Sequence[T]]:
    """Follow `next_token` until it is missing, an end token, or `has_more` is False."""
    seen: set[str] = {first} if first else set()
    token = first
    while True:
        page = fetch(token)
        if page.items:
            yield page.items
        token = page.next_token
        if token is None or token in end_tokens or page.has_more is False:
            return
        if page.has_more is None and not page.items:
            return
        if token in seen:
            raise _loop(where, f"the page cursor {token!r}")
        seen.add(token)


def _last_page(page: Page[Any], page_size: int) -> int | None:
    if page.total_pages is not None:
        return max(page.total_pages, 1)
    if page.total_items is not None:
        return max(ceil(page.total_items / max(page_size, 1)), 1)
    return None


def _signature(items: Sequence[T], key: Callable[[T], Hashable] | None) -> tuple[Hashable, ...] | None:
    if key is None or not items:
        return None
    return tuple(key(item) for item in items)


def numbered_pages(fetch: Callable[[int], Page[T]], *, page_size: int, where: str, first: int = 1,
                   key: Callable[[T], Hashable] | None = None) -> Iterator[Sequence[T]]:
    """Pages `first`, `first + 1`, … up to the last the platform reports (else the first short page).

    `key` identifies an item; a page with exactly the items of the page before is a loop.
    """
    number, previous = first, None
    while True:
        page = fetch(number)
        signature = _signature(page.items, key)
        if signature is not None and signature == previous:
            raise _loop(where, f"page {number - 1}'s items as page {number}")
        previous = signature
        if page.items:
            yield page.items
        last = _last_page(page, page_size)
        read = number - first + 1
        if last is not None:
            done = read >= last
        else:
            done = page.has_more is False or (page.has_more is None and len(page.items) < page_size)
        if done or not page.items:
            return
        number += 1


def pages_from_the_back(fetch: Callable[[int], Page[T]], *, page_size: int, where: str,
                        key: Callable[[T], Hashable] | None = None) -> Iterator[Sequence[T]]:
    """Newest-first pages of a closed window, last page first, each page reversed (oldest first).

    Page 1 tells the total (the platform must report one); it is read again at the end, because an
    item that left the window meanwhile shifts later items towards the front.
    """
    head = fetch(1)
    last = _last_page(head, page_size)
    if last is None:
        raise Rejected(where, "the platform reported no total, so its newest-first pages cannot be read "
                              "from the back")
    previous = None
    for number in range(last, 0, -1):
        page = head if number == 1 and last == 1 else fetch(number)
        signature = _signature(page.items, key)
        if signature is not None and signature == previous:
            raise _loop(where, f"page {number + 1}'s items as page {number}")
        previous = signature
        if page.items:
            yield list(reversed(page.items))


def time_windows(start: datetime, end: datetime, span: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) in consecutive windows of at most `span`, oldest first."""
    if span <= timedelta(0):
        raise ValueError("a time window must be longer than zero")
    low = start
    while low < end:
        high = min(low + span, end)
        yield low, high
        low = high
