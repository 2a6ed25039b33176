"""The process's hub: the one jobs run on (`sync.jobs`), set by whoever built it first.

Kept apart from `sync.jobs` so that a command can say which hub its process uses without
importing every job's module (issue #16 counts each hub process's start: `sync.jobs` imports
the whole engine, about 0.3 CPU-s a process that runs no job in it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.hub.context import Hub

_hub: Hub | None = None


def current_hub() -> Hub:
    """The hub set for this process, else one built from the environment the process was started with."""
    global _hub
    if _hub is None:
        from store.settings import load_settings
        from sync.hub.context import Hub

        _hub = Hub(load_settings(os.environ.get("MARKETSYNC_CONFIG") or None))
    return _hub


def set_hub(hub: Hub | None) -> None:
    """Use `hub` in this process (tests and `marketsync run` set it explicitly)."""
    global _hub
    _hub = hub
