"""Outbound alert formats: what each destination expects on the wire, and how it answers.

    generic    JSON POST of the whole event, signed: `X-Marketsync-Signature: sha256=<hex>` of
               HMAC-SHA256(secret, "{timestamp}.{body}") with `X-Marketsync-Timestamp` (Unix
               seconds); `X-Marketsync-Delivery` is stable across retries, so a receiver can
               drop a repeat.
    wecom      WeCom (企业微信) group robot: `{"msgtype": "markdown", "markdown": {"content"}}` to
               the robot's URL (its key is in the URL; no signature). Answers `{"errcode": 0}`;
               45009 is its rate limit (20 messages a minute).
    dingtalk   DingTalk (钉钉) custom robot: `{"msgtype": "markdown", "markdown": {"title", "text"}}`;
               with a signing secret (SEC…) the URL gets `timestamp` (ms) and `sign` =
               urlencode(base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}"))). Answers
               `{"errcode": 0}`; 130101 is "sent too fast" (20 a minute).
    feishu     Feishu (飞书) custom bot: `{"msg_type": "text", "content": {"text"}}`; with a secret,
               `timestamp` (s) and `sign` = base64(HMAC-SHA256(key="{timestamp}\\n{secret}", b""))
               in the body. Answers `{"code": 0}`; 11232 is its rate limit (100 a minute, 5 a second).
    slack      Slack incoming webhook: `{"text"}` (mrkdwn). Answers 200 `ok`; 429 with Retry-After.

`request()` builds the request; `check()` turns the destination's answer into the hub's error
(`connectors.errors`), so the sender retries only what can succeed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.errors import Rejected
from connectors.http import ErrorTable, Outcome, classify, raise_for_code

FORMATS = ("generic", "wecom", "dingtalk", "feishu", "slack")
# What a robot's error codes mean (others are refusals); a rate limit waits out its minute.
ROBOT_CODES: dict[str, ErrorTable] = {
    "wecom": {"45009": Outcome.RATE_LIMITED, "-1": Outcome.TRANSIENT},       # -1: system busy
    "dingtalk": {"130101": Outcome.RATE_LIMITED, "-1": Outcome.TRANSIENT},
    "feishu": {"11232": Outcome.RATE_LIMITED, "9499": Outcome.RATE_LIMITED},
}
RATE_LIMIT_WAIT_S = {"wecom": 60.0, "dingtalk": 60.0, "feishu": 15.0}


@dataclass(frozen=True)
class Outbound:
    url: str
    body: bytes
    headers: dict[str, str]


def text_of(event: Mapping[str, Any]) -> tuple[str, str]:
    """(title, markdown text) of an alert event, for the chat formats. Never customer data: the
    alert carries SKUs, quantities, account names and ids only."""
    alert = event["alert"]
    state = "resolved" if event["event"] == "alert.closed" else alert["severity"]
    title = f"marketsync {state}: {alert['kind'].replace('_', ' ')}"
    lines = [f"**{title}**", alert["message"]]
    if alert.get("sku"):
        lines.append(f"SKU: {alert['sku']}")
    if alert.get("account"):
        lines.append(f"account: {alert['account']}")
    lines.append(f"alert #{alert['id']} opened {alert['opened_at'][:16].replace('T', ' ')} UTC")
    return title, "\n\n".join(lines)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def generic_signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request(fmt: str, url: str, secret: str, event: Mapping[str, Any], *, now_s: float,
            delivery_id: str) -> Outbound:
    """The HTTP request that delivers `event` to a destination of format `fmt`."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    title, text = text_of(event)
    if fmt == "generic":
        body = _json(event)
        timestamp = int(now_s)
        headers |= {"X-Marketsync-Event": str(event["event"]), "X-Marketsync-Delivery": delivery_id,
                    "X-Marketsync-Timestamp": str(timestamp)}
        if secret:
            headers["X-Marketsync-Signature"] = generic_signature(secret, timestamp, body)
        return Outbound(url, body, headers)
    if fmt == "wecom":
        return Outbound(url, _json({"msgtype": "markdown", "markdown": {"content": text}}), headers)
    if fmt == "dingtalk":
        if secret:
            stamp = int(now_s * 1000)
            separator = "&" if "?" in url else "?"
            url = f"{url}{separator}timestamp={stamp}&sign={dingtalk_sign(secret, stamp)}"
        return Outbound(url, _json({"msgtype": "markdown", "markdown": {"title": title, "text": text}}), headers)
    if fmt == "feishu":
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": text.replace("**", "")}}
        if secret:
            stamp = int(now_s)
            payload |= {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp)}
        return Outbound(url, _json(payload), headers)
    if fmt == "slack":
        return Outbound(url, _json({"text": text.replace("**", "*")}), headers)
    raise ValueError(f"unknown alert format {fmt!r}; formats: {', '.join(FORMATS)}")


def _answer(response: httpx.Response) -> Mapping[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, Mapping) else {}


def check(fmt: str, response: httpx.Response, where: str) -> None:
    """Raise the hub's error when the destination did not take the message."""
    classify(response, where, describe=lambda r: f"HTTP {r.status_code}: {r.text[:200]}")
    if fmt in ("generic", "slack"):
        return
    answer = _answer(response)
    field = "code" if fmt == "feishu" else "errcode"
    code = answer.get(field, answer.get("StatusCode"))
    if code == 0:
        return
    if code is None:
        raise Rejected(where, f"unexpected answer (no {field}): {response.text[:200]}", status=response.status_code)
    message = str(answer.get("msg") or answer.get("errmsg") or "")[:200]
    raise_for_code(str(code), f"{field} {code}: {message}", where, ROBOT_CODES[fmt],
                   retry_after=RATE_LIMIT_WAIT_S[fmt])
