"""Stored webhook events drained per account in chunks (`sync.orders.drain`): one job for many
events, exactly once, crash-safe, no event left behind by a drain that was ending (both databases)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

import canonical
from connectors.events import ChannelEvent, EventSubject, SubjectKind
from store import tables
from store.types import utcnow
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.hub.queues import queue
from sync.orders import drain
from sync.orders.events import seal_order, store_event
from sync.service.workers import run_worker
from sync.stock.change import StockChange
from sync.stock.ledger import Movement
from tests.sync.order_world import kill_when_marked, levels, order, shop_fixture  # noqa: F401 - fixtures


def store(hub: Hub, shop: dict[str, Any], orders: list[canonical.Order], *, carried: bool = True,
          tag: str = "evt") -> list[int]:
    """Store one event per order, each carrying its order sealed (as the webhook server does)."""
    ids = []
    with hub.db.session() as session:
        account = session.get(tables.Account, shop["account_id"])
        assert account is not None
        for n, data in enumerate(orders):
            subject = EventSubject(SubjectKind.ORDER, data.external_id)
            row = store_event(session, account, ChannelEvent(f"{tag}-{data.external_id}-{n}", "order.created", {}),
                              order_reference=data.external_id, subject=subject,
                              carried=seal_order(hub.secret_box, data) if carried else None)
            assert row is not None
            ids.append(row)
    return ids


def statuses(hub: Hub) -> dict[str, int]:
    with hub.db.session() as session:
        rows = session.execute(select(tables.WebhookEvent.status, func.count())
                               .group_by(tables.WebhookEvent.status)).all()
    return {str(status): int(n) for status, n in rows}


def count(hub: Hub, table: Any) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def commits(hub: Hub) -> list[int]:
    """A list that grows by one per committed transaction on the hub's engine."""
    seen: list[int] = []
    sa_event.listen(hub.db.engine, "commit", lambda _conn: seen.append(1))
    return seen


def orders(n: int, sku: str = "A-1") -> list[canonical.Order]:
    return [order(external_id=str(600 + i), lines=(("1", sku, 1),)) for i in range(n)]


def test_one_job_ingests_all_of_an_accounts_events_a_chunk_per_transaction(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drain, "CHUNK", 4)
    store(hub, shop, orders(9))
    assert drain.wake(hub, shop["account_id"]) is True
    assert drain.wake(hub, shop["account_id"]) is False  # one queued drain absorbs the next wake
    assert [(job.func_name, list(job.args)) for job in queue("events", hub.redis).jobs] == [
        ("sync.jobs.drain_events", [shop["account_id"]])]
    seen = commits(hub)
    run_worker(hub.redis, burst=True, queues=["events"])
    transactions = len(seen)
    assert statuses(hub) == {"processed": 9}
    assert levels(hub, shop) == (10, 9) and count(hub, tables.Order) == 9
    assert count(hub, tables.StockMovement) == 2 + 9  # the two adjustments, then one commit per order
    # 3 chunks of at most 4 events, each one transaction and one push request after it; then the
    # job's failing check, its account read, the empty chunk (a job per event took ~5 per event)
    assert transactions <= 3 * 2 + 3
    with hub.db.session() as session:
        payloads = session.scalars(select(tables.WebhookEvent.payload)).all()
    assert payloads and all("carried_order" not in p for p in payloads)


def test_a_drain_run_again_or_twice_counts_each_order_once(hub: Hub, shop: dict[str, Any]) -> None:
    data = orders(3)
    store(hub, shop, data)
    drain.drain_events(hub, shop["account_id"], "first")
    # the same deliveries again under new event ids (a platform's retries), and a drain run again
    store(hub, shop, data, tag="retried")
    drain.drain_events(hub, shop["account_id"], "second")
    drain.drain_events(hub, shop["account_id"], "second")
    assert statuses(hub) == {"processed": 6}
    assert levels(hub, shop) == (10, 3) and count(hub, tables.StockMovement) == 2 + 3


