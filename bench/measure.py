"""Measuring processes and the machine: CPU seconds and peak RSS per process, load, versions.

A command run to completion (`run_command`) is measured exactly by the kernel (`os.wait4`:
user + system CPU and the peak resident set of the process and its waited-for children). A
long-running process (a worker, the webhook server, a simulator) is read from /proc through
psutil while it lives (`Meter`): CPU times since it started and its peak RSS (VmHWM).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil

PACKAGES = ("marketsync", "SQLAlchemy", "psycopg", "rq", "redis", "httpx", "uvicorn", "starlette", "graphql-core",
            "ShopifyAPI", "WooCommerce", "psutil")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What the figures were measured on (the machine is shared: the load says how busy it was)."""
    memory = psutil.virtual_memory()
    return {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(), "memory_gb": round(memory.total / 2**30, 1),
            "python": platform.python_version(), "loadavg_at_start": loadavg()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean of `samples` (nearest rank), rounded; None when there are none."""
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))], 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1], 1),
            "mean": round(statistics.fmean(ordered), 1)}


@dataclass
class CommandResult:
    args: list[str]
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    load_before: list[float]
    load_after: list[float]

    def summary(self) -> dict[str, Any]:
        return {"command": " ".join(self.args[2:] if self.args[1:2] == ["-m"] else self.args),
                "returncode": self.returncode, "wall_s": round(self.wall_s, 2), "cpu_s": round(self.cpu_s, 2),
                "peak_rss_mb": round(self.peak_rss_mb, 1), "loadavg_before": self.load_before,
                "loadavg_after": self.load_after}


def run_command(args: Sequence[str], env: Mapping[str, str], *, timeout_s: float = 3600.0) -> CommandResult:
    """Run `args` to completion; the kernel's rusage of that one child (`os.wait4`) gives its CPU
    seconds (user + system) and peak RSS."""
    load_before = loadavg()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, open(os.devnull, "rb") as stdin:
        process = subprocess.Popen(list(args), env=dict(env), stdin=stdin, stdout=out, stderr=err)
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return CommandResult(list(args), process.returncode, wall, usage.ru_utime + usage.ru_stime,
                         usage.ru_maxrss / 1024, stdout, stderr, load_before, loadavg())


@dataclass
class Meter:
    """CPU seconds and peak RSS of long-running processes, read while they are alive."""

    pids: dict[str, int] = field(default_factory=dict)
    _start_cpu: dict[str, float] = field(default_factory=dict)
    _last: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, label: str, pid: int) -> None:
        self.pids[label] = pid
        self._last[label] = {"cpu_s": 0.0, "peak_rss_mb": 0.0}

    def mark(self) -> None:
        """From now on: CPU is counted from this moment (setup before it is not charged)."""
        for label in self.pids:
            self._start_cpu[label] = self._cpu(label)

    def sample(self) -> None:
        for label in self.pids:
            self._read(label)

    def _cpu(self, label: str) -> float:
        try:
            times = psutil.Process(self.pids[label]).cpu_times()
            return float(times.user + times.system)
        except psutil.Error:
            return self._last[label].get("cpu_total", 0.0)

    def _read(self, label: str) -> None:
        try:
            process = psutil.Process(self.pids[label])
            times = process.cpu_times()
            total = float(times.user + times.system)
            peak = _vm_hwm_mb(self.pids[label]) or process.memory_info().rss / 2**20
        except psutil.Error:
            return
        self._last[label] = {"cpu_total": total, "cpu_s": total - self._start_cpu.get(label, 0.0),
                             "peak_rss_mb": max(peak, self._last[label].get("peak_rss_mb", 0.0))}

    def read(self) -> dict[str, dict[str, float]]:
        """Per process: CPU seconds since `mark` and peak RSS in MB (call before they exit)."""
        self.sample()
        return {label: {"cpu_s": round(v.get("cpu_s", 0.0), 3), "peak_rss_mb": round(v.get("peak_rss_mb", 0.0), 1)}
                for label, v in self._last.items()}


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def total_cpu(readings: Mapping[str, Mapping[str, float]], prefix: str) -> float:
    return sum(v["cpu_s"] for k, v in readings.items() if k.startswith(prefix))
