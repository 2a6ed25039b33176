"""JOS answers: gateway errors as `{"error_response": {code, zh_desc, en_desc}}` (code is a string),
business outcomes inside the method's `…_responce` root (JD's own spelling).

Gateway codes follow JD's published table as mirrored by third parties (official page not in
the sources): 4/5 version, 7/8 timestamp, 11/12 signature, 14/15 method, 19 access_token,
21 app_key, 65 platform timeout. JD's rate-limit code is not documented: it is the setting
`rate_limit_code` (default "2", "App Call Limited" in the same table).
"""

from __future__ import annotations

from typing import Any

DESCRIPTIONS = {
    "2": ("限制时间内调用失败次数", "App Call Limited"),
    "4": ("缺少版本参数", "Missing Version"),
    "5": ("不支持的版本号", "Unsupported Version"),
    "7": ("缺少时间戳参数", "Missing Timestamp"),
    "8": ("非法的时间戳参数", "Invalid Timestamp"),
    "11": ("缺少签名参数", "Missing Signature"),
    "12": ("无效签名", "Invalid Signature"),
    "14": ("缺少方法名参数", "Missing Method"),
    "15": ("不存在的方法名", "Invalid Method"),
    "19": ("无效access_token", "Invalid access_token"),
    "21": ("无效App Key", "Invalid app_key"),
    "65": ("系统处理超时, 请重试", "Service timeout"),
}


class JosError(Exception):
    def __init__(self, code: str, detail: str | None = None) -> None:
        zh, en = DESCRIPTIONS.get(code, ("调用频率超限", "Call frequency limited"))
        super().__init__(detail or zh)
        self.code, self.zh, self.en, self.detail = code, zh, en, detail

    def body(self) -> dict[str, Any]:
        zh = f"{self.zh}: {self.detail}" if self.detail else self.zh
        return {"error_response": {"code": self.code, "zh_desc": zh, "en_desc": self.en}}


class BusinessError(Exception):
    """A well-formed call the service refuses; answered inside the method's result object."""
