"""The one interface every platform simulator offers to the demo, the tests and the benchmarks.

A simulator package (`sandbox/<platform>/`, or a third-party package) exposes one class that
satisfies `Simulator` and registers it under the entry-point group `marketsync.simulators`
(`<platform> = "package.module:Class"`). Whoever drives a simulator — `marketsync demo`, the
benchmarks, the chaos run, the contract suite — uses only what is declared here, so it never
names a platform.

Conventions every simulator keeps:
- SKUs and barcodes come from `sandbox.catalogue.SeedSpec`: the same spec gives the same goods on
  every platform, so several simulated channels sell the same catalogue.
- `writes` (a `sandbox.runtime.WriteLog`) records every stock change with at least
  `sku`, `source` and `available` (what a buyer can buy afterwards, at the stock location the hub
  publishes to) and `ts` (wall clock). `source` is `HUB_SOURCE` for a change that came through the
  platform's API (the hub's writes), `"buyer"` for orders, cancels and refunds, and `"merchant"` for
  changes made through the control plane.
- A buyer order the platform would refuse for lack of stock raises `OutOfStock`; any other
  refusal raises `SimulatorError` with the platform's reason.
- Order ids are the platform's own external id as a string (what its API returns), and `number`
  is what the merchant sees in the platform's back office.
- `configure({"corrupt_ids": [...]})` takes SKUs (and the simulator's own record ids): the record
  holding a listed SKU is served malformed (a value the canonical model rejects), so the contract
  suite (`connectors.testing`) can check that a connector skips it and names it. `faults.next(status)`
  makes the next API request fail the way the platform fails for that status: 429 = its own
  rate-limit answer (an HTTP 429, or an error code inside a 200 body), 5xx = its server-error answer,
  0 = no answer within `faults.timeout_seconds`.
- The constructor takes keyword options only: `port` (0 picks a free one), `clock_factor`
  (rate limits refill faster above 1), `name` (the shop's name, so two simulators of one platform
  differ) and the platform's own options; it does not start the server or seed anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from canonical.errors import MarketsyncError
from sandbox.catalogue import SeedSpec
from sandbox.runtime import Clock, Faults, RequestCounter, WriteLog

SIMULATOR_ENTRY_POINT_GROUP = "marketsync.simulators"
HUB_SOURCE = "api"


class SimulatorError(MarketsyncError):
    """The simulated platform refused a control-plane action (the message gives its reason)."""


class OutOfStock(SimulatorError):
    """A buyer order asked for more than the platform would sell."""


class UnknownSimulator(SimulatorError, ValueError):
    """No simulator is registered under that platform name."""


class EventDelivery(StrEnum):
    """How the platform tells the hub that something changed."""

    REGISTERED = "registered"  # webhooks the connector registers through the API (Shopify, WooCommerce)
    PUSH = "push"              # pushes to a URL set in the platform's console (`set_push_url`)
    PULL = "pull"              # a message queue the connector consumes and confirms (Taobao TMC)
    NONE = "none"              # polling only


@dataclass(frozen=True)
class AccountSetup:
    """What `marketsync account add PLATFORM NAME` needs to connect to this simulated store."""

    platform: str
    options: dict[str, str]
    secrets: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class PlacedOrder:
    """A buyer's order as the simulator accepted it."""

    order_id: str
    number: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    accepted_at: float                  # wall clock (time.time()), comparable with `writes` `ts`


@dataclass(frozen=True)
class ChannelShipment:
    """A shipment as the platform holds it (for exactly-once checks)."""

    order_id: str
    tracking_number: str
    carrier: str  # as the platform stores it (its own carrier code or name)
    lines: tuple[tuple[str, int], ...] = ()  # (sku, quantity); empty when the platform keeps no lines


