"""`marketsync demo` on every marketplace beside Shopify and WooCommerce, short: every check holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from sandbox.demo import run_demo

EVERY_PLATFORM = ["shopify", "woocommerce", "taobao", "pinduoduo", "jd", "douyin", "kuaishou", "wechat"]


@pytest.mark.slow
def test_a_short_demo_on_every_platform_holds_every_check(tmp_path: Path) -> None:
    result = run_demo(orders=48, workers=2, seed=3, home=tmp_path / "workspace", platforms=EVERY_PLATFORM)
    assert result["failed_checks"] == [] and result["ok"], {k: result.get(k) for k in (  # all of it in CI's log
        "failed_checks", "still_busy", "conflicts", "shipments_created", "shipments_pushed",
        "shipments_missing_on_channel", "missing_orders", "unexpected_orders", "mismatches", "api_calls")}
    assert result["platforms"] == dict(zip(EVERY_PLATFORM, EVERY_PLATFORM, strict=True))
    assert result["orders_ingested"] == result["orders_placed"] >= 40 and result["duplicate_orders"] == 0
    assert result["listings_checked"] >= len(EVERY_PLATFORM) * 90 and result["mismatch_count"] == 0
    assert result["shipments_pushed"] == result["shipments_created"] > 0
    assert result["events"]["shopify"] == "webhooks" and result["events"]["taobao"] == "pulled queue"
    assert result["events"]["douyin"] == "pushes" and result["events"]["jd"] == "polling"
    codes = result["carriers_on_channels"]  # "SF" as each platform's own carrier code
    assert all(len(codes[name]) == 1 for name in EVERY_PLATFORM), codes
    assert (codes["taobao"], codes["pinduoduo"], codes["jd"]) == (["SF"], ["44"], ["467"]), codes


def test_an_unknown_platform_is_one_clear_line() -> None:
    result = CliRunner().invoke(cli, ["demo", "--platforms", "shopify,nosuchshop", "--orders", "1"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "nosuchshop" in lines[0] and "taobao" in lines[0], result.output
