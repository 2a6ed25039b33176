"""The errors every connector raises, whatever its platform.

    ConnectorError                 base; message names account, platform, object, next step
    ├── Retryable                  transient: 5xx, timeouts, connection resets (retried)
    │   └── RateLimited            429 / THROTTLED; carries retry_after seconds (retried)
    ├── AuthFailed                 401 / 403: credentials or scopes wrong (never retried)
    ├── Rejected                   4xx / validation: the request itself is wrong (never retried)
    └── UnknownPlatform            no connector is installed under that name

Messages never contain tokens, secrets or customer data.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """A platform call failed; `where` says which account, platform and object."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class Retryable(ConnectorError):
    def __init__(self, where: str, message: str = "temporary failure", *, status: int | None = None) -> None:
        super().__init__(where, message)
        self.status = status


class RateLimited(Retryable):
    def __init__(self, where: str, *, retry_after: float | None = None, message: str = "rate limited") -> None:
        super().__init__(where, message, status=429)
        self.retry_after = retry_after


class AuthFailed(ConnectorError):
    def __init__(self, where: str, message: str = "authentication failed") -> None:
        super().__init__(where, f"{message}; check the account's credentials with `marketsync account test`")


class Rejected(ConnectorError):
    def __init__(self, where: str, message: str, *, status: int | None = None) -> None:
        super().__init__(where, message)
        self.status = status


class UnknownPlatform(ConnectorError):
    def __init__(self, platform: str, installed: list[str]) -> None:
        super().__init__(
            f"platform {platform!r}",
            f"no connector installed under that name; installed: {', '.join(installed) or 'none'}",
        )
