"""Register Bazaar for these tests the way an installed package is registered: a distribution's
metadata (`*.dist-info/entry_points.txt`) on the import path, found by `importlib.metadata`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ENTRY_POINTS = """\
[marketsync.connectors]
bazaar = tests.bazaar.connector:BazaarConnector

[marketsync.simulators]
bazaar = tests.bazaar.simulator:BazaarSimulator
"""
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def bazaar_installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Bazaar's entry points visible to this process and to processes it starts; gone afterwards."""
    site = tmp_path_factory.mktemp("bazaar-site")
    info = site / "marketsync_bazaar-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: marketsync-bazaar\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.insert(0, str(site))
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(ROOT), before) if p)
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
