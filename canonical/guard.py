"""A normaliser meets payloads of any shape: whatever it cannot read becomes a `CanonicalError`.

Connectors skip (and name) a record whose normaliser raises `CanonicalError`; any other exception
would fail the whole read and, in a worker, the job, again on every retry. `normaliser(kind)`
wraps a pure normaliser so that a payload of a shape it did not expect (a list where an object
was, a string where a number was, a missing key, a NaN, a 5,000-digit number) is rejected with
the record's id and account instead. Messages carry no payload values (they may hold customer data).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from canonical.model import CanonicalError

F = TypeVar("F", bound=Callable[..., Any])

# Where platforms keep a record's own id (first match wins); only short scalar values are shown.
ID_KEYS = ("id", "order_id", "tid", "order_sn", "orderId", "product_id", "goods_id", "ware_id", "wareId",
           "num_iid", "item_id", "itemId", "sku_id", "skuId")
# OSError: `datetime.fromtimestamp` answers EOVERFLOW for a timestamp out of the platform's range.
SHAPE_ERRORS = (TypeError, KeyError, IndexError, AttributeError, ValueError, ArithmeticError, RecursionError,
                OSError)


def record_id(raw: Any) -> str:
    if isinstance(raw, Mapping):
        for key in ID_KEYS:
            value = raw.get(key)
            if isinstance(value, int | str) and not isinstance(value, bool) and 0 < len(str(value)) <= 64:
                return str(value)
    return "?"


def normaliser(kind: str) -> Callable[[F], F]:
    """Decorate a normaliser of `kind` records (its first argument is the raw record)."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        def guarded(raw: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(raw, *args, **kwargs)
            except CanonicalError:
                raise
            except SHAPE_ERRORS as exc:
                account = kwargs.get("account")
                where = f"{kind} {record_id(raw)}" + (f" of account {account!r}" if isinstance(account, str) else "")
                raise CanonicalError(where, "(payload)", f"has a shape the connector cannot read "
                                                         f"({type(exc).__name__}); the record is skipped") from None
        return guarded  # type: ignore[return-value]

    return wrap