@runtime_checkable
class Simulator(Protocol):
    """A simulated store on loopback, and the Python face of its `/_sandbox/` control plane."""

    platform: ClassVar[str]
    event_delivery: ClassVar[EventDelivery]
    clock: Clock
    faults: Faults
    writes: WriteLog
    requests: RequestCounter

    @property
    def url(self) -> str:
        """Base URL of the running server (`http://127.0.0.1:PORT`)."""
        ...

    def start(self) -> Self: ...

    def stop(self) -> None: ...

    def info(self) -> dict[str, Any]:
        """JSON-safe: `platform`, `url` and the credentials (what `sandbox serve` prints)."""
        ...

    def account_setup(self) -> AccountSetup:
        """Options and secrets for a hub account on this store (base URL included)."""
        ...

    def seed(self, spec: SeedSpec | int | None = None) -> dict[str, Any]:
        """Replace catalogue, stock and orders with `spec` (an int is a seed with default settings)."""
        ...

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None) -> PlacedOrder:
        """A buyer orders (paid, ready to ship). `buyer` tells repeat customers apart."""
        ...

    def cancel_order(self, order_id: str, *, restock: bool = True) -> None: ...

    def refund_order(self, order_id: str, lines: Sequence[tuple[str, int]] | None = None, *,
                     restock: bool = True) -> None:
        """Refund `lines` (all when None), as the platform's after-sales flow would."""
        ...

    def set_stock(self, sku: str, quantity: int | None = None, delta: int | None = None) -> None:
        """The merchant changes stock in the platform's back office."""
        ...

    def available(self, sku: str) -> int | None:
        """What a buyer can buy now at the hub's stock location; None for an unknown or untracked SKU."""
        ...

    def shipments(self, order_id: str | None = None) -> list[ChannelShipment]: ...

    def set_push_url(self, url: str) -> bool:
        """Point the platform's pushes at `url` (its console setting); False when it has none."""
        ...

    def flush_events(self, timeout: float = 10.0) -> None:
        """Deliver every pending webhook/push now (or make pending queue messages consumable)."""
        ...

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Fault settings (`Faults.configure` keys plus the platform's own); unknown keys are an error."""
        ...

    def request_counts(self) -> dict[str, Any]:
        """At least `total` and `by_status` (`RequestCounter.as_dict`) and `throttled`: requests the
        platform's own rate limiting refused, whatever its answer looks like (injected faults aside)."""
        ...

    def reset_counters(self) -> None: ...


def shipments_json(simulator: Simulator) -> dict[str, Any]:
    """`shipments()` as a control plane answers it (`GET /_sandbox/shipments`)."""
    return {"shipments": [{"order_id": s.order_id, "tracking_number": s.tracking_number, "carrier": s.carrier,
                           "lines": [list(line) for line in s.lines]} for s in simulator.shipments()]}


def available_json(simulator: Simulator, skus: Sequence[str]) -> dict[str, Any]:
    """`available(sku)` of each of `skus` (`POST /_sandbox/available` with `{"skus": [...]}`)."""
    return {"available": {str(sku): simulator.available(str(sku)) for sku in skus}}


def installed_simulators() -> dict[str, Any]:
    """Registered simulators by platform name (entry points; not yet imported)."""
    return {ep.name: ep for ep in entry_points(group=SIMULATOR_ENTRY_POINT_GROUP)}


def simulator_class(platform: str) -> type[Simulator]:
    """The simulator class for `platform`, or a ValueError listing the installed ones."""
    found = installed_simulators()
    if platform not in found:
        names = ", ".join(sorted(found)) or "none"
        raise UnknownSimulator(f"no simulator for platform {platform!r}; installed: {names}")
    cls: type[Simulator] = found[platform].load()
    return cls


def start_simulator(platform: str, *, seed: SeedSpec | int | None = None, **options: Any) -> Simulator:
    """Build, seed and start the registered simulator for `platform`."""
    simulator = simulator_class(platform)(**options)
    simulator.seed(seed)
    return simulator.start()
