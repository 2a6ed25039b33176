"""A per-account rate budget shared by every worker.

The platform tells us how much room we have (Shopify `throttleStatus`, REST call-limit
headers, `Retry-After`). `reserve(cost)` waits until a request's cost fits and takes it;
`settle(cost, available=…)` is called when that request's answer arrives: the reservation is
no longer in flight, and the platform's figure becomes the balance, less what other workers
still have in flight (their points are taken from our balance but not yet from the
platform's). So the hub slows down before the platform throttles it, yet gets back the points
a platform refunds (Shopify charges the actual cost, often below the requested one).
`RedisBudget` shares the state across processes with Lua scripts; `LocalBudget` is the same
in one process. In-flight sums older than a minute are forgotten (a worker died mid-request).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

STALE_IN_FLIGHT_S = 60.0


class RateBudget(Protocol):
    def reserve(self, cost: float) -> float:
        """Take `cost` points, sleeping first if needed; returns the seconds waited."""
        ...

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None) -> None:
        """The request that reserved `cost` was answered; record what the platform reported, if anything."""
        ...

    def pause(self, seconds: float) -> None:
        """Nothing may be sent for `seconds` (a Retry-After or THROTTLED answer)."""
        ...


class LocalBudget:
    """An in-process leaky bucket mirror of the platform's own."""

    def __init__(self, maximum: float = 1000.0, restore_rate: float = 50.0) -> None:
        self.maximum, self.restore_rate = maximum, restore_rate
        self.available = maximum
        self.in_flight = 0.0
        self.stamp = self.in_flight_stamp = time.monotonic()
        self.blocked_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self.available = min(self.maximum, self.available + (now - self.stamp) * self.restore_rate)
        self.stamp = now
        if now - self.in_flight_stamp > STALE_IN_FLIGHT_S:
            self.in_flight = 0.0

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
                    self.in_flight += cost
                    self.in_flight_stamp = now
                    return waited
                if not delay:
                    delay = (cost - self.available) / max(self.restore_rate, 0.001)
            time.sleep(delay)
            waited += delay

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None) -> None:
        with self._lock:
            now = time.monotonic()
            self._refill(now)
            self.in_flight = max(self.in_flight - min(cost, self.maximum), 0.0)
            self.maximum = maximum if maximum is not None else self.maximum
            self.restore_rate = restore_rate if restore_rate is not None else self.restore_rate
            if available is not None:
                self.available = max(min(self.maximum, available - self.in_flight), 0.0)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)


_REFILL = """
local s = redis.call('HMGET', KEYS[1], 'available', 'maximum', 'rate', 'stamp', 'blocked_until', 'in_flight',
                     'in_flight_stamp')
local now = tonumber(ARGV[1])
local maximum = tonumber(s[2]) or tonumber(ARGV[2])
local rate = tonumber(s[3]) or tonumber(ARGV[3])
local available = tonumber(s[1]) or maximum
local stamp = tonumber(s[4]) or now
local blocked = tonumber(s[5]) or 0
local in_flight = tonumber(s[6]) or 0
local in_flight_stamp = tonumber(s[7]) or now
available = math.min(maximum, available + math.max(now - stamp, 0) * rate)
if now - in_flight_stamp > tonumber(ARGV[4]) then in_flight = 0 end
"""

_SAVE = """
redis.call('HSET', KEYS[1], 'available', available, 'maximum', maximum, 'rate', rate, 'stamp', now,
           'blocked_until', blocked, 'in_flight', in_flight, 'in_flight_stamp', in_flight_stamp)
redis.call('EXPIRE', KEYS[1], 3600)
"""

_RESERVE = _REFILL + """
local cost = math.min(tonumber(ARGV[5]), maximum)
local wait = 0
if blocked > now then
  wait = blocked - now
elseif available >= cost then
  available = available - cost
  in_flight = in_flight + cost
  in_flight_stamp = now
else
  wait = (cost - available) / math.max(rate, 0.001)
end
""" + _SAVE + """
return tostring(wait)
"""

_SETTLE = _REFILL + """
in_flight = math.max(in_flight - math.min(tonumber(ARGV[5]), maximum), 0)
if ARGV[7] ~= '' then maximum = tonumber(ARGV[7]) end
if ARGV[8] ~= '' then rate = tonumber(ARGV[8]) end
if ARGV[6] ~= '' then available = math.max(math.min(maximum, tonumber(ARGV[6]) - in_flight), 0) end
""" + _SAVE + """
return 1
"""


def _arg(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class RedisBudget:
    """The same bucket kept in Redis under `marketsync:budget:{account}`, shared by every worker."""

    def __init__(self, redis: Any, account: str, *, maximum: float = 1000.0, restore_rate: float = 50.0) -> None:
        self.redis, self.key = redis, f"marketsync:budget:{account}"
        self.maximum, self.restore_rate = maximum, restore_rate
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    def _now(self) -> float:
        seconds, micros = self.redis.time()
        return float(seconds) + micros / 1_000_000

    def _args(self, *extra: Any) -> list[Any]:
        return [self._now(), self.maximum, self.restore_rate, STALE_IN_FLIGHT_S, *extra]

    def reserve(self, cost: float) -> float:
        waited = 0.0
        while True:
            wait = float(self._reserve(keys=[self.key], args=self._args(cost)))
            if wait <= 0:
                return waited
            time.sleep(wait)
            waited += wait

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None) -> None:
        self._settle(keys=[self.key], args=self._args(cost, _arg(available), _arg(maximum), _arg(restore_rate)))

    def pause(self, seconds: float) -> None:
        until = self._now() + seconds
        current = float(self.redis.hget(self.key, "blocked_until") or 0)
        if until > current:
            self.redis.hset(self.key, "blocked_until", until)