def test_an_event_stored_while_the_drain_is_ending_is_drained_by_it(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The wake of an event stored while a holder drains is taken by the holder (no job queued), and
    the holder looks at the flag as it lets go, in one step: nothing waits for the sweep."""
    store(hub, shop, orders(1))
    real = drain._again
    late = orders(2)[1:]

    def again_after_a_late_event(r: Any, account_id: int, holder: str) -> bool:
        if late:
            store(hub, shop, [late.pop()], tag="late")
            assert drain.wake(hub, account_id) is False  # a live holder: no job queued
        return real(r, account_id, holder)

    monkeypatch.setattr(drain, "_again", again_after_a_late_event)
    monkeypatch.setattr(drain, "others_waiting", lambda *_: False)  # its push request waits on `stock`
    counts = drain.drain_events(hub, shop["account_id"], "holder")
    assert counts["processed"] == 2 and statuses(hub) == {"processed": 2}
    assert queue("events", hub.redis).count == 0


def test_a_holder_that_lets_go_before_a_wake_leaves_it_to_a_new_job(hub: Hub, shop: dict[str, Any]) -> None:
    drain.drain_events(hub, shop["account_id"], "gone")  # nothing to do; lets go
    store(hub, shop, orders(1))
    assert drain.wake(hub, shop["account_id"]) is True
    run_worker(hub.redis, burst=True, queues=["events"])
    assert statuses(hub) == {"processed": 1}


def test_an_event_that_raises_fails_alone_and_the_rest_of_its_chunk_commits(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from sync.orders import events

    real = events.ingest_order

    def broken_for_601(change: Any, account: Any, data: canonical.Order, **kw: Any) -> Any:
        result = real(change, account, data, **kw)
        if data.external_id == "601":
            raise ValueError("a bug in one order's ingest")
        return result

    monkeypatch.setattr(events, "ingest_order", broken_for_601)
    store(hub, shop, orders(3))
    counts = drain.drain_events(hub, shop["account_id"], "holder")
    assert counts == {"processed": 2, "failed": 1}
    assert statuses(hub) == {"processed": 2, "failed": 1}
    assert levels(hub, shop) == (10, 2) and count(hub, tables.Order) == 2  # 601 rolled back whole


def test_an_event_without_its_order_is_handed_to_its_accounts_read_job(hub: Hub, shop: dict[str, Any]) -> None:
    store(hub, shop, orders(1), carried=False)
    counts = drain.drain_events(hub, shop["account_id"], "holder")
    assert counts == {"handed": 1} and statuses(hub) == {"reading": 1}
    assert [(job.func_name, list(job.args)) for job in queue("reads", hub.redis).jobs] == [
        ("sync.jobs.read_events", [shop["account_id"]])]  # behind the polls: the drains' queue calls nothing
    assert queue("events", hub.redis).count == 0


def test_a_handed_event_is_left_to_its_read_job_by_every_later_drain(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The short chaos run: handed events stayed `received`, so every round of a pushing
    marketplace's drain took all of its waiting reads again (~300 an account) and queued each once
    more, and the drains held the workers those reads waited for."""
    from sync.orders import events

    store(hub, shop, orders(3), carried=False)
    assert drain.drain_events(hub, shop["account_id"], "first") == {"handed": 3}
    store(hub, shop, orders(4)[3:], carried=False, tag="later")
    assert drain.drain_events(hub, shop["account_id"], "second") == {"handed": 1}
    assert statuses(hub) == {events.READING: 4}
    assert queue("reads", hub.redis).count == 1  # the account's one read job


def test_the_sweep_wakes_accounts_with_old_events_even_when_a_queued_drain_was_lost(
        hub: Hub, shop: dict[str, Any]) -> None:
    store(hub, shop, orders(2))
    assert drain.wake(hub, shop["account_id"]) is True
    queue("events", hub.redis).empty()  # the queued job is lost (Redis emptied its queue)
    assert drain.sweep(hub) == {"events": 0, "accounts": 0, "reads": 0}  # not old enough yet
    with hub.db.session() as session:
        session.execute(tables.WebhookEvent.__table__.update().values(
            received_at=utcnow() - drain.EVENT_GRACE * 2))
    assert drain.sweep(hub) == {"events": 1, "accounts": 1, "reads": 0}
    run_worker(hub.redis, burst=True, queues=["events"])
    assert statuses(hub) == {"processed": 2}


KILLED_MID_CHUNK = """
import sys, time
from pathlib import Path
from sync.jobs import current_hub
from sync.orders import drain, events
real, calls = events.ingest_order, []
def slow(*args, **kwargs):
    result = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == 3:
        Path(sys.argv[2]).write_text("mid-chunk")
        time.sleep(120)
    return result
events.ingest_order = slow
drain.drain_events(current_hub(), int(sys.argv[1]), "doomed")
"""


def test_a_drain_killed_mid_chunk_loses_nothing_and_counts_nothing_twice(
        hub: Hub, shop: dict[str, Any], tmp_path: Path) -> None:
    store(hub, shop, orders(5))
    marker = tmp_path / "marker"
    kill_when_marked(KILLED_MID_CHUNK, [str(shop["account_id"]), str(marker)], marker,
                     "the drain never reached its third order")
    # three orders were ingested in the chunk's transaction, uncommitted: all of it went with the worker
    assert statuses(hub) == {"received": 5} and count(hub, tables.Order) == 0 and levels(hub, shop) == (10, 0)
    assert drain.drain_events(hub, shop["account_id"], "other") == {}  # its lease still holds the account
    counts = drain.drain_events(hub, shop["account_id"], "doomed")  # the killed job, run again
    assert counts == {"processed": 5} and statuses(hub) == {"processed": 5}
    assert levels(hub, shop) == (10, 5) and count(hub, tables.StockMovement) == 2 + 5


def test_a_drain_whose_lease_ran_out_unclaimed_takes_it_again_and_goes_on(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk slower than the lease (a loaded machine): when no other drain took the account
    meanwhile, this one takes it back and drains the rest (it held the wake flag nobody else saw)."""
    monkeypatch.setattr(drain, "CHUNK", 1)
    store(hub, shop, orders(3))
    real = drain._drain_chunk

    def chunk_then_lease_gone(*args: Any) -> tuple[int, int] | None:
        last = real(*args)
        hub.redis.delete(drain.DRAINS.key("holder", shop["account_id"]))  # expired meanwhile
        return last

    monkeypatch.setattr(drain, "_drain_chunk", chunk_then_lease_gone)
    assert drain.drain_events(hub, shop["account_id"], "slow")["processed"] == 3
    assert statuses(hub) == {"processed": 3}


def test_while_events_keep_coming_drain_rounds_start_a_coalescing_window_apart(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Events stored just after a round took all there was wait for the next round, which starts
    `events_coalesce_s` after that one did, all in one chunk; their wakes find the account held."""
    hub.settings.sync.events_coalesce_s = 0.5
    store(hub, shop, orders(1))
    later = orders(4)[1:]
    real = drain._drain_chunk
    chunks: list[tuple[float, int]] = []

    def recording(hub_: Hub, account_id: int, after: int, counts: Any,
                  size: int = drain.CHUNK) -> tuple[int, int] | None:
        before, started = sum(counts.values()), time.monotonic()
        last = real(hub_, account_id, after, counts, size)
        if last is not None:
            chunks.append((started, sum(counts.values()) - before))
        if (last is None or last[1] < size) and later:  # the round took all there was: these come just after
            store(hub, shop, later, tag="later")
            later.clear()
            assert drain.wake(hub, account_id) is False
        return last

    monkeypatch.setattr(drain, "_drain_chunk", recording)
    monkeypatch.setattr(drain, "others_waiting", lambda *_: False)  # no job of another queue waits
    assert drain.drain_events(hub, shop["account_id"], "holder")["processed"] == 4
    assert [n for _, n in chunks] == [1, 3] and chunks[1][0] - chunks[0][0] >= 0.49
    assert queue("events", hub.redis).count == 0


def test_a_chunk_that_loses_a_deadlock_goes_again_in_smaller_chunks_and_counts_once(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The chaos run: drains of several accounts moved the same stock levels in other orders and lost
    deadlocks until their jobs failed. A chunk that loses one is rolled back whole and retried smaller."""
    from sqlalchemy.exc import OperationalError

    from sync.orders import events

    class Deadlock(Exception):
        sqlstate = "40P01"

    real, raised = events.ingest_order, []

    def deadlocks_once(change: Any, account: Any, data: canonical.Order, **kw: Any) -> Any:
        result = real(change, account, data, **kw)
        if data.external_id == "602" and not raised:
            raised.append(1)
            raise OperationalError("INSERT INTO stock_levels …", {}, Deadlock("deadlock detected"))
        return result

    monkeypatch.setattr(events, "ingest_order", deadlocks_once)
    store(hub, shop, orders(5))
    counts = drain.drain_events(hub, shop["account_id"], "holder")
    assert counts == {"processed": 5, "deadlocks_retried": 1}
    assert statuses(hub) == {"processed": 5}
    assert levels(hub, shop) == (10, 5) and count(hub, tables.Order) == 5


def test_a_drained_order_costs_a_dozen_statements_and_a_round_three_dozen(hub: Hub, shop: dict[str, Any]) -> None:
    """What a sale costs the database (issue 16): a new one-line order drained in a chunk was 26
    statements (its order looked up twice, inserted then updated, its lines read four times, its
    account's location, variant and kits read again per order); a round of one event 52 (another
    transaction to find nothing more, a claim insert and select per account pushed)."""
    for name in ("s1", "s2"):  # two more accounts sell both variants: each sale is pushed to them
        account = add_account(hub, "woocommerce", name, {"url": "http://127.0.0.1:9"},
                              {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"},
                              actor="test")
        with hub.db.session() as session:
            for n, variant_id in enumerate(shop["variants"].values()):
                session.add(tables.Listing(account_id=account.id, variant_id=variant_id, external_product_id="10",
                                           external_variant_id=str(200 + n), channel_sku=f"S-{n}"))
    with hub.db.session() as session:  # stock enough that no sale oversells (that opens conflicts)
        change = StockChange(session, hub.settings)
        for variant_id in shop["variants"].values():
            change.move(Movement(f"receive:{variant_id}", variant_id, shop["location"], on_hand_delta=1000))
        change.settle()
    statements: list[str] = []
    sa_event.listen(hub.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    chunk = [order(external_id=str(700 + i), lines=(("1", "A-1" if i % 2 else "A-2", 1),)) for i in range(50)]
    store(hub, shop, chunk, tag="chunk")
    statements.clear()
    drain._drain_round(hub, shop["account_id"], "holder", Counter())
    per_order = len(statements) / len(chunk)
    store(hub, shop, orders(1, "A-1")[:1], tag="alone")
    statements.clear()
    drain._drain_round(hub, shop["account_id"], "holder", Counter())
    assert statuses(hub) == {"processed": 51}
    assert per_order <= 13, per_order
    # 36 before the account was read in the chunk and the push request marked in its transaction
    assert len(statements) <= 31, statements


def test_a_drain_job_makes_two_redis_round_trips_of_its_own(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: a drain of one event made seven round trips of its own (the queued key cleared, the
    lease taken, the flag cleared, looked at, the lease let go, the flag looked at again), besides its
    push request's; now one script to start and one to end its round."""
    import redis.client

    store(hub, shop, orders(1))
    drain.drain_events(hub, shop["account_id"], "first")  # its push job is queued: the next request finds it
    store(hub, shop, orders(2)[1:], tag="second")
    calls: list[str] = []
    command, pipeline = redis.client.Redis.execute_command, redis.client.Pipeline.execute

    def counted_command(self: Any, *args: Any, **options: Any) -> Any:
        calls.append(str(args[0]))
        return command(self, *args, **options)

    def counted_pipeline(self: Any, *args: Any, **options: Any) -> Any:
        calls.append("pipeline")
        return pipeline(self, *args, **options)

    monkeypatch.setattr(redis.client.Redis, "execute_command", counted_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)
    assert drain.drain_events(hub, shop["account_id"], "second") == {"processed": 1}
    # start, the push request's look at backoffs and queued jobs (two pipelines), end: 9 before
    assert calls == ["EVAL", "pipeline", "pipeline", "EVAL"], calls


def test_a_location_created_in_a_remembering_transaction_is_found_again(hub: Hub) -> None:
    """The memo kept a miss: the first channel return of a drain created the "returns" location,
    the next one in the same chunk created it again (a unique code: the chunk failed for good)."""
    from store.memo import remembering
    from sync.stock.locations import hub_location

    with hub.db.session() as session, remembering(session):
        created = hub_location(session, "returns")
        assert hub_location(session, "returns") is created
        assert session.scalar(select(func.count()).select_from(tables.Location)
                              .where(tables.Location.code == "returns")) == 1


def test_a_drain_does_not_sit_out_its_window_while_other_queues_wait(
        hub: Hub, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """With events still coming and a stock push queued, the drain hands the account to a fresh job
    behind the other queues' jobs instead of holding its worker through the coalescing window."""
    from sync.hub.queues import turn_yielded

    hub.settings.sync.events_coalesce_s = 5.0
    store(hub, shop, orders(1))
    later = orders(3)[1:]
    real = drain._drain_chunk

    def storing(hub_: Hub, account_id: int, after: int, counts: Any,
                size: int = drain.CHUNK) -> tuple[int, int] | None:
        last = real(hub_, account_id, after, counts, size)
        if later:  # more comes while it drains: its wake flag is set
            store(hub, shop, later, tag="later")
            later.clear()
            drain.wake(hub, account_id)
        return last

    monkeypatch.setattr(drain, "_drain_chunk", storing)
    queue("stock", hub.redis).enqueue("sync.jobs.ping", "a push waits")
    turn_yielded()
    started = time.monotonic()
    counts = drain.drain_events(hub, shop["account_id"], "holder")
    assert time.monotonic() - started < 2.0, "sat out the 5 s window"
    assert counts == {"processed": 1, "handed_over": 1} and turn_yielded()
    assert [job.func_name for job in queue("events", hub.redis).jobs] == ["sync.jobs.drain_events"]
    run_worker(hub.redis, burst=True, queues=["events"])
    assert statuses(hub) == {"processed": 3}
