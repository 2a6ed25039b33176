"""The hub's error tree. The class of an error decides what happens next, whatever the platform.

    MarketsyncError (canonical.errors)     every error the hub raises on purpose (the CLI prints one line)
    ├── ConnectorError                     a platform call failed; `where` names account, platform, object
    │   ├── Transient                      5xx, timeouts, resets, "system busy" codes → retried with backoff
    │   │   ├── RateLimited                429 / THROTTLED / ban codes → retried after `retry_after`,
    │   │   │                              the wait charged to the rate bucket `bucket`
    │   │   └── Interrupted                a wait cut short because the worker is stopping → the job is
    │   │       │                          put back at once, not counted as a failure
    │   │       └── Deferred               a wait longer than the job's patience (`connectors.waits`) →
    │   │                                  the job is handed back to its queue for after the wait
    │   ├── AuthFailed                     credentials wrong or expired beyond refresh → the account is
    │   │                                  marked failing, its jobs stop, the operator sees a conflict
    │   ├── Rejected                       the platform refused this request (validation, state, stock
    │   │                                  held by the platform) → not retried, recorded with `reason`
    │   └── UnknownPlatform                no connector installed under that name
    ├── CanonicalError (canonical.model)   a platform record could not be normalised (skipped, named)
    └── … the engine's own: AccountError, StockError, ShipmentError, SettingsError, …

A connector raises only these (never httpx's or its own roots); `connectors.http.classify` and
`error_for` build them from a response or a platform error code. Messages never contain tokens,
secrets or customer data.
"""

from __future__ import annotations

from canonical.errors import MarketsyncError

__all__ = ["AuthFailed", "ConnectorError", "Deferred", "Interrupted", "MarketsyncError", "RateLimited", "Rejected",
           "Transient", "UnknownPlatform"]


class ConnectorError(MarketsyncError):
    """A platform call failed; `where` says which account, platform and object."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class Transient(ConnectorError):
    """A failure that may pass by itself: retried with backoff (in the client, then by the job)."""

    def __init__(self, where: str, message: str = "temporary failure", *, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(where, message)
        self.status, self.code = status, code


class RateLimited(Transient):
    """The platform asked us to slow down; `retry_after` is its wait (seconds) for `bucket`.

    `bucket` None means the bucket of the call that was refused.
    """

    def __init__(self, where: str, *, retry_after: float | None = None, message: str = "rate limited",
                 bucket: str | None = None, status: int | None = 429, code: str | None = None) -> None:
        super().__init__(where, message, status=status, code=code)
        self.retry_after, self.bucket = retry_after, bucket


class Interrupted(Transient):
    """A wait for rate points or a backoff ended early: the process is stopping (`connectors.waits`)."""


class Deferred(Interrupted):
    """A wait was longer than the running job's patience (`connectors.waits.patience`): the job goes
    back to its queue to run after `retry_after` seconds, and its worker takes other work meanwhile."""

    def __init__(self, where: str, message: str = "a long wait", *, retry_after: float) -> None:
        super().__init__(where, message)
        self.retry_after = retry_after


class AuthFailed(ConnectorError):
    """Credentials, signature or scopes are wrong, or a token could not be refreshed: never retried."""

    def __init__(self, where: str, message: str = "authentication failed", *, code: str | None = None) -> None:
        super().__init__(where, f"{message}; check the account's credentials with `marketsync account test`")
        self.code = code


class Rejected(ConnectorError):
    """The platform refused the request itself; `reason` is its own words. Never retried."""

    def __init__(self, where: str, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(where, message)
        self.reason, self.status, self.code = message, status, code


class UnknownPlatform(ConnectorError):
    def __init__(self, platform: str, installed: list[str]) -> None:
        super().__init__(
            f"platform {platform!r}",
            f"no connector installed under that name; installed: {', '.join(installed) or 'none'}",
        )
        self.platform = platform
