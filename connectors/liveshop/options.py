"""Numeric account options, checked once when a connector is built."""

from __future__ import annotations

from connectors.base import AccountConfig
from connectors.errors import Rejected


def number(account: AccountConfig, name: str, default: float, *, minimum: float = 0.0,
           maximum: float | None = None) -> float:
    """Option `name` as a number within bounds (the default when unset); a bad value names itself."""
    raw = account.option(name)
    if raw in (None, ""):
        return default
    try:
        value = float(str(raw))
    except ValueError:
        value = float("nan")
    if not (value >= minimum and (maximum is None or value <= maximum)):
        upper = f" and {maximum:g}" if maximum is not None else ""
        raise Rejected(account.where(), f"option {name!r} must be a number between {minimum:g}{upper or ' and more'}, "
                                        f"got {raw!r}")
    return value


def integer(account: AccountConfig, name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    return int(number(account, name, default, minimum=minimum, maximum=maximum))
