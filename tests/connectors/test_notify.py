"""Alert formats over real HTTP to a loopback receiver that checks each documented signature."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.errors import RateLimited, Rejected, Transient
from connectors.http import HttpPolicy
from connectors.notify import send
from connectors.notify.formats import dingtalk_sign, feishu_sign
from tests.connectors.robot_receiver import SECRET, RobotReceiver

POLICY = HttpPolicy(timeout_s=5.0, max_attempts=2, max_backoff_s=0.05, base_backoff_s=0.01)
EVENT: dict[str, Any] = {
    "event": "alert.opened", "delivery_id": "7-opened-ops", "sent_at": "2026-11-22T10:00:00+00:00",
    "alert": {"id": 7, "kind": "below_reorder_point", "subject": "below_reorder_point:MS-1", "severity": "warning",
              "sku": "MS-1", "account": None, "message": "MS-1: 3 available, at or below its reorder point 9",
              "detail": {"available": 3}, "opened_at": "2026-11-22T10:00:00+00:00", "closed_at": None}}


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[RobotReceiver]:
    receiver = RobotReceiver().start()
    yield receiver
    receiver.stop()


def deliver(receiver: RobotReceiver, fmt: str, secret: str = SECRET) -> None:
    send(fmt, receiver.url(fmt), secret, EVENT, now_s=time.time(), delivery_id="7-opened-ops",
         where=f"alert destination ops ({fmt})", policy=POLICY)


@pytest.mark.parametrize("fmt", ["generic", "wecom", "dingtalk", "feishu", "slack"])
def test_each_format_is_accepted_and_signed_as_documented(receiver: RobotReceiver, fmt: str) -> None:
    deliver(receiver, fmt)
    [got] = receiver.received
    assert got.signed, fmt
    text = json.dumps(got.body, ensure_ascii=False)
    assert "MS-1: 3 available" in text
    if fmt == "generic":
        assert got.body == EVENT and got.headers["x-marketsync-delivery"] == "7-opened-ops"
    elif fmt in ("wecom", "dingtalk"):
        assert got.body["msgtype"] == "markdown"
    elif fmt == "feishu":
        assert got.body["msg_type"] == "text" and "**" not in got.body["content"]["text"]
    else:
        assert set(got.body) == {"text"}


def test_signing_helpers_match_the_documented_algorithms() -> None:
    # DingTalk: urlencode(base64(HMAC-SHA256(secret, "{timestamp}\n{secret}"))); Feishu: key = "{ts}\n{secret}"
    import base64
    import hashlib
    import hmac
    import urllib.parse

    expected = urllib.parse.quote_plus(base64.b64encode(
        hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()))
    assert dingtalk_sign("SECabc", 1700000000000) == expected
    assert feishu_sign("abc", 1700000000) == base64.b64encode(
        hmac.new(b"1700000000\nabc", b"", hashlib.sha256).digest()).decode()


def test_a_wrong_secret_is_refused_with_the_robots_reason(receiver: RobotReceiver) -> None:
    with pytest.raises(Rejected, match="errcode 310000"):
        deliver(receiver, "dingtalk", secret="SECwrong")
    with pytest.raises(Rejected, match="code 19021"):
        deliver(receiver, "feishu", secret="wrong")


def test_transient_failures_are_retried_and_rate_limits_raised(receiver: RobotReceiver) -> None:
    receiver.script = [(503, "busy")]
    deliver(receiver, "generic")  # one 503, then accepted
    assert len(receiver.received) == 2
    receiver.script = [(200, {"errcode": 45009, "errmsg": "api freq out of limit"})]
    with pytest.raises(RateLimited, match="45009"):
        deliver(receiver, "wecom")  # a minute's wait is not waited out inside the call
    receiver.script = [(500, "x"), (500, "x")]
    with pytest.raises(Transient):
        deliver(receiver, "slack")
    receiver.script = [(404, "no_service")]
    with pytest.raises(Rejected, match="HTTP 404"):
        deliver(receiver, "slack")


def test_errors_never_show_the_destination_url(receiver: RobotReceiver) -> None:
    receiver.script = [(400, "invalid_payload")]
    with pytest.raises(Rejected) as caught:
        deliver(receiver, "dingtalk")
    assert "access_token" not in str(caught.value) and "127.0.0.1" not in str(caught.value)
