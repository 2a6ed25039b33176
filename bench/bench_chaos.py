"""The chaos run (issue #15): the hub under load and faults, then left alone to converge.

Topology: the demo's channels, each simulator in its own process and seeded alike: two Shopify
(reached by the hub through a loopback proxy that can cut it off), one WooCommerce, and the six
marketplaces (淘宝/天猫, 拼多多, 京东, 抖店, 快手, 微信小店), each connected with what its simulator's
`account_setup` says; PostgreSQL (a fresh database), a redis-server this run starts on a free
loopback port, and the hub as a merchant scales it out: `marketsync scheduler`, `marketsync serve`
and `marketsync worker --count 3` (a supervisor with three workers). Each account hears of changes
as its connector declares (`bench.channels.wire_events`): Shopify and WooCommerce by webhooks it
registers, 抖店, 快手 and 微信小店 by pushes to the URL set in their console, 淘宝 from its TMC queue
(pulled by the scheduler), 拼多多 and 京东 by order polls. `serve` keeps one port for the run, so
webhooks and push URLs reach it again after its restart. The smoke profile (CI) runs a subset of
the marketplaces, one of each way of hearing of changes.

Buyers order at `rate`/s in all for `duration_s`, round-robin over every channel; buyers cancel
and merchants refund some orders on every channel (each marketplace simulator's control plane
cancels and refunds: 拼多多 and 京东 cancel a paid order as a full refund before shipping, the way
the platforms do), and the warehouse ships open orders through the hub, whatever their origin
(carrier `SF Express`, a carrier every platform knows).

Faults while the load runs, on every simulator (`/_sandbox/faults`, the same spec for all): 10 %
HTTP 5xx and 2 % stalls past the hub's client timeout; throttling storms of `storm_s` seconds
(every request answered with the platform's rate-limit answer: HTTP 429 with Retry-After, or the
marketplace gateway's ban or QPS error code inside HTTP 200). A storm is timed, not a count of
refusals: a client that waits 5 s after each 微信小店 "retry next minute" took a storm of 40
refusals for 200 s, and its event jobs, waiting on the paused budget, held every worker. Also
20 % duplicated and reordered webhooks, pushes and TMC messages (拼多多 and 京东 send no events,
so they have none). A marketplace answers an injected 5xx the way it answers a platform failure:
淘宝, 拼多多 and 京东 inside HTTP 200 with their gateway's error code (TOP 15 `isp.*`, 52103,
65), 抖店, 快手 and 微信小店 with HTTP 503 and their error body. Beside them: SIGKILL of a random
worker every `kill_every_s` (the supervisor restarts it); `serve` restarted; Redis killed and
restarted empty once, FLUSHDB once; one Shopify simulator unreachable for `outage_s`;
`pg_terminate_backend` on the hub's connections twice. Then the faults stop and the run waits
for the hub to converge by itself (`converge_s`: until every invariant of `bench.chaos_checks`
but the log check holds and nothing is pending), checks and prints each invariant.

`retries` counts the requests the simulators answered with an injected failure (503, 504 after a
stall, 429): each is one the hub had to repeat. They are read from what each simulator reports as
`injected` (`/_sandbox/requests`), not from HTTP statuses: a marketplace gateway answers most of
them with HTTP 200. `faults` has them by kind, and `faults_by_platform` by platform.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.channels import MARKETPLACES, connect_account, populate, start_channels, wire_events
from bench.chaos_checks import check_all, settled
from bench.chaos_tools import CutProxy, RestartableRedis, kill_random_child, terminate_backends
from bench.measure import loadavg
from bench.rig import POSTGRES_ADMIN_URL, PostgresDatabase
from bench.simproc import RemoteSimulator, placed_order_id
from sandbox.catalogue import SeedSpec
from sandbox.demo.world import wait_until_healthy
from sandbox.runtime import free_port
from store import tables
from store.settings import load_settings
from sync.hub.context import Hub
from sync.jobs import set_hub
from sync.orders.effects import open_units
from sync.orders.shipment_queue import enqueue_push
from sync.orders.shipments import create_shipment
from sync.stock.change import stock_change

NAME = "chaos"
DEMO_CHANNELS = (("shop-a", "shopify"), ("shop-b", "shopify"), ("woo", "woocommerce"))
CHANNELS = (*DEMO_CHANNELS, *MARKETPLACES)
# CI's smoke run: one marketplace of each way of hearing of changes (a pulled queue, order polls,
# console pushes), to stay within two minutes.
SMOKE_CHANNELS = (*DEMO_CHANNELS, *(c for c in MARKETPLACES if c[0] in ("taobao", "jd", "douyin")))
UNREACHABLE = "shop-b"  # the simulator cut off for `outage_s` (through its proxy)
CARRIER = "SF Express"  # a carrier every platform knows (the marketplaces take only their own carriers' codes)
STOCK = 100_000
PARAMETERS: dict[str, dict[str, Any]] = {
    "full": {"skus": 60, "rate": 20.0, "duration_s": 180.0, "kill_every_s": 10.0, "outage_s": 30.0,
             "storm_s": 15.0, "converge_timeout_s": 240.0, "ship_share": 0.3, "channels": CHANNELS},
    # `CHAOS_PROFILE=short python -m bench chaos`: a minute of load, for a look at convergence (CHAOS_KEEP).
    "short": {"skus": 30, "rate": 20.0, "duration_s": 60.0, "kill_every_s": 10.0, "outage_s": 15.0,
              "storm_s": 10.0, "converge_timeout_s": 120.0, "ship_share": 0.3, "channels": CHANNELS},
    "smoke": {"skus": 12, "rate": 4.0, "duration_s": 30.0, "kill_every_s": 10.0, "outage_s": 6.0,
              "storm_s": 5.0, "converge_timeout_s": 60.0, "ship_share": 0.3, "channels": SMOKE_CHANNELS},
}
HUB_SETTINGS = {  # short timeouts and intervals so faults are felt and healed within the run
    "MARKETSYNC_HTTP__TIMEOUT_S": "2", "MARKETSYNC_HTTP__MAX_ATTEMPTS": "4", "MARKETSYNC_HTTP__MAX_BACKOFF_S": "2",
    "MARKETSYNC_SYNC__SWEEP_INTERVAL_S": "2", "MARKETSYNC_SYNC__ORDER_POLL_INTERVAL_S": "5",
    "MARKETSYNC_SYNC__RECONCILE_INTERVAL_S": "20", "MARKETSYNC_SYNC__ORDER_LOOKBACK_S": "300",
}
RANDOM_FAULTS = {"error_rate": 0.10, "timeout_rate": 0.02, "timeout_seconds": 3.0, "duplicate_webhooks": 0.2,
                 "reorder_webhooks": True}
CONVERGED = ("orders_once", "quantities_published", "ledger_replays", "shipments_once")
CALM = {"error_rate": 0.0, "timeout_rate": 0.0, "duplicate_webhooks": 0.0, "reorder_webhooks": False,
        "storm": {"seconds": 0}}


class ChaosHub:
    """The hub's database, Redis and processes for one run, each process logging to its own file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.postgres = PostgresDatabase()
        self.redis = RestartableRedis(workdir)
        self.redis.start()
        settings = load_settings(home=str(workdir / "workspace"))
        settings.database.url, settings.redis.url = self.postgres.url, self.redis.url
        self.hub = Hub(settings)
        self.hub.workspace.secret_box(create=True)
        self.hub.db.upgrade()
        set_hub(self.hub)
        base = {k: v for k, v in os.environ.items() if not k.startswith("MARKETSYNC_")}
        self.env = {**base, **HUB_SETTINGS, "MARKETSYNC_HOME": str(workdir / "workspace"),
                    "MARKETSYNC_DATABASE__URL": self.postgres.url, "MARKETSYNC_REDIS__URL": self.redis.url}
        self.serve_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with self.log(name).open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "cli.main", *args], env=self.env,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        self.processes[name] = process
        return process

    @property
    def serve_base(self) -> str:
        """The webhook server's URL: the same across restarts (one port for the run), so registered
        webhooks and console push URLs keep reaching it."""
        return f"http://127.0.0.1:{self.serve_port}"

    def start_serve(self) -> None:
        process = self.spawn("serve", "serve", "--host", "127.0.0.1", "--port", str(self.serve_port))
        wait_until_healthy(self.serve_base, process, timeout_s=60)

    def stop(self, name: str, grace_s: float = 20.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        self.hub.close()
        set_hub(None)
        self.redis.kill()
        self.postgres.drop()


def prepare(chaos: ChaosHub, channels: dict[str, RemoteSimulator], proxies: dict[str, CutProxy]) -> dict[str, str]:
    """Accounts (Shopify through its proxy, the one that can be cut off; WooCommerce directly: OAuth
    1.0a over http signs the URL, port included; a marketplace as its simulator's `account_setup`
    says), catalogue and stock from WooCommerce, listings on the others, and each account's events
    wired as its connector declares; how, by account."""
    for name, simulator in channels.items():
        proxy = proxies.get(name)
        connect_account(chaos.hub, simulator, name, actor="chaos", base_url=proxy.url if proxy else None,
                        webhook_secret="chaos-whsec")
    populate(chaos.hub, list(channels), actor="chaos")
    return wire_events(chaos.hub, chaos.serve_base, channels)


class Traffic:
    """Buyers, cancels, refunds and the warehouse's shipments, while the load runs."""

    def __init__(self, chaos: ChaosHub, channels: dict[str, RemoteSimulator], skus: list[str],
                 p: dict[str, Any], rng: random.Random) -> None:
        self.chaos, self.channels, self.skus, self.p, self.rng = chaos, channels, skus, p, rng
        self.placed: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def buyers(self, stop_at: float) -> None:
        """`rate` orders a second in all, round-robin over the channels, on a schedule (a few buyers at
        once, so one slow answer does not hold up the next buyer)."""
        names = list(self.channels)
        interval, index = 1.0 / float(self.p["rate"]), 0
        next_at = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            while time.monotonic() < stop_at:
                pool.submit(self._buy, names[index % len(names)], self.rng.choice(self.skus), self.rng.randint(1, 2))
                index += 1
                next_at += interval
                time.sleep(max(next_at - time.monotonic(), 0))

    def _buy(self, name: str, sku: str, quantity: int) -> None:
        order, status = self.channels[name].place_order(sku, quantity)
        with self.lock:
            if order is not None:
                self.placed.append((name, placed_order_id(order)))
                self.counts["orders"] += 1
            else:
                self.counts[f"orders_refused_{status}"] += 1

    def after_sales(self, stop_at: float) -> None:
        """Each second: a buyer cancels one recent order (5 % of orders), a merchant refunds one (3 %)."""
        while time.monotonic() < stop_at:
            time.sleep(1.0)
            with self.lock:
                recent = self.placed[-50:]
            for action, share in (("cancel", 0.05), ("refund", 0.03)):
                for _ in range(self._draws(share)):
                    if not recent:
                        break
                    name, order_id = self.rng.choice(recent)
                    try:
                        self.channels[name].control("POST", f"orders/{order_id}/{action}", {"restock": True})
                        outcome = f"{action}s"
                    except (RuntimeError, httpx.HTTPError):
                        outcome = f"{action}s_refused"  # already shipped, cancelled or refunded
                    with self.lock:
                        self.counts[outcome] += 1

    def _draws(self, share: float) -> int:
        expected = float(self.p["rate"]) * share
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def warehouse(self, stop_at: float) -> None:
        """Every 2 s the warehouse ships a share of the open orders the hub holds, through the hub."""
        while time.monotonic() < stop_at:
            time.sleep(2.0)
            try:
                created = self._ship_some()
            except Exception as exc:  # the database may be cut off by a fault: ship again next round
                self.counts[f"ship_round_failed_{type(exc).__name__}"] += 1
                continue
            for shipment_id in created:
                try:
                    enqueue_push(self.chaos.hub, shipment_id)
                except Exception:  # Redis may be down: the sweep pushes pending shipments
                    self.counts["ship_enqueue_lost"] += 1

    def _ship_some(self) -> list[int]:
        created: list[int] = []
        hub = self.chaos.hub
        with stock_change(hub) as change:
            session = change.session
            orders = session.scalars(select(tables.Order).where(tables.Order.status == "open")
                                     .order_by(tables.Order.id.desc()).limit(40)).all()
            self.counts["open_orders_seen"] += len(orders)
            for order in orders:
                if self.rng.random() > float(self.p["ship_share"]):
                    continue
                lines = session.scalars(select(tables.OrderLine).where(tables.OrderLine.order_id == order.id)).all()
                if not any(open_units(line) > 0 and not line.held for line in lines):
                    continue
                shipment, is_new = create_shipment(change, order, None, carrier=CARRIER,
                                                   tracking=f"CHAOS{order.id:07d}", url=None, source="chaos")
                if is_new:
                    created.append(shipment.id)
                    self.counts["shipments"] += 1
        return created


class Faults:
    """The fault timeline, relative to the start of the load."""

    def __init__(self, chaos: ChaosHub, channels: dict[str, RemoteSimulator], proxies: dict[str, CutProxy],
                 p: dict[str, Any], rng: random.Random, worker_supervisor: subprocess.Popen[bytes]) -> None:
        self.chaos, self.channels, self.proxies, self.p, self.rng = chaos, channels, proxies, p, rng
        self.supervisor = worker_supervisor
        self.counts: Counter[str] = Counter()

    def timeline(self) -> list[tuple[float, str]]:
        duration, events = float(self.p["duration_s"]), []
        kill_at = float(self.p["kill_every_s"])
        while kill_at < duration:
            events.append((kill_at, "worker_sigkill"))
            kill_at += float(self.p["kill_every_s"])
        events += [(0.15 * duration, "throttling_storm"), (0.6 * duration, "throttling_storm"),
                   (0.25 * duration, "serve_restart"), (0.3 * duration, "pg_terminate_backend"),
                   (0.8 * duration, "pg_terminate_backend"), (0.4 * duration, "redis_restart_empty"),
                   (0.7 * duration, "redis_flushdb"), (0.5 * duration, "simulator_unreachable")]
        return sorted(events)

    def run(self, started: float) -> None:
        for offset, kind in self.timeline():
            time.sleep(max(started + offset - time.monotonic(), 0))
            try:
                getattr(self, kind)()
                self.counts[kind] += 1
            except Exception as exc:  # a fault that could not be injected is reported, not hidden
                self.counts[f"{kind}_not_injected_{type(exc).__name__}"] += 1

    def worker_sigkill(self) -> None:
        if kill_random_child(self.supervisor.pid, self.rng) is None:
            raise RuntimeError("no worker to kill")

    def throttling_storm(self) -> None:
        for simulator in self.channels.values():
            simulator.configure({"storm": {"status": 429, "retry_after": 1, "seconds": float(self.p["storm_s"])}})

    def serve_restart(self) -> None:
        self.chaos.stop("serve", grace_s=5)
        self.chaos.start_serve()

    def pg_terminate_backend(self) -> None:
        terminate_backends(POSTGRES_ADMIN_URL, self.chaos.postgres.name)

    def redis_restart_empty(self) -> None:
        self.chaos.redis.kill()
        time.sleep(1.0)
        self.chaos.redis.start()

    def redis_flushdb(self) -> None:
        self.chaos.redis.flushdb()

    def simulator_unreachable(self) -> None:
        proxy = self.proxies[UNREACHABLE]
        proxy.cut()
        threading.Timer(float(self.p["outage_s"]), proxy.restore).start()


def injected(channels: dict[str, RemoteSimulator]) -> Counter[str]:
    """The injected failures the simulators answered, by the fault's status (429, 503, 504 for a stall),
    from what each reports under `injected`: a marketplace gateway answers most of them inside HTTP
    200 with its own error body, so `by_status` cannot tell them from successes."""
    counts: Counter[str] = Counter()
    for simulator in channels.values():
        counts.update({status: int(n) for status, n in simulator.requests().get("injected", {}).items()})
    return counts


def injected_failures(channels: dict[str, RemoteSimulator]) -> int:
    return sum(injected(channels).values())


def converge(chaos: ChaosHub, channels: dict[str, RemoteSimulator], timeout_s: float,
             holdouts: list[tuple[float, list[str]]] | None = None) -> tuple[float | None, dict[str, Any]]:
    """Seconds from the end of the faults until the hub is consistent and idle (None: not within
    timeout), and what still stood in the way at the last look. `holdouts` gets, each time it changes,
    the seconds since the faults ended and the names of what stood in the way then."""
    started = time.monotonic()
    waiting: dict[str, Any] = {}
    while time.monotonic() - started < timeout_s:
        if holdouts is not None and (not holdouts or holdouts[-1][1] != sorted(waiting)):
            holdouts.append((round(time.monotonic() - started, 1), sorted(waiting)))
        try:
            checks = check_all(chaos.hub, channels, [])
            waiting = {name: {k: v for k, v in checks[name].items() if k != "ok"}
                       for name in CONVERGED if not checks[name]["ok"]}
            if not settled(chaos.hub):
                waiting["settled"] = False
            if not waiting:
                return round(time.monotonic() - started, 1), {}
        except Exception as exc:  # the hub's database or Redis may still be coming back
            waiting = {"error": repr(exc)[:300]}
        time.sleep(1.0)
    return None, waiting


def one_run(p: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    spec = SeedSpec(products=int(p["skus"]), variants=1, stock=STOCK, seed=15)
    channels = start_channels(spec, p["channels"])
    proxies: dict[str, CutProxy] = {}
    try:
        for name, simulator in channels.items():
            if simulator.platform == "shopify":
                proxies[name] = CutProxy(int(simulator.url.rsplit(":", 1)[1]))
        with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
            chaos = ChaosHub(Path(tmp))
            try:
                return run_with(chaos, channels, proxies, p, rng, spec)
            finally:
                chaos.close()
    finally:
        for proxy in proxies.values():
            proxy.close()
        for simulator in channels.values():
            simulator.stop()


def run_with(chaos: ChaosHub, channels: dict[str, RemoteSimulator], proxies: dict[str, CutProxy],
             p: dict[str, Any], rng: random.Random, spec: SeedSpec) -> dict[str, Any]:
    setup_started = time.monotonic()
    chaos.start_serve()
    wired = prepare(chaos, channels, proxies)
    chaos.spawn("scheduler", "scheduler")
    supervisor = chaos.spawn("workers", "worker", "--count", "3")
    time.sleep(3.0)
    for simulator in channels.values():
        simulator.reset_counters()
        simulator.configure({**RANDOM_FAULTS, "seed": rng.randrange(10**6)})
    skus = [f"MS-{n:04d}-1" for n in range(1, spec.products + 1)]
    traffic, faults = Traffic(chaos, channels, skus, p, rng), Faults(chaos, channels, proxies, p, rng, supervisor)
    setup_s = round(time.monotonic() - setup_started, 1)
    load_before = loadavg()
    started = time.monotonic()
    stop_at = started + float(p["duration_s"])
    threads = [threading.Thread(target=fn, args=(stop_at,), daemon=True)
               for fn in (traffic.buyers, traffic.after_sales, traffic.warehouse)]
    threads.append(threading.Thread(target=faults.run, args=(started,), daemon=True))
    depths = Depths(chaos, started) if os.environ.get("CHAOS_KEEP") else None
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=float(p["duration_s"]) + 120)
    for simulator in channels.values():
        simulator.configure(CALM)
    proxies[UNREACHABLE].cut()  # the outage timer may still be pending: make sure the simulator is back
    proxies[UNREACHABLE].restore()
    retries = injected_failures(channels)
    keep = os.environ.get("CHAOS_KEEP")
    snapshots: dict[str, Any] = {}
    if keep:
        snapshots = {"at_faults_end": _safe_state(chaos)}
        threading.Timer(30.0, lambda: snapshots.__setitem__("faults_end_plus_30s", _safe_state(chaos))).start()
    holdouts: list[tuple[float, list[str]]] = []
    converge_s, not_converged = converge(chaos, channels, float(p["converge_timeout_s"]), holdouts)
    logs = [chaos.log(name) for name in ("serve", "scheduler", "workers")]
    checks = check_all(chaos.hub, channels, logs)
    if keep:  # the hub's logs and what it still holds, for a look at what happened
        Path(keep).mkdir(parents=True, exist_ok=True)
        snapshots["at_end"] = _safe_state(chaos)
        if depths is not None:
            depths.stop()
            snapshots["depths"] = depths.samples
        (Path(keep) / "drift.json").write_text(json.dumps(drift_histories(chaos, channels, checks), indent=1,
                                                          default=str))
        (Path(keep) / "state.json").write_text(json.dumps(snapshots, indent=2, default=str))
        for log in logs:
            if log.exists():
                (Path(keep) / log.name).write_bytes(log.read_bytes())
    fault_counts = dict(faults.counts)
    fault_counts.update(injected_by_kind(channels))
    requests = {name: {k: v for k, v in simulator.requests().items() if k in ("total", "by_status", "injected")}
                for name, simulator in channels.items()}
    return {"orders": traffic.counts["orders"], "traffic": dict(traffic.counts), "faults": fault_counts,
            "requests": requests, "events_wired": wired, "faults_by_platform": injected_by_platform(channels),
            "retries": retries, "converge_s": converge_s, "not_converged_at_timeout": not_converged,
            "holdouts": holdouts,
            "setup_s": setup_s, "checks": checks,
            "invariants": {name: bool(result["ok"]) for name, result in checks.items()},
            "loadavg_before": load_before, "loadavg_after": loadavg()}


class Depths:
    """For a kept run (`CHAOS_KEEP`): every `every_s`, what each queue holds, what each worker runs,
    and the database's received events and pending listings by account, to see what holds the
    workers while the load and the faults run and after."""

    def __init__(self, chaos: ChaosHub, started: float, every_s: float = 5.0) -> None:
        self.chaos, self.started, self.every_s = chaos, started, every_s
        self.samples: list[dict[str, Any]] = []
        self._stopped = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.every_s):
            try:
                self.samples.append(self._sample())
            except Exception as exc:  # Redis or the database may be down for a fault
                self.samples.append({"t": round(time.monotonic() - self.started, 1), "error": repr(exc)[:200]})

    def _sample(self) -> dict[str, Any]:
        from rq import Worker
        from rq.job import Job
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry
        from rq.serializers import JSONSerializer
        from sqlalchemy import func

        from sync.hub.queues import all_queues

        redis = self.chaos.hub.redis
        sample: dict[str, Any] = {"t": round(time.monotonic() - self.started, 1), "queues": {}, "workers": []}
        for q in all_queues(redis):
            sample["queues"][q.name] = [len(q), StartedJobRegistry(queue=q).count,
                                        ScheduledJobRegistry(queue=q).count]
        for worker in Worker.all(connection=redis):
            job_id = worker.get_current_job_id()
            what = None
            if job_id:
                try:
                    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
                    what = f"{(job.func_name or '').rsplit('.', 1)[-1]}{tuple(job.args)}"
                except Exception:
                    what = job_id
            sample["workers"].append(what)
        with self.chaos.hub.db.session() as session:
            names = dict(session.execute(select(tables.Account.id, tables.Account.name)).all())
            sample["events_received"] = {names.get(a, a): n for a, n in session.execute(
                select(tables.WebhookEvent.account_id, func.count()).where(
                    tables.WebhookEvent.status == "received").group_by(tables.WebhookEvent.account_id))}
            sample["events_reading"] = {names.get(a, a): n for a, n in session.execute(
                select(tables.WebhookEvent.account_id, func.count()).where(
                    tables.WebhookEvent.status == "reading").group_by(tables.WebhookEvent.account_id))}
            sample["pending_listings"] = {names.get(a, a): n for a, n in session.execute(
                select(tables.Listing.account_id, func.count()).where(
                    tables.Listing.push_pending.is_(True)).group_by(tables.Listing.account_id))}
        return sample


