"""TOP error answers: `{"error_response": {code, msg, sub_code, sub_msg, request_id}}`, HTTP 200.

Codes below 100 are gateway (platform) errors; 15, 40 and 41 carry a `sub_code` that tells
whose fault it is: `isp.*` the platform's (retry later), `isv.*` the caller's (fix the call).
"""

from __future__ import annotations

from typing import Any

# code -> English msg, as the TOP error-code table words them.
GATEWAY_MESSAGES = {
    7: "App Call Limited",
    8: "App Call Exceeds Limited Frequency",
    10: "Service Currently Unavailable",
    11: "Insufficient ISV Permissions",
    15: "Remote service error",
    21: "Missing Method",
    22: "Invalid Method",
    23: "Invalid Format",
    24: "Missing Signature",
    25: "Invalid Signature",
    26: "Missing Session",
    27: "Invalid Session",
    28: "Missing App Key",
    29: "Invalid App Key",
    30: "Missing Timestamp",
    31: "Invalid Timestamp",
    32: "Missing Version",
    34: "Unsupported Version",
    40: "Missing Required Arguments",
    41: "Invalid Arguments",
}


class TopError(Exception):
    """A refused call, answered as TOP answers it."""

    def __init__(self, code: int, sub_code: str | None = None, sub_msg: str | None = None) -> None:
        super().__init__(sub_msg or GATEWAY_MESSAGES.get(code, "error"))
        self.code, self.sub_code, self.sub_msg = code, sub_code, sub_msg

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "msg": GATEWAY_MESSAGES.get(self.code, "error")}
        if self.sub_code:
            error["sub_code"] = self.sub_code
        if self.sub_msg:
            error["sub_msg"] = self.sub_msg
        error["request_id"] = request_id
        return {"error_response": error}


def missing(param: str) -> TopError:
    return TopError(40, f"isv.missing-parameter:{param}", f"{param} is required")


def invalid(param: str, why: str) -> TopError:
    return TopError(41, f"isv.invalid-parameter:{param}", why)


def business(sub_code: str, sub_msg: str) -> TopError:
    """A caller error found by the service behind the gateway (code 15, `isv.*`)."""
    return TopError(15, sub_code, sub_msg)


def platform_failure(sub_msg: str = "remote service unavailable, try again later") -> TopError:
    """A platform-side failure (code 15, `isp.*`): the caller should retry."""
    return TopError(15, "isp.remote-service-unavailable", sub_msg)


def call_limited(sub_code: str, ban_seconds: int) -> TopError:
    return TopError(7, sub_code, f"This ban will last for {ban_seconds} more seconds")
