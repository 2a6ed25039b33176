"""PDD error answers: `{"error_response": {error_code, error_msg, sub_code, sub_msg, request_id}}`.

Codes and their wording follow PDD's common error table: 1xxxx/2xxxx are the caller's to fix,
5xxxx the platform's (52101 is the rate limit, "当前接口被限流").
"""

from __future__ import annotations

from typing import Any

MESSAGES = {
    10000: "参数错误",
    10001: "公共参数错误",
    10016: "client下线或者clientId不正确",
    10017: "type不正确",
    10019: "access_token已过期",
    20004: "签名sign校验失败",
    20031: "用户没有授权访问此接口",
    20032: "access_token或client_id错误",
    21001: "请求参数错误",
    21002: "请求参数不能为空",
    50000: "系统内部错误",
    52101: "当前接口被限流,请稍后重试",
    52103: "服务暂时不可用,请稍后重试",
}


class PddError(Exception):
    def __init__(self, code: int, sub_msg: str | None = None) -> None:
        super().__init__(sub_msg or MESSAGES.get(code, "error"))
        self.code, self.sub_msg = code, sub_msg

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"error_code": self.code, "error_msg": MESSAGES.get(self.code, "error"),
                                 "sub_code": str(self.code), "request_id": request_id}
        if self.sub_msg:
            error["sub_msg"] = self.sub_msg
        return {"error_response": error}


def bad_parameter(sub_msg: str) -> PddError:
    return PddError(10000, sub_msg)


def empty_parameter(name: str) -> PddError:
    return PddError(21002, f"{name} 不能为空")


def refused(sub_msg: str) -> PddError:
    """A business refusal (the call was well-formed; the shop's state does not allow it)."""
    return PddError(21001, sub_msg)
