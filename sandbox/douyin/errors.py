"""抖店 error codes and the checks of business parameters that raise them.

Codes follow the platform's basic code table (10000 success, 20000 service unavailable, 30001
permission, 40001/40002 missing parameter, 40003/40004 invalid parameter, 50002 business failure,
60000 rate limited, 70000 API offline). Sub-codes that the table names (isv.signature-invalid,
isv.access-token-no-existed, isv.idempotent-id-existed, isv.timestamp-invalid …) are used as named;
where it names none, the simulator's own sub-codes are listed in docs/decisions.md.
"""

from __future__ import annotations

from typing import Any

SUCCESS = 10000
SERVICE_UNAVAILABLE = 20000
MISSING_PLATFORM = 40001
MISSING_BUSINESS = 40002
INVALID_PLATFORM = 40003
INVALID_BUSINESS = 40004
BUSINESS_FAILED = 50002
RATE_LIMITED = 60000
API_OFFLINE = 70000


class DouyinError(Exception):
    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(f"{code} {sub_code}: {sub_msg or msg}")
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg or msg


def missing(name: str) -> DouyinError:
    return DouyinError(MISSING_BUSINESS, "缺少必选参数", f"isv.missing-parameter:{name}", f"{name}不能为空")


def invalid(name: str, why: str) -> DouyinError:
    return DouyinError(INVALID_BUSINESS, "非法的参数", f"isv.parameter-invalid:{name}", why)


def failed(sub_code: str, why: str) -> DouyinError:
    return DouyinError(BUSINESS_FAILED, "业务处理失败", sub_code, why)


def integer(params: dict[str, Any], name: str, *, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """An integer parameter (a JSON number or a string of digits), within bounds."""
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise missing(name)
        return default
    if isinstance(value, bool):
        raise invalid(name, f"{name}必须是整数")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(name, f"{name}必须是整数") from None
    if minimum is not None and number < minimum:
        raise invalid(name, f"{name}不能小于{minimum}")
    if maximum is not None and number > maximum:
        raise invalid(name, f"{name}不能大于{maximum}")
    return number


def optional_integer(params: dict[str, Any], name: str) -> int | None:
    if params.get(name) in (None, ""):
        return None
    return integer(params, name)


def boolean(params: dict[str, Any], name: str, *, default: bool | None = None) -> bool:
    value = params.get(name)
    if value is None:
        if default is None:
            raise missing(name)
        return default
    if not isinstance(value, bool):
        raise invalid(name, f"{name}必须是布尔值")
    return value


def text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise missing(name)
    return str(value)
