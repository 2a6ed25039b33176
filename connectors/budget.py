"""Rate budgets keyed by (account, bucket), shared by every worker.

A connector names the bucket of each call (`"default"`, or per API: `"orders"`,
`"taobao.trades.sold.increment.get"`, …) and declares the buckets it knows with their sizes
(`Connector.rate_buckets`; an unnamed bucket gets the `default` spec). `Budgets` hands out one
`RateBudget` per bucket: `LocalBudgets` in one process, `RedisBudgets` across workers, kept
under `marketsync:budget:{account}:{bucket}`.

The platform tells us how much room we have (Shopify `throttleStatus`, REST call-limit
headers, `Retry-After`). `reserve(cost)` waits until a request's cost fits and takes it;
`settle(cost, available=…)` is called when that request's answer arrives: the reservation is
no longer in flight, and the platform's figure becomes the balance, less what other workers
still have in flight (their points are taken from our balance but not yet from the
platform's). So the hub slows down before the platform throttles it, yet gets back the points
a platform refunds (Shopify charges the actual cost, often below the requested one), and all of
them when a request got no answer or a 5xx (`charged=False`): a refusing shop must not drain
the budget every worker shares.
`RedisBudget` shares the state across processes with Lua scripts; `LocalBudget` is the same
in one process. In-flight sums older than a minute are forgotten (a worker died mid-request). Every wait is a
`connectors.waits.nap`: it ends with `Interrupted` when the worker is asked to stop.

A platform that publishes no limit (a WooCommerce store without `request_limit`) gets an
unlimited bucket (`UNLIMITED`): nothing is counted or waited for, except a pause the
platform asked for with a 429 and `Retry-After`, which every worker still honours.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.waits import nap

STALE_IN_FLIGHT_S = 60.0


class RateBudget(Protocol):
    def reserve(self, cost: float) -> float:
        """Take `cost` points, sleeping first if needed; returns the seconds waited."""
        ...

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None, charged: bool = True) -> None:
        """The request that reserved `cost` was answered; record what the platform reported, if anything.

        `charged=False` (no answer, a 5xx): the platform took nothing, so the points come back.
        """
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
            nap(delay, where="a wait for rate points", rate_wait=True)
            waited += delay

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None, charged: bool = True) -> None:
        with self._lock:
            now = time.monotonic()
            self._refill(now)
            self.in_flight = max(self.in_flight - min(cost, self.maximum), 0.0)
            if not charged:
                self.available = min(self.maximum, self.available + min(cost, self.maximum))
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
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
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
if ARGV[9] == 'refund' then available = math.min(maximum, available + math.min(tonumber(ARGV[5]), maximum)) end
if ARGV[7] ~= '' then maximum = tonumber(ARGV[7]) end
if ARGV[8] ~= '' then rate = tonumber(ARGV[8]) end
if ARGV[6] ~= '' then available = math.max(math.min(maximum, tonumber(ARGV[6]) - in_flight), 0) end
""" + _SAVE + """
return 1
"""


def _arg(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class RedisBudget:
    """The same bucket kept in Redis under `marketsync:budget:{account}:{bucket}`, shared by every worker."""

    def __init__(self, redis: Any, account: str, *, bucket: str = "default", maximum: float = 1000.0,
                 restore_rate: float = 50.0) -> None:
        self.redis, self.key = redis, f"marketsync:budget:{account}:{bucket}"
        self.maximum, self.restore_rate = maximum, restore_rate
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    def _now(self) -> float:
        seconds, micros = self.redis.time()
        return float(seconds) + micros / 1_000_000

    def _args(self, *extra: Any) -> list[Any]:
        # ARGV[1] is unused: the scripts read Redis's clock themselves (a TIME round trip before
        # each of them was a third of a stock write's Redis calls, issue 16)
        return ["", self.maximum, self.restore_rate, STALE_IN_FLIGHT_S, *extra]

    def reserve(self, cost: float) -> float:
        waited = 0.0
        while True:
            wait = float(self._reserve(keys=[self.key], args=self._args(cost)))
            if wait <= 0:
                return waited
            nap(wait, where=f"a wait for rate points ({self.key})", rate_wait=True)
            waited += wait

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None, charged: bool = True) -> None:
        self._settle(keys=[self.key], args=self._args(cost, _arg(available), _arg(maximum), _arg(restore_rate),
                                                       "" if charged else "refund"))

    def pause(self, seconds: float) -> None:
        until = self._now() + seconds
        current = float(self.redis.hget(self.key, "blocked_until") or 0)
        if until > current:
            self.redis.hset(self.key, "blocked_until", until)


