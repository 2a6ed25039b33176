"""Keeping child processes alive: `marketsync run` and `marketsync worker --count N` supervise theirs.

A child that exits while the supervisor is running is started again after a backoff: 1 s, doubling
with each error exit that follows a short life (under `STABLE_S`: a crash loop), at most 30 s; a
child that ran for a while, or was killed by a signal, restarts after 1 s. Each exit is one log
line naming the slot, its exit code or signal, and the wait. Stopping sends one SIGTERM each (RQ's
warm shutdown: the current job finishes), waits up to the grace period and kills what is left.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_S = 60.0  # a child that lived this long was healthy: its next restart waits the first backoff


@dataclass
class Slot:
    """One supervised child: its process, when it started, and the wait before its next restart."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None
    restarts: int = 0


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Supervisor:
    """Keeps `count` children made by `spawn(slot index)` running until `stop` is called."""

    spawn: Callable[[int], subprocess.Popen[bytes]]
    count: int
    name: str = "worker"
    slots: list[Slot] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Supervisor:
        now = time.monotonic()
        self.slots = [Slot(i, self.spawn(i), now) for i in range(self.count)]
        return self

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [slot.process for slot in self.slots if slot.process is not None]

    @property
    def restarts(self) -> int:
        return sum(slot.restarts for slot in self.slots)

    def check(self, now: float | None = None) -> None:
        """Notice exited children and restart those whose backoff has passed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._stopping.is_set():
                return
            for slot in self.slots:
                self._check_slot(slot, now)

    def _check_slot(self, slot: Slot, now: float) -> None:
        if slot.process is not None:
            code = slot.process.poll()
            if code is None:
                return
            lived = now - slot.started_at
            # A child killed by a signal (SIGKILL, the OOM killer) did not fail by itself: restart it at
            # once. One that exits with an error soon after starting is crash-looping: back off.
            if code < 0 or lived >= STABLE_S:
                slot.backoff_s = FIRST_BACKOFF_S
            slot.restart_at = now + slot.backoff_s
            log.warning("%s %d (pid %d) %s after %.0f s; restarting in %.0f s", self.name, slot.index,
                        slot.process.pid, describe_exit(code), lived, slot.backoff_s)
            slot.process = None
            if code >= 0:
                slot.backoff_s = min(slot.backoff_s * 2, MAX_BACKOFF_S)
        if slot.restart_at is not None and now >= slot.restart_at:
            try:
                slot.process = self.spawn(slot.index)
            except OSError as exc:  # e.g. out of processes: try again after the next backoff
                log.warning("%s %d could not be started (%s)", self.name, slot.index, exc)
                slot.restart_at = now + slot.backoff_s
                return
            slot.started_at, slot.restart_at = now, None
            slot.restarts += 1

    def run(self, stop: threading.Event, *, interval_s: float = 0.5) -> None:
        """Check the children every `interval_s` until `stop` is set."""
        while not stop.wait(interval_s):
            self.check()

    def stop(self, grace_s: float) -> None:
        """SIGTERM every child, wait up to `grace_s` in all, then SIGKILL what is left."""
        with self._lock:
            self._stopping.set()
            processes = self.processes
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
