"""The per-process hub that job functions use.

Jobs take ids and small JSON-safe arguments; they find settings in the environment the
worker was started with (`MARKETSYNC_CONFIG`, `MARKETSYNC_HOME`, `MARKETSYNC_<SECTION>__<KEY>`).
"""

from __future__ import annotations

import os

from store.settings import load_settings
from sync.context import Hub

_hub: Hub | None = None


def current_hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub(load_settings(os.environ.get("MARKETSYNC_CONFIG") or None))
    return _hub


def set_hub(hub: Hub | None) -> None:
    """Use `hub` in this process (tests and `marketsync run` set it explicitly)."""
    global _hub
    _hub = hub


def ping(value: str = "pong") -> str:
    """A trivial job: proves a worker can import and run hub jobs."""
    return value
