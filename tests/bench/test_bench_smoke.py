"""The benchmark harness works end to end at its smoke size (1 and 4): simulators in their own
processes, the hub's processes measured, result files written with every key the README table
reads. Figures are not checked here: benchmarks measure, tests do not time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bench.table import END, START, render

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KEYS = {
    "propagation_load": ["orders_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "hub_cpu_ms_per_order",
                         "simulator_cpu_ms_per_order", "writes_per_order"],
    "import": ["cpu_s_per_10k", "variants_per_s", "calls_over_minimum"],
    "ledger": ["ratio_to_raw"],
    "vs_official": ["contenders"],
    "burst": ["p50_ms", "p99_ms", "delta_writes_sent", "delta_writes_minimum", "duplicates_applied",
              "final_stock_equal"],
}


@pytest.fixture
def postgres_admin_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL is not reachable ({exc}); start it (see README: Development)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def check_propagation_load(result: dict[str, Any]) -> None:
    for sample in result["samples"]:
        assert sample["orders_accepted"] > 0
        assert sample["orders_unreached"] == 0, "every order reached every other channel"
        processes = sample["processes"]
        # An idle scheduler may round to 0.0 CPU-s at smoke size; every process must still be measured.
        assert all(p["peak_rss_mb"] > 0 and p["cpu_s"] >= 0 for p in processes.values()), processes
        assert sum(p["cpu_s"] for label, p in processes.items() if label.startswith("hub:worker")) > 0
    nine = [sample for sample in result["samples"] if len(sample["channels"]) == 9]
    assert nine, "the run with the six marketplaces beside Shopify and WooCommerce"
    assert set(nine[0]["events_wired"].values()) >= {"webhooks", "pushes"}, nine[0]["events_wired"]
    assert all(calls > 0 for calls in nine[0]["write_calls"].values()), nine[0]["write_calls"]


def check_burst(result: dict[str, Any]) -> None:
    burst = result["figures"]
    assert burst["orders_unreached"] == 0 and burst["duplicates_applied"] == 0 and burst["final_stock_equal"], burst


def check_ledger(result: dict[str, Any]) -> None:
    assert set(result["figures"]["ratio_to_raw"]) == {"sqlite", "postgresql"}


def check_import(result: dict[str, Any]) -> None:
    assert result["figures"]["all_ok"], result["samples"]


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "propagation_load": check_propagation_load, "import": check_import, "ledger": check_ledger,
    "vs_official": lambda result: None, "burst": check_burst}
TABLE_ROWS = {"propagation_load": "| 1 propagation, ", "import": "| 4 import |", "ledger": "| 5 ledger",
              "vs_official": "| 6 vs official", "burst": "| 13 burst"}


@pytest.mark.parametrize("name", list(KEYS))
def test_a_benchmark_runs_at_smoke_size(name: str, tmp_path: Path, postgres_admin_url: str) -> None:
    """One benchmark per test, so that the test processes share them out."""
    env = {**os.environ, "BENCH_RESULTS": str(tmp_path), "BENCH_POSTGRES_URL": postgres_admin_url}
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", name], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / f"{name}.json").read_text())
    assert result["size"] == "smoke"
    assert {"machine", "versions", "parameters", "samples"} <= set(result)
    assert result["machine"]["loadavg_at_start"]
    missing = [k for k in KEYS[name] if result["figures"].get(k) is None]
    assert not missing, f"{name}.json lacks figures {missing}"
    CHECKS[name](result)
    table = render(f"before\n{START}\nold\n{END}\nafter\n", tmp_path)
    assert "old" not in table and TABLE_ROWS[name] in table and table.endswith("after\n"), table
