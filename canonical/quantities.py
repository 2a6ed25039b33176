"""The range every stock quantity lives in, and the one check CLI, CSV files and connectors share.

A single quantity (an adjustment, a receipt row, an order line, a channel's level) is at most
one billion units either way; a hub level stays within ±2,000,000,000 so it fits the database's
32-bit integer columns on every engine (SQLite would otherwise turn an overflow into a float).
"""

from __future__ import annotations

from canonical.errors import MarketsyncError

MAX_QUANTITY = 1_000_000_000
MAX_LEVEL = 2_000_000_000


class QuantityOutOfRange(MarketsyncError):
    """A quantity outside the documented range."""


def bounded(value: int, what: str, *, minimum: int = -MAX_QUANTITY, maximum: int = MAX_QUANTITY) -> int:
    """`value` when within [minimum, maximum], else QuantityOutOfRange naming `what` and the range."""
    if not minimum <= value <= maximum:
        raise QuantityOutOfRange(f"{what} {value} is out of range: quantities go from {minimum:,} to {maximum:,}")
    return value


def parse_quantity(text: str, what: str, *, minimum: int = -MAX_QUANTITY, maximum: int = MAX_QUANTITY) -> int:
    """A whole number within the range from text like `+5`, `-2` or `10`."""
    try:
        value = int(text.strip())
    except ValueError:
        raise QuantityOutOfRange(f"{what} {text.strip()!r} is not a whole number") from None
    return bounded(value, what, minimum=minimum, maximum=maximum)
