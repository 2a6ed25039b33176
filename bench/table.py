"""`python -m bench.table`: rewrite the README's benchmark table from bench/results/*.json.

The table sits between `<!-- bench-table:start -->` and `<!-- bench-table:end -->`. Every number
is read from a result file: the latest run (bench/results/) and, where kept, the run before the
issue #16 work (bench/results/before/); a missing file or figure shows as "not run"."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
Result = dict[str, Any]


def _load(results: Path, name: str) -> Result | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _load_note(result: Result) -> str:
    machine = result.get("machine", {})
    start, end = machine.get("loadavg_at_start", ["?"]), machine.get("loadavg_at_end", ["?"])
    return f"load {start[0]}→{end[0]}"


def _config(key: str, field: str) -> Callable[[Result], Any]:
    return lambda r: r["figures"]["by_config"][key][field]


def _latency(key: str) -> Callable[[Result], str]:
    def figure(r: Result) -> str:
        c = r["figures"]["by_config"][key]
        return f"{c['p50_ms']} / {c['p95_ms']} / {c['p99_ms']} / {c['max_ms']} ({c['orders_per_s']} orders/s)"
    return figure


def _receive_cpu(database: str) -> Callable[[Result], str]:
    return lambda r: f"{r['figures']['receive_timed_cpu_s'][database]} / {r['figures']['receive_cpu_s'][database]}"


def _contender(name: str, channel: str) -> Callable[[Result], str]:
    def figure(r: Result) -> str:
        c = r["figures"]["contenders"][name][channel]
        points = f", {c['points']:,} points" if c.get("points") else ""
        return f"{c['calls']:,} calls{points}, {c['throttled']} throttled, {c['seconds']} s"
    return figure


def rows_for(name: str, latest: Result | None, before: Result | None) -> list[tuple[str, str, Callable[[Result], Any],
                                                                                   str]]:
    """(target, figure, how to read it, goal) for one benchmark."""
    some = latest or before
    if some is None:
        return []
    if name == "propagation_load":
        out = []
        for key in some["figures"]["by_config"]:
            out += [(f"1 propagation, {key}", "p50 / p95 / p99 / max ms", _latency(key), "p50 ≤ 500, p99 ≤ 2,000"),
                    (f"2 hub cost, {key}", "hub CPU-ms per order", _config(key, "hub_cpu_ms_per_order"), "≤ 10"),
                    (f"2 simulators, {key}", "simulator CPU-ms per order",
                     _config(key, "simulator_cpu_ms_per_order"), ""),
                    (f"3 batching, {key}", "stock write calls per order", _config(key, "writes_per_order"), ""),
                    (f"3 batching, {key}", "write calls / fewest for the coalescing window (worst account)",
                     lambda r, key=key: r["figures"]["by_config"][key].get("live_writes_over_minimum", "—"),
                     "≤ 1.2"),
                    (f"1 throttling, {key}", "THROTTLED / 429 by channel", _config(key, "throttled"), "0")]
        return out
    if name == "import":
        return [("4 import", "hub CPU-s per 10k variants (largest size)", lambda r: r["figures"]["cpu_s_per_10k"],
                 "≤ 1"),
                ("4 import", "hub CPU-s per 10k variants at 10k",
                 lambda r: r["figures"]["at_10k"]["cpu_s_per_10k"], ""),
                ("4 import", "the two import commands' own CPU-s per 10k (no burst workers; largest size)",
                 lambda r: r["figures"]["command_cpu_s_per_10k"], ""),
                ("4 import", "the two import commands' own CPU-s per 10k at 10k",
                 lambda r: r["figures"]["at_10k"]["command_cpu_s_per_10k"], ""),
                ("4 import", "API calls / minimum at 10k", lambda r: r["figures"]["at_10k"]["calls_over_minimum"], ""),
                ("4 import", "peak RSS MB at 10k", lambda r: r["figures"].get("rss_mb_10k"), ""),
                ("4 import", "peak RSS MB at 100k", lambda r: r["figures"].get("rss_mb_100k"),
                 "≤ 1.2 x 10k, < 300"),
                ("4 import", "variants/s end to end", lambda r: r["figures"]["variants_per_s"], ""),
                ("4 import", "API calls / minimum", lambda r: r["figures"]["calls_over_minimum"], "≤ 1.1"),
                ("4 import", "every run completed", lambda r: r["figures"].get("all_ok"), "true")]
    if name == "ledger":
        return [("5 ledger", "stock receive / raw executemany, SQLite",
                 lambda r: r["figures"]["ratio_to_raw"]["sqlite"], "≥ 0.3"),
                ("5 ledger", "stock receive / raw executemany, PostgreSQL",
                 lambda r: r["figures"]["ratio_to_raw"]["postgresql"], "≥ 0.3"),
                ("5 ledger", "whole `stock receive` command (start and imports too) / raw, SQLite",
                 lambda r: r["figures"]["ratio_to_raw_cli"]["sqlite"], ""),
                ("5 ledger", "whole `stock receive` command (start and imports too) / raw, PostgreSQL",
                 lambda r: r["figures"]["ratio_to_raw_cli"]["postgresql"], ""),
                ("5 ledger", "receive CPU-s, library call / whole command, SQLite", _receive_cpu("sqlite"), ""),
                ("5 ledger", "receive CPU-s, library call / whole command, PostgreSQL", _receive_cpu("postgresql"),
                 "")]
    if name == "vs_official":
        out = [(f"6 vs official, {name_}", channel, _contender(name_, channel), "")
               for name_, channels in some["figures"]["contenders"].items() for channel in channels]
        out.append(("6 vs official", "x fewer calls / x less wall time than per-SKU REST",
                    lambda r: f"{r['figures']['fewer_calls_than_rest_x']} / {r['figures']['less_wall_than_rest_x']}",
                    "≥ 100 / ≥ 50"))
        out.append(("6 vs official, real store speed", "1,000 SKUs: marketsync s / per-SKU REST s (x less wall)",
                    _real_speed, "≥ 50"))
        return out
    if name == "burst":
        return [("13 burst on 抖店", "Douyin sale → every other channel, p50 / p95 / p99 / max ms", _burst_latency, ""),
                ("13 burst on 抖店", "delta writes sent / minimum, by channel", _burst_deltas, ""),
                ("13 burst on 抖店", "duplicates applied", lambda r: r["figures"]["duplicates_applied"], "0"),
                ("13 burst on 抖店", "final stock equal to the ledger on every channel",
                 lambda r: r["figures"]["final_stock_equal"], "true")]
    return []


def _real_speed(r: Result) -> str:
    real = r["figures"].get("real_speed")
    if not real:
        return "—"
    return f"{real['marketsync_s']} / {real['rest_per_sku_s']} ({real['less_wall_than_rest_x']}x)"


def _burst_latency(r: Result) -> str:
    f = r["figures"]
    return f"{f['p50_ms']} / {f['p95_ms']} / {f['p99_ms']} / {f['max_ms']} ({f['orders_per_s']} orders/s)"


def _burst_deltas(r: Result) -> str:
    sent, minimum = r["figures"]["delta_writes_sent"], r["figures"]["delta_writes_minimum"]
    return ", ".join(f"{name} {sent[name]} / {minimum[name]}" for name in sent)


def _cell(result: Result | None, read: Callable[[Result], Any]) -> str:
    if result is None:
        return "not run"
    try:
        value = read(result)
    except (KeyError, TypeError):
        return "not run"
    return "not run" if value is None else str(value)


def rows(results: Path) -> list[str]:
    out = ["| target | figure | before #16 | latest | goal |", "|---|---|---|---|---|"]  # burst: issue #13
    notes = []
    for name in ("propagation_load", "import", "ledger", "vs_official", "burst"):
        latest, before = _load(results, name), _load(results / "before", name)
        for target, figure, read, goal in rows_for(name, latest, before):
            out.append(f"| {target} | {figure} | {_cell(before, read)} | {_cell(latest, read)} | {goal} |")
        for label, result in (("before", before), ("latest", latest)):
            if result is not None:
                notes.append(f"{name} {label}: {result['at'][:16]}Z, {_load_note(result)}")
    return [*out, "", "Runs: " + "; ".join(notes) + "." if notes else "No results yet: run `make bench`."]


def render(readme: str, results: Path) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md has no {START} … {END} block to fill")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + "\n" + "\n".join(rows(results)) + "\n" + END + tail


def main(argv: list[str]) -> int:
    results = Path(argv[0]) if argv else ROOT / "bench" / "results"
    readme = ROOT / "README.md"
    readme.write_text(render(readme.read_text(), results))
    print(f"README.md benchmark table regenerated from {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
