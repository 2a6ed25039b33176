"""One simulated Taobao seller behind the TOP gateway: credentials, state, limits, settings.

Handlers receive the shop and a `Call` (the request's parameters plus who is calling) and
return the response body below the `<method>_response` root, or raise `TopError`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.runtime import Clock, Faults, RequestCounter, WriteLog
from sandbox.taobao.errors import invalid, missing
from sandbox.taobao.limits import CallLimits
from sandbox.taobao.model import parse_time
from sandbox.taobao.store import TaobaoStore
from sandbox.taobao.tmc import MessageQueue


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_secret: str
    session: str = field(repr=False)


@dataclass
class Settings:
    """Platform behaviour the documentation leaves open (see docs/decisions.md)."""

    increment_window_seconds: float = 86_400.0  # trades.sold.increment.get: end - start <= 1 day
    refund_window_seconds: float | None = None  # refunds.receive.get: no documented limit
    timestamp_skew_seconds: float = 600.0        # ±10 minutes
    window_end_inclusive: bool = False           # [start, end) by default


@dataclass
class Call:
    method: str
    params: dict[str, str]

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.params.get(name, "")
        if value == "":
            if required:
                raise missing(name)
            return default
        return value

    def number(self, name: str, *, required: bool = False, default: int | None = None,
               low: int | None = None, high: int | None = None) -> int | None:
        raw = self.text(name, required=required)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(name, f"{name} must be a whole number, got {raw!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(name, f"{name} must be between {low} and {high}, got {value}")
        return value

    def moment(self, name: str, *, required: bool = False) -> datetime | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise invalid(name, f"{name} must look like yyyy-MM-dd HH:mm:ss, got {raw!r}") from None

    def flag(self, name: str) -> bool:
        return (self.text(name) or "false").lower() == "true"

    def fields(self, *, required: bool = True) -> set[str]:
        raw = self.text("fields", required=required) or ""
        return {name.strip() for name in raw.split(",") if name.strip()}


Hook = Callable[[str, dict[str, str]], None]


@dataclass
class TaobaoShop:
    credentials: Credentials
    store: TaobaoStore
    tmc: MessageQueue
    limits: CallLimits
    clock: Clock
    faults: Faults
    writes: WriteLog
    requests: RequestCounter
    settings: Settings = field(default_factory=Settings)
    calls: Counter[str] = field(default_factory=Counter)
    hooks: list[Hook] = field(default_factory=list)
    session_valid: bool = True
    pending_online: dict[int, str] = field(default_factory=dict)  # tid -> company awaiting online.confirm
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def after_call(self, method: str, params: dict[str, str]) -> None:
        """Run test hooks (a buyer acting between two pages, say) after a call was answered."""
        with self._lock:
            self.calls[method] += 1
            hooks = list(self.hooks)
        for hook in hooks:
            hook(method, params)

    def in_window(self, moment: datetime, start: datetime, end: datetime) -> bool:
        return start <= moment <= end if self.settings.window_end_inclusive else start <= moment < end

    def describe(self) -> dict[str, Any]:
        return {"seller_id": self.store.seller_id, "seller_nick": self.store.seller_nick}
