"""快手 answers: `result` 1 is success; anything else carries `error_msg` (and code/msg/sub_code).

Documented: result 21 "当前库存不足, 请减少预留数量" (a subtraction into activity-reserved stock),
300003 end before begin, 300004 range over 7 days, 300005 older than 90 days, 300019 range over
the limit; rate limits answer "Exceed qps limit, KEY [...], MAX_QPS [n]" and "exceed quota limit".
The other result numbers are the simulator's own (docs/decisions.md).
"""

from __future__ import annotations

import json
from typing import Any

STOCK_RESERVED = 21
BAD_PARAMETER = 22
AUTH_FAILED = 24
SIGN_FAILED = 28
NOT_FOUND = 30
OPERATION_REJECTED = 31
QPS_LIMITED = 1016
QUOTA_LIMITED = 1017
SERVICE_ERROR = 50
END_BEFORE_BEGIN = 300003
RANGE_OVER_7_DAYS = 300004
OLDER_THAN_90_DAYS = 300005
RANGE_OVER_LIMIT = 300019


class KuaishouError(Exception):
    def __init__(self, result: int, error_msg: str, sub_code: str = "") -> None:
        super().__init__(f"{result}: {error_msg}")
        self.result, self.error_msg, self.sub_code = result, error_msg, sub_code


def bad(name: str, why: str) -> KuaishouError:
    return KuaishouError(BAD_PARAMETER, f"参数错误: {name} {why}", f"isv.parameter-invalid:{name}")


def integer(params: dict[str, Any], name: str, *, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> int:
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise bad(name, "不能为空")
        return default
    if isinstance(value, bool):
        raise bad(name, "必须是整数")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad(name, "必须是整数") from None
    if minimum is not None and number < minimum:
        raise bad(name, f"不能小于{minimum}")
    if maximum is not None and number > maximum:
        raise bad(name, f"不能大于{maximum}")
    return number


def business_params(raw: str | None) -> dict[str, Any]:
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        params = None
    if not isinstance(params, dict):
        raise bad("param", "不是合法的JSON对象")
    return params
