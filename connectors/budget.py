"""A per-account rate budget shared by every worker.

The platform tells us how much room we have (Shopify `throttleStatus`, REST call-limit
headers, `Retry-After`); `observe()` records it and `reserve()` waits until a request's cost
fits, so the hub slows down before the platform throttles it. A report never raises the
balance above our own accounting: other workers' requests may still be in flight, their
reservations already taken from our balance but not yet from the platform's. `RedisBudget` shares the
state across processes with one Lua script; `LocalBudget` is the same in one process.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class RateBudget(Protocol):
    def reserve(self, cost: float) -> float:
        """Take `cost` points, sleeping first if needed; returns the seconds waited."""
        ...

    def observe(self, *, available: float, maximum: float, restore_rate: float) -> None:
        """Record what the platform reported after a response."""
        ...

    def pause(self, seconds: float) -> None:
        """Nothing may be sent for `seconds` (a Retry-After or THROTTLED answer)."""
        ...


class LocalBudget:
    """An in-process leaky bucket mirror of the platform's own."""

    def __init__(self, maximum: float = 1000.0, restore_rate: float = 50.0) -> None:
        self.maximum, self.restore_rate = maximum, restore_rate
        self.available = maximum
        self.stamp = time.monotonic()
        self.blocked_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self.available = min(self.maximum, self.available + (now - self.stamp) * self.restore_rate)
        self.stamp = now

    def reserve(self, cost: float) -> float:
        waited = 0.0
        cost = min(cost, self.maximum)
        while True:
            with self._lock:
                now = time.monotonic()
                self._refill(now)
                delay = max(self.blocked_until - now, 0.0)
                if not delay and self.available >= cost:
                    self.available -= cost
                    return waited
                if not delay:
                    delay = (cost - self.available) / max(self.restore_rate, 0.001)
            time.sleep(delay)
            waited += delay

    def observe(self, *, available: float, maximum: float, restore_rate: float) -> None:
        with self._lock:
            self._refill(time.monotonic())
            self.maximum, self.restore_rate = maximum, restore_rate
            self.available = min(available, self.available, maximum)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)


_RESERVE = """
local key = KEYS[1]
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local default_max = tonumber(ARGV[3])
local default_rate = tonumber(ARGV[4])
local s = redis.call('HMGET', key, 'available', 'maximum', 'rate', 'stamp', 'blocked_until')
local maximum = tonumber(s[2]) or default_max
local rate = tonumber(s[3]) or default_rate
local available = tonumber(s[1]) or maximum
local stamp = tonumber(s[4]) or now
local blocked = tonumber(s[5]) or 0
if cost > maximum then cost = maximum end
available = math.min(maximum, available + math.max(now - stamp, 0) * rate)
local wait = 0
if blocked > now then
  wait = blocked - now
elseif available >= cost then
  available = available - cost
else
  wait = (cost - available) / math.max(rate, 0.001)
end
redis.call('HSET', key, 'available', available, 'maximum', maximum, 'rate', rate, 'stamp', now,
           'blocked_until', blocked)
redis.call('EXPIRE', key, 3600)
return tostring(wait)
"""

_OBSERVE = """
local key = KEYS[1]
local reported = tonumber(ARGV[1])
local maximum = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local s = redis.call('HMGET', key, 'available', 'maximum', 'rate', 'stamp')
local old_max = tonumber(s[2]) or maximum
local old_rate = tonumber(s[3]) or rate
local own = tonumber(s[1]) or old_max
local stamp = tonumber(s[4]) or now
own = math.min(old_max, own + math.max(now - stamp, 0) * old_rate)
redis.call('HSET', key, 'available', math.min(reported, own, maximum), 'maximum', maximum, 'rate', rate,
           'stamp', now)
redis.call('EXPIRE', key, 3600)
return 1
"""


class RedisBudget:
    """The same bucket kept in Redis under `budget:{account}`, shared by every worker."""

    def __init__(self, redis: Any, account: str, *, maximum: float = 1000.0, restore_rate: float = 50.0) -> None:
        self.redis, self.key = redis, f"marketsync:budget:{account}"
        self.maximum, self.restore_rate = maximum, restore_rate
        self._script = redis.register_script(_RESERVE)
        self._observe = redis.register_script(_OBSERVE)

    def _now(self) -> float:
        seconds, micros = self.redis.time()
        return float(seconds) + micros / 1_000_000

    def reserve(self, cost: float) -> float:
        waited = 0.0
        while True:
            wait = float(self._script(keys=[self.key],
                                      args=[cost, self._now(), self.maximum, self.restore_rate]))
            if wait <= 0:
                return waited
            time.sleep(wait)
            waited += wait

    def observe(self, *, available: float, maximum: float, restore_rate: float) -> None:
        self._observe(keys=[self.key], args=[available, maximum, restore_rate, self._now()])

    def pause(self, seconds: float) -> None:
        until = self._now() + seconds
        current = float(self.redis.hget(self.key, "blocked_until") or 0)
        if until > current:
            self.redis.hset(self.key, "blocked_until", until)
