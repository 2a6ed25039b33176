"""Per-app call limits, answered the TOP way: code 7 with a ban that lasts N seconds.

Two counters per fixed window of simulated time: calls of the app to one API, and calls of
the app overall. Going over either starts a ban for that scope; every call during the ban is
refused with the seconds left. TOP publishes no QPS figures, so the limits are settings.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field

from sandbox.runtime import Clock

API_SCOPE = "accesscontrol.limited-by-api-access-count"
APP_SCOPE = "accesscontrol.limited-by-app-access-count"


@dataclass
class CallLimits:
    clock: Clock
    api_calls: int = 200          # per app, per API, per window
    app_calls: int = 1000         # per app, per window
    window_seconds: float = 1.0
    ban_seconds: float = 1.0
    refused: Counter[str] = field(default_factory=Counter)
    _window_start: float = 0.0
    _counts: Counter[str] = field(default_factory=Counter)
    _bans: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, method: str) -> tuple[str, int] | None:
        """None when the call may go ahead, else (sub_code, whole seconds of ban left)."""
        with self._lock:
            moment = self.clock.monotonic()
            if moment - self._window_start >= self.window_seconds:
                self._window_start, self._counts = moment, Counter()
            for scope in (f"api:{method}", "app"):
                until = self._bans.get(scope, 0.0)
                if moment < until:
                    return self._refuse(scope, method, until - moment)
            self._counts[f"api:{method}"] += 1
            self._counts["app"] += 1
            if self._counts[f"api:{method}"] > self.api_calls:
                return self._ban(f"api:{method}", method, moment)
            if self._counts["app"] > self.app_calls:
                return self._ban("app", method, moment)
            return None

    def _ban(self, scope: str, method: str, moment: float) -> tuple[str, int]:
        self._bans[scope] = moment + self.ban_seconds
        return self._refuse(scope, method, self.ban_seconds)

    def _refuse(self, scope: str, method: str, left: float) -> tuple[str, int]:
        self.refused[method] += 1
        sub_code = APP_SCOPE if scope == "app" else API_SCOPE
        return sub_code, max(1, math.ceil(left / self.clock.factor))

    def settings(self) -> dict[str, float]:
        return {"api_calls": self.api_calls, "app_calls": self.app_calls,
                "window_seconds": self.window_seconds, "ban_seconds": self.ban_seconds}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._bans.clear()
            self.refused.clear()
