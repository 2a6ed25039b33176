"""Simulators in their own processes, driven through their `/_sandbox/` control plane.

`python -m bench.simproc PLATFORM [--option key=json]…` builds the registered simulator
(`sandbox.interface.simulator_class`), starts it on a free loopback port, prints one JSON line (its
`info()` and its `account_setup()`) and serves until SIGTERM. `RemoteSimulator` starts one and speaks to it over HTTP,
so the benchmark process, the hub's processes and each simulator are measured apart.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from typing import Any

import httpx

from sandbox.catalogue import SeedSpec
from sandbox.interface import simulator_class

# How the simulators label a stock write that came through their API (WooCommerce's batch
# endpoint says "batch"), as opposed to a buyer's or the merchant's.
API_SOURCES = {"api", "batch"}


class RemoteSimulator:
    """One simulator process and an HTTP client for its control plane."""

    def __init__(self, platform: str, **options: Any) -> None:
        self.platform = platform
        args = [sys.executable, "-m", "bench.simproc", platform]
        for key, value in options.items():
            args += ["--option", f"{key}={json.dumps(value)}"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {platform} simulator exited before it started (code {self.process.wait()})")
        self.info: dict[str, Any] = json.loads(line)
        self.url: str = self.info["url"]
        self.http = httpx.Client(base_url=self.url, timeout=600)

    @property
    def pid(self) -> int:
        return self.process.pid

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_sandbox/{path}", json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{self.platform} simulator /_sandbox/{path}: {response.status_code} {response.text}")
        return response.json()

    def seed(self, spec: SeedSpec) -> Any:
        fields = {k: getattr(spec, k) for k in spec.__dataclass_fields__}
        fields["extra"] = list(spec.extra)
        return self.control("POST", "seed", fields)

    def place_order(self, sku: str, quantity: int) -> tuple[dict[str, Any] | None, int]:
        """A buyer's order: (the platform's order JSON or None when refused, HTTP status)."""
        response = self.http.post("/_sandbox/orders", json={"lines": [{"sku": sku, "quantity": quantity}]})
        return (response.json() if response.status_code < 300 else None), response.status_code

    def writes(self) -> list[dict[str, Any]]:
        data = self.control("GET", "writes")
        return list(data["writes"] if isinstance(data, dict) else data)

    def requests(self) -> dict[str, Any]:
        return dict(self.control("GET", "requests"))

    def reset_counters(self) -> None:
        self.control("POST", "reset-counters", {})

    def configure(self, spec: dict[str, Any]) -> Any:
        return self.control("POST", "faults", spec)

    def set_push_url(self, url: str) -> Any:
        """Point a pushing platform's events at `url` (its console setting)."""
        return self.control("POST", "push-url", {"url": url})

    def state(self) -> dict[str, Any]:
        return dict(self.control("GET", "state"))

    def throttled(self) -> int:
        """THROTTLED answers (Shopify) or HTTP 429s (any platform) since the last reset."""
        counts = self.requests()
        return int(counts.get("throttled", 0)) + int(counts.get("by_status", {}).get("429", 0))

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> RemoteSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def placed_order_id(order: dict[str, Any]) -> str:
    """The id of an order `place_order` answered: the platform's order JSON's `id` (Shopify,
    WooCommerce) or the `order_id` the other simulators' control planes answer with."""
    return str(order["order_id"] if "order_id" in order else order["id"])


def hub_writes(writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stock writes that came through the platform's API (the hub's or a contender's)."""
    return [w for w in writes if w.get("source") in API_SOURCES and w.get("sku")]


def written_quantity(entry: dict[str, Any]) -> int | None:
    """What a buyer can buy after a logged write (`available`; WooCommerce logs `after`)."""
    value = entry.get("available", entry.get("after"))
    return None if value is None else int(value)


def _parse_options(argv: list[str]) -> tuple[str, dict[str, Any]]:
    if not argv:
        raise SystemExit("usage: python -m bench.simproc PLATFORM [--option key=json]…")
    platform, options, rest = argv[0], {}, argv[1:]
    while rest:
        flag, pair, rest = rest[0], rest[1] if len(rest) > 1 else "", rest[2:]
        key, _, value = pair.partition("=")
        if flag != "--option" or not key:
            raise SystemExit(f"expected --option key=json, got {flag} {pair}")
        options[key] = json.loads(value)
    return platform, options


def main(argv: list[str]) -> int:
    platform, options = _parse_options(argv)
    simulator = simulator_class(platform)(**options)
    simulator.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    setup = simulator.account_setup()
    account = {"platform": setup.platform, "options": setup.options, "secrets": setup.secrets}
    print(json.dumps({**simulator.info(), "account_setup": account}), flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
