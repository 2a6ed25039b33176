"""Webhook receiver benchmark: answer time of `POST /webhooks/{platform}/{account}` over loopback.

Sends BENCH_WEBHOOKS (default 200) signed WooCommerce deliveries, each a new event, one at a
time, to the real app (`sync.service.webserver.build_app`) served by uvicorn in a thread, then 20 repeated
deliveries (duplicates); reports p50/p95/p99/max milliseconds per kind. Each accepted delivery is
one small transaction plus one enqueue. Environment: BENCH_DATABASE_URL (default a SQLite file),
REDIS_URL (default the embedded Redis). Writes bench/results/webhooks.json.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.harness import make_hub
from connectors.woocommerce.webhooks import signature
from sandbox.runtime import ServerThread, free_port
from sync.hub.accounts import add_account
from sync.service.webserver import build_app

NAME = "webhooks"
RESULTS = Path(__file__).resolve().parent / "results"


def delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": 1000 + n, "status": "processing", "line_items": [{"id": n, "sku": "MS-0001-1",
                                                                               "quantity": 1}]}).encode()
    return body, {"X-WC-Webhook-Signature": signature(body, "whsec"), "X-WC-Webhook-Topic": "order.updated",
                  "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Delivery-ID": f"bench-{n}",
                  "Content-Type": "application/json"}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {"count": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2), "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


def timed(http: httpx.Client, path: str, n: int) -> tuple[float, int]:
    body, headers = delivery(n)
    started = time.perf_counter()
    status = http.post(path, content=body, headers=headers).status_code
    return time.perf_counter() - started, status


def run() -> dict[str, Any]:
    count = int(os.environ.get("BENCH_WEBHOOKS", "200"))
    with tempfile.TemporaryDirectory() as tmp:
        hub = make_hub(Path(tmp), redis_db=12)
        name = f"bench-{uuid.uuid4().hex[:8]}"  # a shared BENCH_DATABASE_URL keeps earlier runs' rows
        add_account(hub, "woocommerce", name, {"url": "http://127.0.0.1:9"},
                    {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="bench")
        server = ServerThread(build_app(hub), free_port()).start()
        path = f"/webhooks/woocommerce/{name}"
        try:
            with httpx.Client(base_url=server.url, timeout=10) as http:
                timed(http, path, -1)  # warm-up: account cache, connections
                new = [timed(http, path, n) for n in range(count)]
                duplicates = [timed(http, path, n) for n in range(20)]
        finally:
            server.stop()
            hub.close()
    return {"database": hub.db.dialect, "deliveries": percentiles([t for t, _ in new]),
            "duplicates": percentiles([t for t, _ in duplicates]),
            "statuses": sorted({s for _, s in new + duplicates})}


def main() -> dict[str, Any]:
    figures = run()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{NAME}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
