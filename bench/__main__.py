"""`python -m bench [NAME…]`: run every bench/bench_*.py (or the named ones) and write
bench/results/NAME.json with its figures. Benchmarks are not tests: they measure, they do not assert."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run_one(name: str) -> dict[str, object]:
    module = importlib.import_module(f"bench.bench_{name}")
    started = time.perf_counter()
    figures = module.run()
    return {"benchmark": name, "at": datetime.now(UTC).isoformat(), "python": platform.python_version(),
            "machine": platform.machine(), "seconds": round(time.perf_counter() - started, 2), "figures": figures}


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        print(f"running bench_{name}…", flush=True)
        result = run_one(name)
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(json.dumps(result["figures"], indent=2, sort_keys=True))
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
