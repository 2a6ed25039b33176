"""The chaos run's short version (issue #15): the same topology (with one marketplace of each way of
hearing of changes) and faults, scaled to 30 s of load.

What must hold whatever the machine's load: the ledger replays, nothing is counted or shipped twice,
everything left failed says why, and no hub process logs a traceback. Whether the hub also caught up
with every order within the short run's convergence window depends on how busy the machine is; it
is printed, and the full run (`make chaos`) reports it in `bench/results/chaos.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import postgres_admin_url  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

INVARIANTS = {"orders_once", "quantities_published", "ledger_replays", "shipments_once", "failures_explained",
              "no_unhandled_exception"}
FAULTS = {"worker_sigkill", "throttling_storm", "serve_restart", "pg_terminate_backend", "redis_restart_empty",
          "redis_flushdb", "simulator_unreachable"}


def test_the_short_chaos_run_keeps_the_hub_safe(tmp_path: Path, postgres_admin_url: str) -> None:  # noqa: F811
    env = {**os.environ, "BENCH_RESULTS": str(tmp_path), "BENCH_POSTGRES_URL": postgres_admin_url}
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "chaos"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "chaos.json").read_text())
    figures, checks = result["figures"], result["samples"][0]["checks"]
    assert {"orders", "faults", "retries", "converge_s", "invariants"} <= set(figures)
    assert set(figures["invariants"]) == INVARIANTS
    assert figures["orders"] > 0 and {kind for kind, count in figures["faults"].items() if count} >= FAULTS
    sample = result["samples"][0]
    platforms = {platform for _, platform in result["parameters"]["channels"]}
    assert platforms - {"shopify", "woocommerce"}, platforms  # at least one marketplace
    # Injected faults are counted from what each simulator injected, whatever its answer looked like
    # (a marketplace gateway answers inside HTTP 200): per platform, adding up to the run's figures.
    by_platform = sample["faults_by_platform"]
    assert set(by_platform) == platforms
    for kind in ("http_5xx", "stall_past_client_timeout", "http_429"):
        assert sum(kinds.get(kind, 0) for kinds in by_platform.values()) == figures["faults"].get(kind, 0), kind
    assert any(sum(by_platform[p].values()) for p in platforms - {"shopify", "woocommerce"}), by_platform
    assert {"webhooks", "pushes", "pulled", "polled"} <= set(sample["events_wired"].values())
    assert checks["quantities_published"]["accounts"] == len(result["parameters"]["channels"])
    for safe in ("ledger_replays", "failures_explained", "no_unhandled_exception"):
        assert figures["invariants"][safe], (safe, checks[safe], done.stdout[-3000:])
    assert checks["orders_once"]["duplicates"] == 0 and checks["orders_once"]["unexpected"] == 0
    assert checks["shipments_once"]["duplicates"] == 0 and checks["shipments_once"]["missing_on_channel"] == 0
