"""Shared HTTP machinery: one client factory, one response classifier, one retry policy.

Classify first, then act: `classify()` turns an HTTP status into the hub's error (or nothing);
platforms that answer errors inside HTTP 200 bodies map their codes with an `ErrorTable`
(`raise_for_code`). `call()` runs a request under tenacity, retrying only `Transient` errors with
capped exponential backoff plus jitter. A `RateLimited` answer pauses the bucket it names (or the
call's own) for the platform's wait; a wait longer than `HttpPolicy.longest_wait_s` is not waited
out inside the request but raised, so the job is retried after it (the worker stays free).
Tests swap the transport (`transport=`), never patch this module.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from functools import lru_cache
from typing import NoReturn, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connectors.budget import DEFAULT_BUCKET, Budgets
from connectors.errors import AuthFailed, ConnectorError, Deferred, Interrupted, RateLimited, Rejected, Transient
from connectors.waits import current_patience, nap

T = TypeVar("T")


@dataclass(frozen=True)
class HttpPolicy:
    timeout_s: float = 30.0
    max_attempts: int = 6
    max_backoff_s: float = 30.0
    base_backoff_s: float = 0.25
    # A platform's wait up to this long is waited out inside the request (the bucket is paused for
    # it); a longer one (a ban) is raised, so the job is retried after it and the worker stays free.
    longest_wait_s: float = 30.0


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """The process's one TLS context (httpx's defaults: certifi, or SSL_CERT_FILE/SSL_CERT_DIR).

    Building one reads and parses the CA bundle (~18 ms of CPU); every job makes its own client,
    so a context per client was most of a worker's CPU. An SSLContext is safe to share."""
    return httpx.create_ssl_context()


def make_client(base_url: str, *, policy: HttpPolicy, transport: httpx.BaseTransport | None = None,
                headers: dict[str, str] | None = None, auth: httpx.Auth | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=policy.timeout_s, transport=transport,
                        verify=tls_context(), headers={"User-Agent": "marketsync/0.1", **(headers or {})},
                        auth=auth)


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


def charged(response: httpx.Response | None) -> bool:
    """Whether a request counts against the platform's rate limit, for `RateBudget.settle`.

    No answer (refused, reset, timed out) or an HTTP 5xx (the gateway or the server failed before the
    API ran) charged nothing: the points come back. An error inside a 200 body was answered, so counted.
    """
    return response is not None and response.status_code < 500


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
        raise Transient(where, message, status=status)
    raise Rejected(where, message, status=status)


class Outcome(StrEnum):
    """What a platform error code means for the hub (see `connectors.errors`)."""

    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    REJECTED = "rejected"


# A platform's error codes (as strings) → what they mean; codes not listed are `Rejected`.
ErrorTable = Mapping[str, Outcome]


def error_for(outcome: Outcome, where: str, message: str, *, code: str | None = None, status: int | None = None,
              retry_after: float | None = None, bucket: str | None = None) -> ConnectorError:
    """The hub's error for an outcome (the platform's own `message` and `code` kept for the operator)."""
    if outcome is Outcome.RATE_LIMITED:
        return RateLimited(where, retry_after=retry_after, message=message, bucket=bucket, status=status, code=code)
    if outcome is Outcome.TRANSIENT:
        return Transient(where, message, status=status, code=code)
    if outcome is Outcome.AUTH_FAILED:
        return AuthFailed(where, message, code=code)
    return Rejected(where, message, status=status, code=code)


def raise_for_code(code: str, message: str, where: str, table: ErrorTable, *, retry_after: float | None = None,
                   bucket: str | None = None) -> NoReturn:
    """Raise what `table` says platform error `code` means (`Rejected` when it does not list it)."""
    outcome = table.get(code, Outcome.REJECTED)
    raise error_for(outcome, where, f"{message} (code {code})", code=code, retry_after=retry_after, bucket=bucket)


def _wait(policy: HttpPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = min(policy.base_backoff_s * 2 ** (state.attempt_number - 1), policy.max_backoff_s)
        backoff = random.uniform(backoff / 2, backoff)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(max(error.retry_after, backoff / 4), policy.max_backoff_s)
        return backoff
    return wait


def _retries(policy: HttpPolicy) -> Callable[[BaseException], bool]:
    def retry(error: BaseException) -> bool:
        if isinstance(error, Interrupted):
            return False  # the worker is stopping: the job runs again later
        limit = current_patience()
        if isinstance(error, RateLimited) and limit is not None and (error.retry_after or 0) > limit:
            return False  # past the job's patience: handed back (`call`), its worker takes other work
        if isinstance(error, RateLimited) and (error.retry_after or 0) > policy.longest_wait_s:
            return False  # a long ban: the job is retried after it, the worker is not held
        return isinstance(error, Transient)
    return retry


def call(fn: Callable[[], T], *, where: str, policy: HttpPolicy, budgets: Budgets | None = None,
         bucket: str = DEFAULT_BUCKET) -> T:
    """Run `fn` (one request + classification) for `bucket`, retrying transient failures."""

    def attempt() -> T:
        try:
            return fn()
        except httpx.TimeoutException:
            raise Transient(where, "the platform did not answer in time") from None
        except httpx.TransportError as exc:
            raise Transient(where, f"connection failed ({type(exc).__name__})") from None
        except RateLimited as exc:
            if budgets is not None and exc.retry_after:
                budgets(exc.bucket or bucket).pause(exc.retry_after)
            raise

    retrying = Retrying(
        retry=retry_if_exception(_retries(policy)),
        stop=stop_after_attempt(policy.max_attempts),
        wait=_wait(policy),
        sleep=lambda seconds: nap(seconds, where=where),  # a stopping worker does not sit out a backoff
        reraise=True,
    )
    try:
        return retrying(attempt)
    except RateLimited as exc:
        # a job with patience is handed back rather than sit out a longer rate-limit wait in its retries
        limit = current_patience()
        if limit is None or exc.retry_after is None or exc.retry_after <= limit:
            raise
        raise Deferred(where, f"rate-limited for {exc.retry_after:.1f} s; the job runs again after it",
                       retry_after=exc.retry_after) from None
