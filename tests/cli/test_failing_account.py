"""An unreachable account: one line, visible per account in `status`, `sync --once` fails, others go on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench.harness import connect_woocommerce, link_listings
from sandbox.catalogue import SeedSpec
from sandbox.runtime import free_port
from sandbox.woocommerce import WooCommerceSandbox
from sync.hub.accounts import add_account
from sync.hub.context import Hub

FAST = {"MARKETSYNC_HTTP__MAX_ATTEMPTS": "1", "MARKETSYNC_HTTP__TIMEOUT_S": "2"}


@pytest.fixture
def woo() -> Iterator[WooCommerceSandbox]:
    with WooCommerceSandbox(spec=SeedSpec(products=2, variants=1, stock=9)) as sandbox:
        yield sandbox


def test_a_broken_account_is_reported_and_never_stops_the_others(cli: Any, hub: Hub, woo: WooCommerceSandbox) -> None:
    connect_woocommerce(hub, woo, "good")
    link_listings(hub, "good")
    add_account(hub, "woocommerce", "gone", {"url": f"http://127.0.0.1:{free_port()}"},
                {"consumer_key": "ck", "consumer_secret": "cs"}, actor="test")
    synced = cli("sync", "--once", "--json", env=FAST)
    assert synced.exit_code == 1, synced.output
    rows = {r["account"]: r for r in json.loads(synced.stdout)["accounts"]}
    assert rows["good"]["ok"] and not rows["gone"]["ok"]
    assert "order poll" in rows["gone"]["errors"][0]
    assert "1 of 2 account(s) failed: gone" in synced.stderr
    assert "Traceback" not in synced.output
    states = {a["account"]: a for a in json.loads(cli("status", "--json", env=FAST).output)["account_states"]}
    assert states["gone"]["state"] == "failing" and "order poll" in states["gone"]["last_error"]
    assert states["gone"]["failed_jobs"] == 0  # recorded on the account, not as a failing job per cycle
    assert states["good"]["state"] == "ok" and states["good"]["last_success_at"]
    assert "failing" in cli("status", env=FAST).output
    pushed = cli("listings", "push", "--dry-run", "--json", env=FAST)
    assert pushed.exit_code == 1
    plans = json.loads(pushed.stdout)["listings"]
    assert {p["account"] for p in plans} == {"good", "gone"}
    assert [p["op"] for p in plans if p["account"] == "gone"] == ["error"]
    assert len([p for p in plans if p["account"] == "good"]) == 2
    assert "could not be pushed" in pushed.stderr
