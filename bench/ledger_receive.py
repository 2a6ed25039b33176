"""One timed receipt for the ledger benchmark: `python -m bench.ledger_receive FILE` builds the hub
as `marketsync stock receive` does, then times only the library call the command makes
(`sync.stock.operations.receive`: read and check the file, write the movements and levels,
recompute the desired quantities, commit, ask for pushes) and prints its wall and CPU seconds as
JSON. Interpreter start and imports (≈ 1 to 2 s on this machine, the same for a 1-row file) are left
out, as they are of the raw `executemany` it is compared with."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from store.settings import load_settings
from sync.hub.context import Hub
from sync.stock.operations import receive


def main(argv: list[str]) -> int:
    hub = Hub(load_settings())
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    report = receive(hub, Path(argv[0]))
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    hub.close()
    print(json.dumps({"applied": report.applied, "errors": len(report.errors), "wall_s": round(wall, 3),
                      "cpu_s": round(cpu, 3)}))
    return 0 if not report.errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
