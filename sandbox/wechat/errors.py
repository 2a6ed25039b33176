"""微信小店 errors: every answer is HTTP 200 JSON with `errcode` (0 = ok) and `errmsg`.

Common: -1 system busy, 40001 bad credential, 41001 token missing, 42001 token expired, 45009 daily
quota, 45011 minute limit, 47001 malformed body, 40097 invalid arguments. Product and stock:
10020052 product missing, 10020112 per-SKU stock-update frequency, 10020218 delta of 0,
10020219 insufficient stock to subtract. Orders: 100002 order missing, 101100 status does not allow
shipping, 109000 bad shipped products, 109001 already shipped, 109002 no products. After-sales:
10020004 bad time range.
"""

from __future__ import annotations

from typing import Any

SYSTEM_BUSY = -1
INVALID_CREDENTIAL = 40001
INVALID_GRANT_TYPE = 40002
INVALID_APPID = 40013
TOKEN_MISSING = 41001
TOKEN_EXPIRED = 42001
DAILY_QUOTA = 45009
MINUTE_LIMIT = 45011
BAD_BODY = 47001
INVALID_ARGS = 40097
PRODUCT_MISSING = 10020052
STOCK_FREQUENCY = 10020112
ZERO_DELTA = 10020218
INSUFFICIENT_STOCK = 10020219
BAD_RANGE = 10020004
ORDER_MISSING = 100002
STATUS_FORBIDS_DELIVERY = 101100
BAD_DELIVERY_PRODUCTS = 109000
ALREADY_DELIVERED = 109001
NO_DELIVERY_PRODUCTS = 109002
AFTERSALE_MISSING = 10020003


class WechatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


def invalid(why: str) -> WechatError:
    return WechatError(INVALID_ARGS, f"invalid args, {why}")


def integer(body: dict[str, Any], name: str, *, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> int:
    value = body.get(name)
    if value is None or value == "":
        if default is None:
            raise invalid(f"{name} is required")
        return default
    if isinstance(value, bool):
        raise invalid(f"{name} must be a number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be a number") from None
    if minimum is not None and number < minimum:
        raise invalid(f"{name}: expecting >= {minimum}, actually {number}")
    if maximum is not None and number > maximum:
        raise invalid(f"{name}: expecting <= {maximum}, actually {number}")
    return number
