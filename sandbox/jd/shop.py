"""One simulated 京东 POP vendor behind JOS: credentials, state, call limits, settings, and the
business-parameter helpers (`Call`, over the decoded `360buy_param_json`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.jd.errors import BusinessError
from sandbox.jd.model import parse_time
from sandbox.jd.store import JdStore
from sandbox.runtime import Clock, Faults, RequestCounter, WriteLog


@dataclass
class Credentials:
    app_key: str
    app_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    token_valid: bool = True


@dataclass
class Settings:
    """Behaviour JD's documentation (as far as the sources go) leaves open; see docs/decisions.md."""

    order_window_seconds: float = 30 * 86_400.0   # pop.order.search: a month at most (third-party)
    refund_window_seconds: float = 30 * 86_400.0
    timestamp_skew_seconds: float = 360.0          # "允许客户端请求时间误差为6分钟"
    rate_limit_code: str = "2"
    window_end_inclusive: bool = True              # JD searches take closed date ranges


@dataclass
class CallLimits:
    clock: Clock
    api_calls: int = 200
    window_seconds: float = 1.0
    refused: Counter[str] = field(default_factory=Counter)
    _start: float = 0.0
    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, method: str) -> bool:
        with self._lock:
            moment = self.clock.monotonic()
            if moment - self._start >= self.window_seconds:
                self._start, self._counts = moment, Counter()
            self._counts[method] += 1
            if self._counts[method] > self.api_calls:
                self.refused[method] += 1
                return False
            return True

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.refused.clear()


@dataclass
class Call:
    method: str
    args: dict[str, Any]

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.args.get(name)
        if value is None or str(value) == "":
            if required:
                raise BusinessError(f"{name} 不能为空")
            return None
        return str(value)

    def number(self, name: str, *, required: bool = False, default: int | None = None,
               low: int | None = None, high: int | None = None) -> int | None:
        raw = self.text(name, required=required)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BusinessError(f"{name} 必须是整数, 收到 {raw!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise BusinessError(f"{name} 取值范围 {low}~{high}, 收到 {value}")
        return value

    def moment(self, name: str, *, required: bool = False) -> datetime | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise BusinessError(f"{name} 格式应为 yyyy-MM-dd HH:mm:ss, 收到 {raw!r}") from None


Hook = Callable[[str, dict[str, Any]], None]


@dataclass
class JdShop:
    credentials: Credentials
    store: JdStore
    limits: CallLimits
    clock: Clock
    faults: Faults
    writes: WriteLog
    requests: RequestCounter
    settings: Settings = field(default_factory=Settings)
    calls: Counter[str] = field(default_factory=Counter)
    hooks: list[Hook] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def after_call(self, method: str, args: dict[str, Any]) -> None:
        with self._lock:
            self.calls[method] += 1
            hooks = list(self.hooks)
        for hook in hooks:
            hook(method, args)

    def in_window(self, moment: datetime, start: datetime, end: datetime) -> bool:
        return start <= moment <= end if self.settings.window_end_inclusive else start <= moment < end