class LocalPauseBudget:
    """An unlimited bucket in one process: only a platform's pause holds requests back."""

    def __init__(self) -> None:
        self.blocked_until = 0.0
        self._lock = threading.Lock()

    def reserve(self, cost: float) -> float:
        with self._lock:
            delay = max(self.blocked_until - time.monotonic(), 0.0)
        if delay:
            nap(delay, where="a platform's pause", rate_wait=True)
        return delay

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None, charged: bool = True) -> None:
        return None

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)


_PAUSED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0
return tostring(math.max(blocked - now, 0))
"""


class RedisPauseBudget:
    """An unlimited bucket shared through Redis: one read per request, for a pause set by any worker
    (kept in the same hash field as `RedisBudget`'s)."""

    def __init__(self, redis: Any, account: str, *, bucket: str = "default") -> None:
        self.redis, self.key = redis, f"marketsync:budget:{account}:{bucket}"
        self._paused_for = redis.register_script(_PAUSED_FOR)

    def reserve(self, cost: float) -> float:
        delay = float(self._paused_for(keys=[self.key]))
        if delay > 0:
            nap(delay, where=f"a platform's pause ({self.key})", rate_wait=True)
        return delay

    def settle(self, cost: float, *, available: float | None = None, maximum: float | None = None,
               restore_rate: float | None = None, charged: bool = True) -> None:
        return None

    def pause(self, seconds: float) -> None:
        now_s, micros = self.redis.time()
        until = float(now_s) + micros / 1_000_000 + seconds
        if until > float(self.redis.hget(self.key, "blocked_until") or 0):
            self.redis.hset(self.key, "blocked_until", until)
            self.redis.expire(self.key, 3600)


@dataclass(frozen=True)
class BucketSpec:
    """A bucket's size until the platform reports its own: `maximum` points, refilled at `restore_rate`/s.

    `UNLIMITED` (an infinite restore rate) is a bucket nothing is counted in."""

    maximum: float = 1000.0
    restore_rate: float = 50.0

    @property
    def limited(self) -> bool:
        return math.isfinite(self.restore_rate)


# A bucket nothing is counted in (a platform that publishes no limit); a pause still holds it.
UNLIMITED = BucketSpec(maximum=math.inf, restore_rate=math.inf)


DEFAULT_BUCKET = "default"


class Budgets(ABC):
    """One `RateBudget` per bucket name for one account; the same name always gives the same budget.

    Sizes come from the connector (`with_specs`); sizes given when the store was made win, so a
    test or an operator can make a bucket smaller than the platform's.
    """

    def __init__(self, specs: Mapping[str, BucketSpec] | None = None) -> None:
        self.specs = dict(specs or {})
        self._made: dict[str, RateBudget] = {}
        self._lock = threading.Lock()

    def spec(self, bucket: str) -> BucketSpec:
        return self.specs.get(bucket) or self.specs.get(DEFAULT_BUCKET) or BucketSpec()

    def __call__(self, bucket: str = DEFAULT_BUCKET) -> RateBudget:
        with self._lock:
            budget = self._made.get(bucket)
            if budget is None:
                budget = self._made[bucket] = self._make(bucket, self.spec(bucket))
            return budget

    def with_specs(self, specs: Mapping[str, BucketSpec]) -> Budgets:
        """The same store, with the connector's bucket sizes under the ones given at creation."""
        return self._copy({**specs, **self.specs})

    @abstractmethod
    def _copy(self, specs: dict[str, BucketSpec]) -> Budgets: ...

    @abstractmethod
    def _make(self, bucket: str, spec: BucketSpec) -> RateBudget: ...


class LocalBudgets(Budgets):
    """In-process buckets (one connector, tests, the CLI without Redis)."""

    def _copy(self, specs: dict[str, BucketSpec]) -> LocalBudgets:
        return LocalBudgets(specs)

    def _make(self, bucket: str, spec: BucketSpec) -> RateBudget:
        if not spec.limited:
            return LocalPauseBudget()
        return LocalBudget(maximum=spec.maximum, restore_rate=spec.restore_rate)


class RedisBudgets(Budgets):
    """Buckets shared by every worker through Redis, for one account."""

    def __init__(self, redis: Any, account: str, specs: Mapping[str, BucketSpec] | None = None) -> None:
        super().__init__(specs)
        self.redis, self.account = redis, account

    def _copy(self, specs: dict[str, BucketSpec]) -> RedisBudgets:
        return RedisBudgets(self.redis, self.account, specs)

    def _make(self, bucket: str, spec: BucketSpec) -> RateBudget:
        if not spec.limited:
            return RedisPauseBudget(self.redis, self.account, bucket=bucket)
        return RedisBudget(self.redis, self.account, bucket=bucket, maximum=spec.maximum,
                           restore_rate=spec.restore_rate)
