"""Reading platform values into canonical ones: fen into yuan, epoch numbers into UTC times.

Every reader names the record (`where`) and the field it could not use, never the value when the
field holds customer data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from canonical import CanonicalError, Money

CURRENCY = "CNY"


def integer(value: Any, *, field: str, where: str) -> int:
    if isinstance(value, bool):
        raise CanonicalError(where, field, "is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise CanonicalError(where, field, f"is not a whole number ({str(value)[:20]!r})")


def ident(value: Any, *, field: str, where: str) -> str:
    """An id the platform sends as a number or a string of digits."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if not text or text in ("0", "None"):
        raise CanonicalError(where, field, "is missing")
    return text


def fen(value: Any, *, field: str, where: str) -> Money:
    """An amount in fen (the platforms' unit) as yuan."""
    return Money(amount=Decimal(integer(value, field=field, where=where)) / 100, currency=CURRENCY)


def from_seconds(value: Any, *, field: str, where: str) -> datetime:
    return datetime.fromtimestamp(integer(value, field=field, where=where), UTC)


def from_millis(value: Any, *, field: str, where: str) -> datetime:
    return datetime.fromtimestamp(integer(value, field=field, where=where) / 1000, UTC)
