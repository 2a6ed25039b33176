"""微信 access tokens: `GET /cgi-bin/token` and `POST /cgi-bin/stable_token`.

A token lives `token_ttl_seconds` (7200) of simulated time. Asking `/cgi-bin/token` again issues a
new token and leaves the previous one valid for five more minutes; `stable_token` hands back the
current token until it expires, or a new one with `force_refresh`. An expired token answers 42001,
an unknown one 40001.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from sandbox.runtime import Clock
from sandbox.wechat.errors import INVALID_CREDENTIAL, TOKEN_EXPIRED, TOKEN_MISSING, WechatError

OVERLAP_SECONDS = 300.0


class TokenStore:
    def __init__(self, clock: Clock, ttl: Callable[[], float]) -> None:
        self.clock, self.ttl = clock, ttl
        self._expiry: dict[str, float] = {}
        self._current: str | None = None
        self._lock = threading.Lock()
        self.issued = 0

    def issue(self) -> tuple[str, int]:
        with self._lock:
            now = self.clock.monotonic()
            if self._current is not None:
                self._expiry[self._current] = min(self._expiry[self._current], now + OVERLAP_SECONDS)
            token = secrets.token_urlsafe(96)
            ttl = self.ttl()
            self._expiry[token], self._current = now + ttl, token
            self.issued += 1
            return token, int(ttl)

    def stable(self, *, force_refresh: bool) -> tuple[str, int]:
        with self._lock:
            current = self._current
            remaining = self._expiry[current] - self.clock.monotonic() if current else 0.0
        if current is None or force_refresh or remaining <= 0:
            return self.issue()
        return current, int(remaining)

    def check(self, token: str | None) -> None:
        if not token:
            raise WechatError(TOKEN_MISSING, "access_token missing")
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            raise WechatError(INVALID_CREDENTIAL, "invalid credential, access_token is invalid or not latest")
        if expiry <= self.clock.monotonic():
            raise WechatError(TOKEN_EXPIRED, "access_token expired")

    def expire_all(self) -> None:
        with self._lock:
            now = self.clock.monotonic()
            self._expiry = {token: min(expiry, now) for token, expiry in self._expiry.items()}
