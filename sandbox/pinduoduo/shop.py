"""One simulated 拼多多 mall behind the gateway: credentials, state, call limits, settings, and
the parameter helpers handlers use (`Call`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.pinduoduo.errors import bad_parameter, empty_parameter
from sandbox.pinduoduo.model import from_unix
from sandbox.pinduoduo.store import PddStore
from sandbox.runtime import Clock, Faults, RequestCounter, WriteLog


@dataclass
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_valid: bool = True
    generation: int = 0


@dataclass
class Settings:
    """Behaviour PDD's documentation leaves open (see docs/decisions.md)."""

    order_window_seconds: float = 1800.0     # increment windows: at most 30 minutes
    refund_window_seconds: float = 1800.0
    timestamp_skew_seconds: float = 600.0
    window_end_inclusive: bool = False


@dataclass
class CallLimits:
    """Calls per client per API in fixed windows of simulated time; over the limit is 52101."""

    clock: Clock
    api_calls: int = 200
    window_seconds: float = 1.0
    refused: Counter[str] = field(default_factory=Counter)
    _start: float = 0.0
    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, api: str) -> bool:
        with self._lock:
            moment = self.clock.monotonic()
            if moment - self._start >= self.window_seconds:
                self._start, self._counts = moment, Counter()
            self._counts[api] += 1
            if self._counts[api] > self.api_calls:
                self.refused[api] += 1
                return False
            return True

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.refused.clear()


@dataclass
class Call:
    api: str
    params: dict[str, str]

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.params.get(name, "")
        if value == "":
            if required:
                raise empty_parameter(name)
            return None
        return value

    def number(self, name: str, *, required: bool = False, default: int | None = None,
               low: int | None = None, high: int | None = None) -> int | None:
        raw = self.text(name, required=required)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_parameter(f"{name} 必须是整数, 收到 {raw!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise bad_parameter(f"{name} 取值范围 {low}~{high}, 收到 {value}")
        return value

    def moment(self, name: str) -> datetime:
        return from_unix(self.number(name, required=True) or 0)

    def flag(self, name: str) -> bool:
        return (self.text(name) or "false").lower() == "true"


Hook = Callable[[str, dict[str, str]], None]


@dataclass
class PddShop:
    credentials: Credentials
    store: PddStore
    limits: CallLimits
    clock: Clock
    faults: Faults
    writes: WriteLog
    requests: RequestCounter
    settings: Settings = field(default_factory=Settings)
    calls: Counter[str] = field(default_factory=Counter)
    hooks: list[Hook] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def after_call(self, api: str, params: dict[str, str]) -> None:
        with self._lock:
            self.calls[api] += 1
            hooks = list(self.hooks)
        for hook in hooks:
            hook(api, params)

    def in_window(self, moment: datetime, start: datetime, end: datetime) -> bool:
        return start <= moment <= end if self.settings.window_end_inclusive else start <= moment < end

    def cipher_key(self) -> str:
        return f"pdd-cipher:{self.credentials.client_id}"

    def describe(self) -> dict[str, Any]:
        return {"mall_id": self.store.mall_id}
