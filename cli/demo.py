"""`marketsync demo`: the whole hub end to end on local simulators."""

from __future__ import annotations

from pathlib import Path

import click

from cli.app import console, print_fields, print_json


@click.command()
@click.option("--orders", type=click.IntRange(1, 5000), default=300, show_default=True,
              help="Buyer orders to place across the stores.")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Worker processes.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed for the buyers' choices.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the demo workspace in this folder (default: a temporary one, removed after).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
def demo(orders: int, workers: int, seed: int, keep: Path | None, as_json: bool) -> None:
    """Start three simulated stores, run the hub on them under load, and verify every number."""
    import time

    from sandbox.demo import run_demo

    started = time.monotonic()
    say = (lambda _: None) if as_json else (
        lambda text: console.print(f"[dim]{time.monotonic() - started:6.1f}s[/dim] {text}"))
    result = run_demo(orders=orders, workers=workers, seed=seed, home=keep, keep=keep is not None, say=say)
    if as_json:
        print_json(result)
    else:
        _print_summary(result)
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
        "api calls": ", ".join(f"{name} {calls['requests']} ({calls['stock_writes']} stock writes)"
                               for name, calls in result["api_calls"].items()),  # type: ignore[attr-defined]
        "conflicts": f"{result['conflicts']}",
        "elapsed": f"{result['elapsed_s']} s",
        "failed checks": ", ".join(result["failed_checks"]) or "none",  # type: ignore[arg-type]
    })


commands = [demo]
