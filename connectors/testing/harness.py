"""What the contract suite needs from a platform: `ContractHarness`, and `SimulatorHarness`, which
provides it for any simulator registered under `marketsync.simulators` (`sandbox/interface.py`).

The harness wraps a STARTED simulator, freshly seeded for each test with a catalogue of more than
one page (`len(catalogue_skus) > page_size`), no orders, no faults, stock >= 5 for every SKU at
the connector's stock location, every SKU unique.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from connectors.base import AccountConfig, Connector
from connectors.budget import LocalBudgets
from connectors.http import HttpPolicy

# Short enough that timeout and retry tests stay fast; enough attempts to ride out one fault.
CONTRACT_POLICY = HttpPolicy(timeout_s=0.5, max_attempts=5, max_backoff_s=0.5, base_backoff_s=0.02)


class ContractHarness(Protocol):
    """- `catalogue_skus`: every variant SKU seeded (one listing per SKU).
    - `page_size`: the page size the connectors it makes read with (small: several pages).
    - `make_connector(**options)`: a new connector for the seeded account (options override the
      account's); short timeout, small backoff, >= 4 attempts.
    - `bad_credentials_connector()`: the same account with every secret wrong.
    - `channel_quantity(sku)`: what a buyer can buy now, read from the simulator's own state.
    - `place_order(sku, quantity)`: a buyer order; its id exactly as `Order.external_id`.
    - `corrupt(sku)`: serve the record holding `sku` malformed; the ids the error may name.
    - `inject(status, retry_after)`: the next API request fails in the platform's own way for that
      status (429 = rate limited, 5xx = server trouble); `timeout_next()`: it does not answer in time.
    - `api_requests()`: API requests answered so far (control plane excluded).
    - `shipments_of(order_id)`: tracking numbers of every shipment the channel holds for the order.
    - `simulator`: the `sandbox.interface.Simulator`, or None (then the event tests use
      `deliver_events_to` only through the connector's own registration).
    """

    catalogue_skus: frozenset[str]
    page_size: int

    @property
    def simulator(self) -> Any: ...
    def make_connector(self, **options: str) -> Connector: ...
    def bad_credentials_connector(self) -> Connector: ...
    def channel_quantity(self, sku: str) -> int: ...
    def place_order(self, sku: str, quantity: int) -> str: ...
    def corrupt(self, sku: str) -> frozenset[str]: ...
    def inject(self, status: int, retry_after: float = 0) -> None: ...
    def timeout_next(self) -> None: ...
    def api_requests(self) -> int: ...
    def shipments_of(self, order_external_id: str) -> list[str]: ...
    def close(self) -> None: ...


def wrong(secrets: dict[str, str]) -> dict[str, str]:
    """Every secret changed, same length and alphabet class (a signature or token check must fail)."""
    return {key: ("x" if value[:1] != "x" else "y") + value[1:] if value else "wrong"
            for key, value in secrets.items()}


@dataclass
class SimulatorHarness:
    """`ContractHarness` for any simulator implementing `sandbox.interface.Simulator`."""

    simulator: Any
    connector_class: type[Connector]
    page_size: int
    catalogue_skus: frozenset[str]
    policy: HttpPolicy = CONTRACT_POLICY
    made: list[Connector] = field(default_factory=list)

    def account(self, options: dict[str, str] | None = None, *, wrong_secrets: bool = False) -> AccountConfig:
        setup = self.simulator.account_setup()
        base = dict(setup.options)
        if any(spec.name == "page_size" for spec in self.connector_class.options):
            base["page_size"] = str(self.page_size)
        secrets = dict(setup.secrets)
        return AccountConfig(f"{setup.platform}-contract", setup.platform, {**base, **(options or {})},
                             wrong(secrets) if wrong_secrets else secrets)

    def _made(self, connector: Connector) -> Connector:
        self.made.append(connector)
        return connector

    def make_connector(self, **options: str) -> Connector:
        return self._made(self.connector_class(self.account(options), policy=self.policy, budgets=LocalBudgets()))

    def bad_credentials_connector(self) -> Connector:
        account = self.account(wrong_secrets=True)
        return self._made(self.connector_class(account, policy=self.policy, budgets=LocalBudgets()))

    def channel_quantity(self, sku: str) -> int:
        available = self.simulator.available(sku)
        assert available is not None, f"the simulator does not know SKU {sku}"
        return int(available)

    def place_order(self, sku: str, quantity: int) -> str:
        return str(self.simulator.place_order([(sku, quantity)]).order_id)

    def corrupt(self, sku: str) -> frozenset[str]:
        """`corrupt_ids` holding a SKU serves the record holding it malformed (interface convention)."""
        reader = self.make_connector()
        listing = next(item for item in reader.listings() if item.sku == sku)
        self.simulator.configure({"corrupt_ids": [sku]})
        return frozenset({listing.external_variant_id, listing.external_product_id})

    def inject(self, status: int, retry_after: float = 0) -> None:
        self.simulator.faults.next(status, retry_after=retry_after)

    def timeout_next(self) -> None:
        self.simulator.faults.next(0)

    def api_requests(self) -> int:
        return int(self.simulator.requests.as_dict()["total"])

    def shipments_of(self, order_external_id: str) -> list[str]:
        return [shipment.tracking_number for shipment in self.simulator.shipments(order_external_id)]

    def close(self) -> None:
        for connector in self.made:
            connector.close()
        self.made.clear()
