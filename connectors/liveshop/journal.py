"""A guard for delta stock writes on platforms that take no idempotency id (快手, 微信小店).

The engine sends a delta under an idempotency id and, when it hears no answer, sends the same
(delta, id) again. A platform that knows no such id would apply it twice. So before a delta goes
out, the connector notes in this journal the live quantity it just read (`sending`); when the
platform answers, the id becomes `applied`. A later send of the same id then

- is answered `applied` at once when the journal says so (nothing is sent again);
- when the journal says `sending` (the answer was lost, or a worker died mid-call), is decided
  from a fresh read: still at the noted quantity → not applied, send it; at noted + delta →
  applied; anything else (a sale or a back-office edit came between) → reported stale with the
  observed quantity, so the engine reconciles instead of guessing, and from then on counted as
  applied: an id is never sent twice.

Entries live in this process (shared by every connector of the account) and, when the connector
runs with Redis-backed budgets (the workers), in Redis for a day, so another worker or a
restarted one sees them too. Losing them (Redis flushed) falls back to a fresh read and, where
that cannot decide, to reconciliation — never to a blind second write of a known id.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from connectors.budget import Budgets, RedisBudgets

TTL_S = 86_400
LOCAL_LIMIT = 10_000


@dataclass(frozen=True)
class Entry:
    state: str          # "sending" | "applied"
    before: int         # the live quantity read just before sending
    delta: int
    at: float


class DeltaJournal:
    _local: ClassVar[dict[str, OrderedDict[str, Entry]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, key: str, budgets: Budgets | None = None) -> None:
        self.key = key
        self.redis: Any = budgets.redis if isinstance(budgets, RedisBudgets) else None

    def _redis_key(self, idempotency_id: str) -> str:
        return f"marketsync:delta-journal:{self.key}:{idempotency_id}"

    def get(self, idempotency_id: str) -> Entry | None:
        with self._lock:
            entry = self._local.get(self.key, OrderedDict()).get(idempotency_id)
        if entry is None and self.redis is not None:
            raw = self.redis.get(self._redis_key(idempotency_id))
            entry = Entry(**json.loads(raw)) if raw else None
        return entry

    def _put(self, idempotency_id: str, entry: Entry) -> None:
        with self._lock:
            entries = self._local.setdefault(self.key, OrderedDict())
            entries[idempotency_id] = entry
            entries.move_to_end(idempotency_id)
            while len(entries) > LOCAL_LIMIT:
                entries.popitem(last=False)
        if self.redis is not None:
            self.redis.set(self._redis_key(idempotency_id), json.dumps(asdict(entry)), ex=TTL_S)

    def sending(self, idempotency_id: str, *, before: int, delta: int) -> None:
        self._put(idempotency_id, Entry("sending", before, delta, time.time()))

    def applied(self, idempotency_id: str) -> None:
        entry = self.get(idempotency_id)
        before, delta = (entry.before, entry.delta) if entry else (0, 0)
        self._put(idempotency_id, Entry("applied", before, delta, time.time()))

    def forget(self, idempotency_id: str) -> None:
        """Not applied (refused, or proven not sent): the id may be sent again from scratch."""
        with self._lock:
            self._local.get(self.key, OrderedDict()).pop(idempotency_id, None)
        if self.redis is not None:
            self.redis.delete(self._redis_key(idempotency_id))
