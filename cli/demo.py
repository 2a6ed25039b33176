"""`marketsync demo`: the whole hub end to end on local simulators."""

from __future__ import annotations

from pathlib import Path

import click

from cli.app import console, print_fields, print_json

DEFAULT_PLATFORMS = "shopify,shopify,woocommerce"


class UnknownPlatforms(click.ClickException):
    """An unknown platform in --platforms: one line naming the installed ones, exit code 2 (usage)."""

    exit_code = 2


def parse_platforms(value: str) -> list[str]:
    """`a,b,c` into platform names, each a registered simulator (checked before anything starts)."""
    from sandbox.demo.world import check_platforms
    from sandbox.interface import UnknownSimulator

    platforms = [name.strip().lower() for name in value.split(",") if name.strip()]
    try:
        check_platforms(platforms)
    except UnknownSimulator as exc:
        raise UnknownPlatforms(f"--platforms: {exc}") from None
    return platforms


@click.command()
@click.option("--orders", type=click.IntRange(1, 5000), default=300, show_default=True,
              help="Buyer orders to place across the stores.")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Worker processes.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed for the buyers' choices.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the demo workspace in this folder (default: a temporary one, removed after, all but its "
                   "report.html).")
@click.option("--platforms", default=DEFAULT_PLATFORMS, show_default=True,
              help="One simulated store per name, comma-separated; any registered simulator, a name may repeat "
                   "(e.g. shopify,woocommerce,taobao,pinduoduo,jd,douyin,kuaishou,wechat).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def demo(orders: int, workers: int, seed: int, keep: Path | None, platforms: str, as_json: bool) -> None:
    """Start simulated stores, run the hub on them under load, and verify every number."""
    import time

    from sandbox.demo import run_demo

    chosen = parse_platforms(platforms)

    started = time.monotonic()
    say = (lambda _: None) if as_json else (
        lambda text: console.print(f"[dim]{time.monotonic() - started:6.1f}s[/dim] {text}"))
    result = run_demo(orders=orders, workers=workers, seed=seed, home=keep, keep=keep is not None,
                      platforms=chosen, say=say)
    if as_json:
        print_json(result)
    else:
        _print_summary(result)
        _print_business(result)
    if not result["ok"]:
        raise click.exceptions.Exit(1)


def _print_summary(result: dict[str, object]) -> None:
    latency = result["propagation_ms"]
    assert isinstance(latency, dict)
    print_fields("marketsync demo: " + ("every check holds" if result["ok"] else "CHECKS FAILED"), {
        "orders placed / ingested": f"{result['orders_placed']} / {result['orders_ingested']}"
                                    f" (duplicates {result['duplicate_orders']},"
                                    f" refused out of stock {result['orders_refused_out_of_stock']})",
        "cancelled / refunded": f"{result['cancelled']} / {result['refunded']}",
        "shipments pushed": f"{result['shipments_pushed']} of {result['shipments_created']}"
                            f" (duplicate fulfilments {result['duplicate_fulfilments']})",
        "stock converged": f"{result['stock_converged']} over {result['listings_checked']} listings"
                           f" ({result['mismatch_count']} mismatches)",
        "propagation ms": f"p50 {latency['p50']}  p99 {latency['p99']}  max {latency['max']}",
        "stores": ", ".join(f"{name} ({platform}, {result['events'][name]})"  # type: ignore[index]
                            for name, platform in result["platforms"].items()),  # type: ignore[attr-defined]
        "shipment carriers": ", ".join(f"{name} {'/'.join(codes) or '-'}" for name, codes
                                       in result["carriers_on_channels"].items()),  # type: ignore[attr-defined]
        "api calls": ", ".join(f"{name} {calls['requests']} ({calls['stock_writes']} stock writes)"
                               for name, calls in result["api_calls"].items()),  # type: ignore[attr-defined]
        "conflicts": f"{result['conflicts']}",
        "elapsed": f"{result['elapsed_s']} s",
        "failed checks": ", ".join(result["failed_checks"]) or "none",  # type: ignore[arg-type]
    })


commands = [demo]


def _percent(value: object) -> str:
    return "-" if not isinstance(value, int | float) else f"{value * 100:.1f}%"


def _print_business(result: dict[str, object]) -> None:
    """The short sales and alerts summary the demo ends with."""
    business = result.get("business")
    if not isinstance(business, dict):
        return
    sales, alerts = business["sales"], business["alerts"]
    money = "  ".join(f"{amount} {code}" for code, amount in sales["net"].items()) or "-"
    print_fields("sales and alerts", {
        "sales (every channel)": f"{sales['orders']} orders, {sales['units']} units, net GMV {money}",
        "rates": f"refund {_percent(sales['refund_rate'])}, return {_percent(sales['return_rate'])}, "
                 f"repeat purchase {_percent(sales['repeat_purchase_rate'])}",
        "per channel": ", ".join(f"{name} {row['orders']}" for name, row in sales["by_channel"].items()),
        "alerts open": f"{alerts['open']}: " + (", ".join(f"{kind} {n}" for kind, n in alerts["by_kind"].items())
                                                or "none"),
        "report": business["report"],
    })