def drift_histories(chaos: ChaosHub, channels: dict[str, RemoteSimulator],
                    checks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """For a kept run: each mismatched listing's story on both sides — every stock change the
    channel's simulator applied to the SKU (buyers, cancels, the hub's writes), the hub's movements of
    the variant, its listing and any write still out."""
    found = []
    writes = {name: simulator.writes() for name, simulator in channels.items()}
    for example in checks["quantities_published"].get("examples", []):
        account, sku = str(example["account"]), example["sku"]
        with chaos.hub.db.session() as session:
            listing = session.scalars(select(tables.Listing).join(tables.Account).where(
                tables.Account.name == account, tables.Listing.channel_sku == sku)).first()
            if listing is None:
                continue
            movements = [(str(m.created_at), m.on_hand_delta, m.committed_delta, m.reason, m.source, m.reference)
                         for m in session.scalars(select(tables.StockMovement).where(
                             tables.StockMovement.variant_id == listing.variant_id).order_by(tables.StockMovement.id))]
            out = [{c.name: getattr(w, c.name) for c in tables.StockWrite.__table__.columns}
                   for w in session.scalars(select(tables.StockWrite).where(
                       tables.StockWrite.listing_id == listing.id))]
            changes = [w for w in writes[account] if w.get("sku") == sku]
            referenced = {str(w.get("reason", "")).rsplit(" ", 1)[-1] for w in changes if w.get("source") != "api"}
            orders = []
            for row in session.scalars(select(tables.Order).join(tables.Account).where(
                    tables.Account.name == account, tables.Order.external_id.in_(referenced))):
                lines = [(li.sku, li.quantity, li.cancelled_quantity, li.shipped_quantity, li.restocked_quantity,
                          li.refunded_quantity, li.held) for li in session.scalars(
                              select(tables.OrderLine).where(tables.OrderLine.order_id == row.id))]
                orders.append({"external_id": row.external_id, "status": row.status, "created_at": row.created_at,
                               "updated_at": row.updated_at, "channel_updated_at": row.channel_updated_at,
                               "lines": lines})
            found.append({**example, "hub_orders": orders, "listing": {c.name: getattr(listing, c.name)
                                                 for c in tables.Listing.__table__.columns},
                          "writes_out": out, "hub_movements": movements,
                          "channel_changes": changes})
    return found


def _safe_state(chaos: ChaosHub) -> dict[str, Any]:
    try:
        return hub_state(chaos)
    except Exception as exc:
        return {"error": repr(exc)}


def hub_state(chaos: ChaosHub) -> dict[str, Any]:
    """What the hub holds after the convergence window: RQ's queues and registries, rate budgets,
    cursors, and the database's pending work by status."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
    from rq.serializers import JSONSerializer
    from sqlalchemy import func

    from sync.hub.queues import all_queues

    redis = chaos.hub.redis
    state: dict[str, Any] = {"queues": {}, "budgets": {}}
    now = time.time()
    for q in all_queues(redis):
        entry: dict[str, Any] = {"queued": q.get_job_ids()[:50]}
        scheduled = ScheduledJobRegistry(queue=q)
        entry["scheduled"] = {_text(jid): round(float(score) - now, 1) for jid, score in
                              redis.zrange(scheduled.key, 0, -1, withscores=True)[:200]}
        started = StartedJobRegistry(queue=q)
        entry["started"] = {_text(jid): round(float(score) - now, 1) for jid, score in
                            redis.zrange(started.key, 0, -1, withscores=True)[:200]}
        entry["failed"] = FailedJobRegistry(queue=q).get_job_ids()[:50]
        state["queues"][q.name] = entry
    statuses: dict[str, str] = {}
    for q in state["queues"].values():
        for jid in list(q["scheduled"])[:200] + list(q["started"]):
            try:
                job = Job.fetch(jid, connection=redis, serializer=JSONSerializer)
                statuses[jid] = f"{job.get_status()} retries_left={job.retries_left}"
            except Exception as exc:
                statuses[jid] = repr(exc)
    for jid in [f"poll-orders-{a}" for a in (1, 2, 3)] + [f"reconcile-{a}" for a in (1, 2, 3)] + ["sweep"]:
        try:
            job = Job.fetch(jid, connection=redis, serializer=JSONSerializer)
            statuses[jid] = f"{job.get_status()} enqueued_at={job.enqueued_at} started_at={job.started_at}"
        except Exception as exc:
            statuses[jid] = repr(exc)
    state["intermediate"] = {q.name: [_text(j) for j in redis.lrange(f"{q.key}:intermediate", 0, -1)]
                             for q in all_queues(redis)}
    state["job_status"] = statuses
    from rq import Worker

    state["workers"] = [{"name": w.name, "state": w.get_state(), "queues": w.queue_names(),
                         "job": w.get_current_job_id()} for w in Worker.all(connection=redis)]
    for key in redis.scan_iter("marketsync:budget:*"):
        state["budgets"][key.decode()] = {k.decode(): v.decode() for k, v in redis.hgetall(key).items()}
    state["redis_keys"] = sorted(k.decode() for k in redis.scan_iter("marketsync:*"))[:200]
    state["redis_time"] = now
    with chaos.hub.db.session() as session:
        state["cursors"] = [(c.account_id, c.stream, c.value, str(c.updated_at))
                            for c in session.scalars(select(tables.Cursor))]
        state["webhook_events"] = [list(r) for r in session.execute(select(
            tables.WebhookEvent.account_id, tables.WebhookEvent.topic, tables.WebhookEvent.status,
            func.count()).group_by(tables.WebhookEvent.account_id, tables.WebhookEvent.topic,
                                   tables.WebhookEvent.status))]
        state["webhook_errors"] = [list(r) for r in session.execute(select(
            tables.WebhookEvent.status, tables.WebhookEvent.error).where(
            tables.WebhookEvent.error.is_not(None)).limit(20))]
        state["shipments"] = [list(r) for r in session.execute(select(
            tables.Shipment.push_status, tables.Shipment.push_attempts, func.count()).group_by(
            tables.Shipment.push_status, tables.Shipment.push_attempts))]
        state["shipment_errors"] = [r for (r,) in session.execute(select(tables.Shipment.push_error).where(
            tables.Shipment.push_error.is_not(None)).limit(10))]
        state["listings_pending"] = [list(r) for r in session.execute(select(
            tables.Listing.account_id, tables.Listing.push_pending, func.count()).group_by(
            tables.Listing.account_id, tables.Listing.push_pending))]
        state["accounts"] = [(a.id, a.name, a.enabled, str(a.failing_since))
                             for a in session.scalars(select(tables.Account))]
        state["push_claims"] = [{c.name: str(getattr(p, c.name)) for c in tables.PushClaim.__table__.columns}
                                for p in session.scalars(select(tables.PushClaim))]
        state["sync_runs"] = [{c.name: str(getattr(r, c.name)) for c in tables.SyncRun.__table__.columns}
                              for r in session.scalars(select(tables.SyncRun).order_by(
                                  tables.SyncRun.id.desc()).limit(40))]
    return state


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


FAULT_KINDS = {"503": "http_5xx", "504": "stall_past_client_timeout", "429": "http_429"}


def injected_by_kind(channels: dict[str, RemoteSimulator]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for status, n in injected(channels).items():
        counts[FAULT_KINDS.get(status, f"http_{status}")] += n
    return dict(counts)


def injected_by_platform(channels: dict[str, RemoteSimulator]) -> dict[str, dict[str, int]]:
    """The injected failures of each platform's simulators, by kind."""
    found: dict[str, Counter[str]] = {}
    for simulator in channels.values():
        counts = found.setdefault(simulator.platform, Counter())
        for status, n in simulator.requests().get("injected", {}).items():
            counts[FAULT_KINDS.get(status, f"http_{status}")] += int(n)
    return {platform: dict(counts) for platform, counts in found.items()}


def print_table(sample: dict[str, Any]) -> None:
    print(f"chaos: {sample['orders']} orders, {sum(sample['faults'].values())} faults injected, "
          f"{sample['retries']} retries, converged in {sample['converge_s']} s (setup {sample['setup_s']} s)",
          flush=True)
    if sample["not_converged_at_timeout"]:
        print(f"  not converged at the timeout: {json.dumps(sample['not_converged_at_timeout'])[:600]}", flush=True)
    if sample.get("holdouts"):
        print("  held out after the faults: " + "; ".join(f"{t} s {'+'.join(names) or '-'}"
                                                        for t, names in sample["holdouts"]), flush=True)
    for kind, count in sorted(sample["faults"].items()):
        print(f"  fault {kind:<34} {count}", flush=True)
    for platform, kinds in sample.get("faults_by_platform", {}).items():
        print(f"  injected on {platform:<28} " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())), flush=True)
    print("  events " + ", ".join(f"{name}={how}" for name, how in sample.get("events_wired", {}).items()), flush=True)
    for name, result in sample["checks"].items():
        detail = ", ".join(f"{k}={v}" for k, v in result.items() if k not in ("ok", "examples"))
        print(f"  {'PASS' if result['ok'] else 'FAIL'} {name:<26} {detail}", flush=True)


def run(size: str = "full") -> dict[str, Any]:
    size = os.environ.get("CHAOS_PROFILE", size) if size == "full" else size
    p = PARAMETERS[size]
    sample = one_run(p, random.Random(15))
    print_table(sample)
    figures = {key: sample[key] for key in ("orders", "faults", "retries", "converge_s", "invariants")}
    return {"parameters": {**p, "channels": [list(c) for c in p["channels"]], "random_faults": RANDOM_FAULTS,
                           "hub_settings": HUB_SETTINGS, "workers": 3, "database": "postgresql",
                           "redis": "redis-server on a free loopback port"},
            "figures": figures, "samples": [sample]}
