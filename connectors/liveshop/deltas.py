"""Delta stock writes on platforms that take no idempotency id, guarded by the `DeltaJournal`.

`guarded_deltas(updates, …)` reads the live quantities of the batch first (one read per product
or per 50 products, as the platform allows), then sends each delta once:

- answered → `applied` (the journal remembers the id);
- refused because the stock cannot cover the subtraction → the live value is read again: if the
  channel still shows what the hub expected and the refusal comes from stock the platform holds
  for an activity, the write is `rejected` with that reason (not retried blindly); otherwise the
  channel moved (sales the hub has not read yet) and the write is `stale` with the observed number,
  so the engine reads the orders and reconciles;
- unanswered (timeout, 5xx, connection lost after sending) → decided from a fresh read as the
  journal describes; a write proven not applied is raised as `Transient`, so it is sent again; one
  that cannot be told (a sale came between) is `stale` with the observed number and never sent
  again (reconciliation settles the difference, if any).

Trouble known to leave the platform untouched (rate limits, auth, connection refused) is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from connectors.errors import Transient
from connectors.liveshop.journal import DeltaJournal
from connectors.stock import StockUpdate, StockWriteResult


@dataclass(frozen=True)
class Live:
    """A listing's live stock and the part of it the platform holds for an activity."""

    stock: int
    reserved: int = 0


class Sent(StrEnum):
    APPLIED = "applied"
    SHORT = "short"            # the platform refused: not enough stock to subtract
    REFUSED = "refused"        # refused for this item for another reason (bad id, bounds)
    UNANSWERED = "unanswered"  # sent, but no answer that says what happened


@dataclass(frozen=True)
class Outcome:
    sent: Sent
    reason: str = ""


@dataclass(frozen=True)
class Answer:
    """What `send_once` heard: the body, or None when the call's fate is unknown (`why`)."""

    body: dict[str, Any] | None
    why: str = ""


ReadLive = Callable[[Sequence[StockUpdate]], Mapping[str, Live]]
Send = Callable[[StockUpdate], Outcome]


def guarded_deltas(updates: Sequence[StockUpdate], *, journal: DeltaJournal, read_live: ReadLive, send: Send,
                   where: str, platform: str) -> list[StockWriteResult]:
    results: dict[str, StockWriteResult] = {}
    todo: list[StockUpdate] = []
    for update in updates:
        if update.delta is None or update.idempotency_id is None:
            results[update.listing_ref] = StockWriteResult.rejected(
                update.listing_ref, f"{platform} takes stock only as deltas; the update carries no delta and id")
        elif update.delta == 0:
            results[update.listing_ref] = StockWriteResult.applied(update.listing_ref, update.quantity)
        elif (entry := journal.get(update.idempotency_id)) is not None and entry.state == "applied":
            results[update.listing_ref] = StockWriteResult.applied(update.listing_ref)
        else:
            todo.append(update)
    live = read_live(todo) if todo else {}
    for update in todo:
        results[update.listing_ref] = _one(update, live[update.listing_ref], journal=journal, read_live=read_live,
                                           send=send, where=where, platform=platform)
    return [results[update.listing_ref] for update in updates]


def _one(update: StockUpdate, now: Live, *, journal: DeltaJournal, read_live: ReadLive, send: Send, where: str,
         platform: str) -> StockWriteResult:
    ref, delta, key = update.listing_ref, update.delta or 0, update.idempotency_id or ""
    entry = journal.get(key)
    if entry is not None:  # sent before, answer never heard
        if now.stock == entry.before + delta:
            journal.applied(key)
            return StockWriteResult.applied(ref, now.stock)
        if now.stock != entry.before:
            return _undecided(journal, key, ref, now.stock)
    journal.sending(key, before=now.stock, delta=delta)
    try:
        outcome = send(update)
    except BaseException:
        journal.forget(key)  # raised only for trouble that leaves the platform untouched
        raise
    if outcome.sent is Sent.APPLIED:
        journal.applied(key)
        return StockWriteResult.applied(ref, now.stock + delta)
    if outcome.sent is Sent.REFUSED:
        journal.forget(key)
        return StockWriteResult.rejected(ref, outcome.reason)
    fresh = read_live([update])[ref]
    if outcome.sent is Sent.SHORT:
        journal.forget(key)
        return short_result(update, fresh, outcome.reason, platform)
    if fresh.stock == now.stock + delta:
        journal.applied(key)
        return StockWriteResult.applied(ref, fresh.stock)
    if fresh.stock == now.stock:
        journal.forget(key)
        raise Transient(where, f"{platform} did not answer a stock write ({outcome.reason}); it was not applied "
                               "and will be sent again")
    return _undecided(journal, key, ref, fresh.stock)


def _undecided(journal: DeltaJournal, key: str, ref: str, observed: int) -> StockWriteResult:
    """A sale or an edit came between: whether the delta went through cannot be told. It is never sent
    again (the id counts as applied from now on); the engine gets the observed number to reconcile."""
    journal.applied(key)
    return StockWriteResult.stale(ref, observed)


def short_result(update: StockUpdate, fresh: Live, reason: str, platform: str) -> StockWriteResult:
    """A refused subtraction: held stock the hub cannot change (rejected), or a channel that moved (stale)."""
    delta = update.delta or 0
    expected_before = update.quantity - delta
    if fresh.stock == expected_before:
        held = f"{fresh.reserved} of its {fresh.stock} held for an activity" if fresh.reserved else \
            f"{fresh.stock} in stock"
        return StockWriteResult.rejected(update.listing_ref, f"{platform} refused to subtract {-delta} "
                                                             f"({held}): {reason}")
    return StockWriteResult.stale(update.listing_ref, fresh.stock)
