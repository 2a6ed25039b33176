"""TMC, Taobao's pull-style message queue: publish, consume, confirm, redeliver.

A message becomes consumable once published for a permitted user. Consuming hands it out and
starts its redelivery timer; a message not confirmed within `redelivery_seconds` (simulated
time) is handed out again, with the same id, until it is confirmed. `duplicate_rate` makes a
consumed message immediately consumable once more (the duplicates at-least-once queues send);
`reorder` hands each batch out newest first (TMC promises no order).
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.runtime import Clock
from sandbox.taobao.model import now, show_time


@dataclass
class Message:
    id: int
    topic: str
    content: dict[str, Any]
    user_id: int
    user_nick: str
    pub_app_key: str
    pub_time: str
    handed_out_at: float | None = None
    deliveries: int = 0
    confirmed: bool = False
    extra_copy: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "content": json.dumps(self.content, ensure_ascii=False),
                "pub_time": self.pub_time, "pub_app_key": self.pub_app_key,
                "user_id": self.user_id, "user_nick": self.user_nick}


@dataclass
class MessageQueue:
    clock: Clock
    app_key: str
    redelivery_seconds: float = 30.0
    duplicate_rate: float = 0.0
    reorder: bool = False
    require_permit: bool = True
    permitted: set[int] = field(default_factory=set)
    messages: dict[int, Message] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    _next_id: int = 8_000_000_000_000_001
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def permit(self, user_id: int) -> None:
        with self._lock:
            self.permitted.add(user_id)

    def publish(self, topic: str, content: dict[str, Any], *, user_id: int, user_nick: str) -> Message | None:
        """Queue one message; None when the user never enabled messages (`taobao.tmc.user.permit`)."""
        with self._lock:
            if self.require_permit and user_id not in self.permitted:
                return None
            message = Message(self._next_id, topic, content, user_id, user_nick, self.app_key,
                              show_time(now()) or "")
            self._next_id += 1
            self.messages[message.id] = message
            return message

    def _consumable(self, message: Message, moment: float) -> bool:
        if message.extra_copy:
            return True
        if message.confirmed:
            return False
        return message.handed_out_at is None or moment - message.handed_out_at >= self.redelivery_seconds

    def consume(self, quantity: int) -> list[Message]:
        with self._lock:
            moment = self.clock.monotonic()
            batch = [m for m in self.messages.values() if self._consumable(m, moment)][:quantity]
            for message in batch:
                if message.extra_copy:
                    message.extra_copy = False
                else:
                    message.handed_out_at = moment
                    message.extra_copy = self.rng.random() < self.duplicate_rate
                message.deliveries += 1
            return batch[::-1] if self.reorder else batch

    def confirm(self, ids: list[int]) -> None:
        with self._lock:
            for message_id in ids:
                message = self.messages.get(message_id)
                if message is not None:
                    message.confirmed = True

    def release_all(self) -> None:
        """Make every unconfirmed handed-out message consumable now (the control plane's flush)."""
        with self._lock:
            for message in self.messages.values():
                if not message.confirmed:
                    message.handed_out_at = None

    def pending(self) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.values() if not m.confirmed]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
