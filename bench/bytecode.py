"""Compiled modules for the hub's measured processes, as an installed hub has them.

`pip install` compiles a package's modules, and a checkout run as `python -m cli.main` writes
`__pycache__` on its first import. A shell that exports `PYTHONDONTWRITEBYTECODE=1` (this
machine's does) keeps every process compiling the project's ~370 modules from source again —
about 0.3 CPU-s a process (measured: `cli.main --help` 1.5-1.8 CPU-s from source, 1.2-1.6 from
bytecode, load 5), which a benchmark would count as the hub's. The rig's processes therefore run
with bytecode written (`__pycache__` is ignored by git), compiled once before anything is measured.
"""

from __future__ import annotations

import compileall
import functools
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("canonical", "cli", "connectors", "mapping", "sandbox", "store", "sync", "bench")


@functools.cache
def compiled() -> bool:
    """Compile the project's modules into their `__pycache__` (once per benchmark process)."""
    return all(compileall.compile_dir(ROOT / name, quiet=1) for name in PACKAGES if (ROOT / name).is_dir())


def with_bytecode(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a measured hub process: bytecode read and written, the project compiled first."""
    compiled()
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}

