"""Events from a platform: pushed (webhooks, console-configured pushes) or pulled (message queues).

The engine never parses a platform payload. A connector:

1. verifies a delivery — `verify_webhook(WebhookRequest)` checks the signature with
   `hmac.compare_digest` (raise `AuthFailed` for a forged one) and returns the `ChannelEvent`s it
   carries (a push may carry several; a handshake or heartbeat carries none);
2. answers it — `webhook_reply(request, events)` is the body the platform expects (`{"result":1}`,
   `success`, an echoed challenge; default: 200 with an empty body);
3. says what an event is about — `event_subject(topic, payload)` returns an `EventSubject` (an
   order, a refund of an order, a product) or None for events the hub does not act on.

Pull-style sources (capability `PULL_EVENTS`, e.g. Taobao TMC): `consume_events(limit)` returns
messages with a `receipt`; the engine stores them and, only after its commit, calls
`confirm_events(events)`. A message consumed but never confirmed comes back, so nothing is lost
if a worker dies in between; duplicates are absorbed by the unique event id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class WebhookRequest:
    """One delivery as the webhook server received it (header names lower-cased)."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class ChannelEvent:
    """One event: unique per platform by `event_id`; `receipt` is what a pull source confirms with."""

    event_id: str
    topic: str
    payload: dict[str, Any] = field(repr=False)
    receipt: str | None = None


@dataclass(frozen=True)
class WebhookReply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class SubjectKind(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    PRODUCT = "product"


@dataclass(frozen=True)
class EventSubject:
    """What an event is about: `reference` is the platform's id of the subject.

    For ORDER, `reference` is the order's external id (what `Connector.order` takes); for REFUND,
    `order_reference` names the order the refund belongs to. The engine re-reads the order from
    the channel rather than trusting the payload.
    """

    kind: SubjectKind
    reference: str
    order_reference: str | None = None

    @property
    def order(self) -> str | None:
        """The order to re-read, if the subject concerns one."""
        if self.kind is SubjectKind.ORDER:
            return self.reference
        return self.order_reference

    def problem(self) -> str | None:
        """Why this subject cannot be a platform id (an object, a 5,000-digit number…), or None."""
        for name, value in (("reference", self.reference), ("order reference", self.order_reference)):
            if value is not None and not REFERENCE.fullmatch(value):
                return f"the event's {name} is not an id ({len(value)} characters)"
        return None


# What a platform id can look like: `gid://shopify/Order/1`, `727`, `6925…`, `wx-1.2`; never
# whitespace, quotes or braces (the text of a JSON object), never longer than the store keeps.
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+=-]{0,199}")


@dataclass(frozen=True)
class WebhookSubscription:
    external_id: str
    topic: str
    url: str
