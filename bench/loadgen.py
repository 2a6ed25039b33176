"""Buyers at a steady rate, and what the simulators' write logs say about each order.

`steady_orders` places one order every 1/rate seconds (on a schedule, so a slow answer does not
slow the next buyer), spread round-robin over the channels. `order_latencies` reads the logs: an
order is accepted at the origin's buyer write for its SKU (the simulator's own clock, `ts`), and
it has reached another channel at the first API write there for that SKU at or after that moment
whose quantity is at or below what the origin showed after the order (a later sale may have lowered
it more). Its latency is the time until the last other channel was reached.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.simproc import RemoteSimulator, hub_writes, written_quantity

BUYER_SOURCES = {"buyer", "order"}  # how the simulators label a buyer's stock change


@dataclass(frozen=True)
class Sent:
    channel: str
    sku: str
    sent_at: float
    status: int


def steady_orders(channels: Sequence[tuple[str, RemoteSimulator]], skus: Sequence[str], rate: float,
                  duration_s: float, rng: random.Random, *, threads: int = 16) -> list[Sent]:
    count = max(1, int(rate * duration_s))
    plan = [(channels[i % len(channels)], rng.choice(skus)) for i in range(count)]
    sent: list[Sent] = []
    lock = threading.Lock()

    def buy(name: str, simulator: RemoteSimulator, sku: str) -> None:
        started = time.time()
        _, status = simulator.place_order(sku, 1)
        with lock:
            sent.append(Sent(name, sku, started, status))

    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for i, ((name, simulator), sku) in enumerate(plan):
            delay = begin + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(buy, name, simulator, sku)
    return sent


def buyer_writes(writes: list[dict[str, Any]]) -> dict[str, list[tuple[float, int]]]:
    found: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for entry in writes:
        quantity = written_quantity(entry)
        if entry.get("source") in BUYER_SOURCES and entry.get("sku") and quantity is not None:
            found[str(entry["sku"])].append((float(entry["ts"]), quantity))
    return found


def api_writes(writes: list[dict[str, Any]]) -> dict[str, list[tuple[float, int]]]:
    found: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for entry in hub_writes(writes):
        quantity = written_quantity(entry)
        if quantity is not None:
            found[str(entry["sku"])].append((float(entry["ts"]), quantity))
    return found


def order_latencies(sent: Sequence[Sent], logs: dict[str, list[dict[str, Any]]]) -> tuple[list[float], int]:
    """Milliseconds from acceptance to the last other channel, per accepted order; and how many
    orders no other channel has caught up with."""
    buyers = {name: buyer_writes(log) for name, log in logs.items()}
    hub = {name: api_writes(log) for name, log in logs.items()}
    used: set[tuple[str, str, float]] = set()
    latencies: list[float] = []
    unreached = 0
    for order in sorted((s for s in sent if s.status < 300), key=lambda s: s.sent_at):
        accepted = next(((ts, q) for ts, q in buyers[order.channel].get(order.sku, [])
                         if ts >= order.sent_at - 0.001 and (order.channel, order.sku, ts) not in used), None)
        if accepted is None:
            unreached += 1
            continue
        used.add((order.channel, order.sku, accepted[0]))
        last = 0.0
        for name, writes in hub.items():
            if name == order.channel:
                continue
            reached = next((ts for ts, q in writes.get(order.sku, []) if ts >= accepted[0] and q <= accepted[1]), None)
            if reached is None:
                last = -1.0
                break
            last = max(last, reached - accepted[0])
        if last < 0:
            unreached += 1
        else:
            latencies.append(last * 1000)
    return latencies, unreached


def minimum_writes(sent: Sequence[Sent], channel: str, window_s: float, batch: int) -> int:
    """The fewest stock write calls that keep `channel` within `window_s` of every other channel's sale:
    a write at the end of each window opened by a sale not yet covered, one per `batch` SKUs in it."""
    times = sorted((s.sent_at, s.sku) for s in sent if s.status < 300 and s.channel != channel)
    calls, index = 0, 0
    while index < len(times):
        closes, skus = times[index][0] + window_s, set()
        while index < len(times) and times[index][0] <= closes:
            skus.add(times[index][1])
            index += 1
        calls += -(-len(skus) // batch)
    return calls
