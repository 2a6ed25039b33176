"""`python -m bench [--smoke | --size=NAME] [NAME…]`: run every bench/bench_*.py (or the named ones) and write
bench/results/NAME.json: machine, package versions, load, parameters, figures and raw samples.

`--smoke` runs each at its smoke size (seconds: it checks the harness works, not the figures)
and writes into BENCH_RESULTS (default a temporary folder), never over the committed results.
Benchmarks are not tests: they measure, they do not assert.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run_one(name: str, size: str) -> dict[str, Any]:
    from bench.measure import loadavg, machine, versions

    module = importlib.import_module(f"bench.bench_{name}")
    started = time.perf_counter()
    info = machine()
    sized = "size" in inspect.signature(module.run).parameters
    if not sized and size != "full":
        raise SystemExit(f"bench_{name} has no {size} size")
    outcome = module.run(size) if sized else module.run()
    if not (isinstance(outcome, dict) and "figures" in outcome):
        outcome = {"figures": outcome}
    info["loadavg_at_end"] = loadavg()
    return {"benchmark": name, "size": size, "at": datetime.now(UTC).isoformat(), "machine": info,
            "versions": versions(), "seconds": round(time.perf_counter() - started, 2), **outcome}


def main(argv: list[str]) -> int:
    smoke = "--smoke" in argv
    # `--size=NAME`: another size a benchmark declares (propagation_load's "profile"); written like smoke
    size = next((a.split("=", 1)[1] for a in argv if a.startswith("--size=")), "smoke" if smoke else "full")
    names = [a for a in argv if a != "--smoke" and not a.startswith("--size=")] or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    scratch = size != "full"  # never over the committed results
    target = Path(os.environ.get("BENCH_RESULTS")
                  or (tempfile.mkdtemp(prefix=f"bench-{size}-") if scratch else RESULTS))
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"running bench_{name}{f' ({size})' if scratch else ''}…", flush=True)
        result = run_one(name, size)
        path = target / f"{name}.json"
        path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(json.dumps(result["figures"], indent=2, sort_keys=True))
        print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
