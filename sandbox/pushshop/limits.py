"""Fixed-window rate counters in simulated time (per-API QPS, per-minute and daily quotas).

`RateWindows.take(key, limit, window)` counts one call in the current window of `window`
simulated seconds and answers how long until the window resets when the call is over the limit.
The simulated clock runs `clock_factor` times faster than the wall, so a benchmark can compress a
day's quota into seconds.
"""

from __future__ import annotations

import math
import threading

from sandbox.runtime import Clock


class RateWindows:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._counts: dict[tuple[str, float], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self.refused = 0  # calls answered with the platform's rate-limit answer

    def take(self, key: str, limit: int | None, window: float) -> float | None:
        """Count a call; None when allowed, else simulated seconds until the window resets."""
        if limit is None:
            return None
        now = self.clock.monotonic()
        index = math.floor(now / window)
        with self._lock:
            seen_index, count = self._counts.get((key, window), (index, 0))
            if seen_index != index:
                count = 0
            if count >= limit:
                self.refused += 1
                return (index + 1) * window - now
            self._counts[(key, window)] = (index, count + 1)
            return None

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.refused = 0
