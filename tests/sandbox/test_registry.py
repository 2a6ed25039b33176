"""Every simulator is found through the entry point, satisfies the shared interface, and is served by
`marketsync sandbox serve PLATFORM` with one JSON line that is enough to connect an account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cli.main import cli
from sandbox.catalogue import SeedSpec, seed_variants
from sandbox.interface import OutOfStock, Simulator, installed_simulators, simulator_class, start_simulator

PLATFORMS = sorted(installed_simulators())
ROOT = Path(__file__).resolve().parents[2]


def test_every_platform_of_the_project_is_registered() -> None:
    expected = {"shopify", "woocommerce", "taobao", "pinduoduo", "jd", "douyin", "kuaishou", "wechat"}
    assert expected <= set(PLATFORMS)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_registered_class_satisfies_the_interface(platform: str) -> None:
    cls = simulator_class(platform)
    assert cls.platform == platform
    simulator = cls(port=0)
    assert isinstance(simulator, Simulator)
    setup = simulator.account_setup()
    assert setup.platform == platform and setup.secrets


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_a_storefront_order_through_the_interface(platform: str) -> None:
    spec = SeedSpec(products=2, variants=1, stock=3, seed=4)
    simulator = start_simulator(platform, seed=spec, name=f"iface-{platform}")
    try:
        sku = seed_variants(spec)[0].sku
        order = simulator.place_order([(sku, 2)], buyer="b1")
        assert isinstance(order.order_id, str) and order.lines == ((sku, 2),)
        assert simulator.available(sku) == 1
        with pytest.raises(OutOfStock):
            simulator.place_order([(sku, 2)])
        simulator.cancel_order(order.order_id, restock=True)
        assert simulator.available(sku) == 3
        assert simulator.available("NO-SUCH-SKU") is None
        buyer_writes = [w for w in simulator.writes.entries() if w["sku"] == sku and w["source"] == "buyer"]
        assert [w["available"] for w in buyer_writes] == [1, 3]
        assert simulator.shipments() == []
    finally:
        simulator.stop()


def test_serve_prints_one_line_for_every_platform() -> None:
    """All of them at once (each is its own process), then each line is checked and its server asked."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    served = {platform: subprocess.Popen([sys.executable, "-m", "cli.main", "sandbox", "serve", platform,
                                          "--port", "0", "--seed", "3"], cwd=ROOT, env=env,
                                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
              for platform in PLATFORMS}
    try:
        for platform, process in served.items():
            assert process.stdout is not None
            line = json.loads(process.stdout.readline())
            assert line["platform"] == platform and line["url"].startswith("http://127.0.0.1:")
            assert line["account"]["platform"] == platform and line["account"]["secrets"], line
            assert httpx.get(line["url"] + "/", timeout=10.0).status_code < 500
    finally:
        for process in served.values():
            process.terminate()
        for process in served.values():
            assert process.wait(timeout=30) == 0


def test_serve_refuses_an_unknown_platform_naming_the_installed_ones() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "serve", "nosuchshop"])
    assert result.exit_code == 2
    assert "nosuchshop" in result.output and "shopify" in result.output and "taobao" in result.output
