"""Shared HTTP machinery: one client factory, one response classifier, one retry policy.

Classify first, then act: `classify()` turns a response into the hub's error (or nothing),
and `call()` runs a request under tenacity, retrying only `Retryable` errors with capped
exponential backoff plus jitter, honouring `Retry-After`. Tests swap the transport
(`transport=`), never patch this module.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from connectors.budget import RateBudget
from connectors.errors import AuthFailed, RateLimited, Rejected, Retryable

T = TypeVar("T")


@dataclass(frozen=True)
class HttpPolicy:
    timeout_s: float = 30.0
    max_attempts: int = 6
    max_backoff_s: float = 30.0
    base_backoff_s: float = 0.25


def make_client(base_url: str, *, policy: HttpPolicy, transport: httpx.BaseTransport | None = None,
                headers: dict[str, str] | None = None, auth: httpx.Auth | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=policy.timeout_s, transport=transport,
                        headers={"User-Agent": "marketsync/0.1", **(headers or {})}, auth=auth)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return None


def classify(response: httpx.Response, where: str, *, describe: Callable[[httpx.Response], str] | None = None) -> None:
    """Raise the hub's error for a non-2xx response; `describe` extracts the platform's message."""
    status = response.status_code
    if status < 400:
        return
    message = describe(response) if describe else f"HTTP {status}"
    if status == 429:
        raise RateLimited(where, retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                          message=message)
    if status in (401, 403):
        raise AuthFailed(where, message)
    if status >= 500 or status == 408:
        raise Retryable(where, message, status=status)
    raise Rejected(where, message, status=status)


def _wait(policy: HttpPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = min(policy.base_backoff_s * 2 ** (state.attempt_number - 1), policy.max_backoff_s)
        backoff = random.uniform(backoff / 2, backoff)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(max(error.retry_after, backoff / 4), policy.max_backoff_s)
        return backoff
    return wait


def call(fn: Callable[[], T], *, where: str, policy: HttpPolicy, budget: RateBudget | None = None) -> T:
    """Run `fn` (one request + classification), retrying transient failures."""

    def attempt() -> T:
        try:
            return fn()
        except httpx.TimeoutException:
            raise Retryable(where, "the platform did not answer in time") from None
        except httpx.TransportError as exc:
            raise Retryable(where, f"connection failed ({type(exc).__name__})") from None
        except RateLimited as exc:
            if budget is not None and exc.retry_after:
                budget.pause(exc.retry_after)
            raise

    retrying = Retrying(
        retry=retry_if_exception_type(Retryable),
        stop=stop_after_attempt(policy.max_attempts),
        wait=_wait(policy),
        reraise=True,
    )
    return retrying(attempt)
