"""Outbound alert delivery: a generic signed JSON POST and the chat robots' formats (`formats`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.http import HttpPolicy, call
from connectors.notify.formats import FORMATS, check, request

__all__ = ["FORMATS", "send"]


def send(fmt: str, url: str, secret: str, event: Mapping[str, Any], *, now_s: float, delivery_id: str, where: str,
         policy: HttpPolicy, transport: httpx.BaseTransport | None = None) -> None:
    """POST `event` in format `fmt`; transient failures are retried under `policy`, then raised.

    `where` names the destination in errors; the URL never appears there (robot URLs hold a token).
    """
    outbound = request(fmt, url, secret, event, now_s=now_s, delivery_id=delivery_id)
    with httpx.Client(timeout=policy.timeout_s, transport=transport,
                      headers={"User-Agent": "marketsync/0.1"}) as client:

        def attempt() -> None:
            response = client.post(outbound.url, content=outbound.body, headers=outbound.headers)
            check(fmt, response, where)

        call(attempt, where=where, policy=policy)
