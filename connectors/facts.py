"""Account facts that rarely change (a shop's stock location, a store's currency), kept for the process.

Every job builds a new connector, so a fact read in the connector alone was read again by every
push and every order: on Shopify a Locations query per push (252 cost points reserved for 3
charged), on WooCommerce a currency-setting GET per order. `FACTS.get(key, load)` answers from
memory for `ttl_s` seconds after a load; a connector that learns a fact is wrong (a write refused
for an unknown location) calls `forget`. Keys name the platform, the account and the API base, so
two simulators or two shops never share a fact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

FACT_TTL_S = 300.0  # a location or currency changed on the channel is picked up within five minutes


class AccountFacts:
    """A small thread-safe memo with expiry; values are loaded outside the lock."""

    def __init__(self, ttl_s: float = FACT_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = load()
        with self._lock:
            self._values[key] = (time.monotonic() + self.ttl_s, value)
        return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


FACTS = AccountFacts()
