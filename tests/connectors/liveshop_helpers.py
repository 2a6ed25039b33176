"""Helpers for the 抖店 / 快手 / 微信小店 connector tests: connectors on a simulator, lost answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from connectors.base import AccountConfig, Connector, connector_class
from connectors.budget import Budgets, LocalBudgets
from connectors.http import HttpPolicy
from connectors.stock import StockUpdate

FAST = HttpPolicy(timeout_s=2.0, max_attempts=4, max_backoff_s=0.2, base_backoff_s=0.02)


class LosingTransport(httpx.HTTPTransport):
    """Real HTTP, except that the first `count` requests matching `lose` lose their answer.

    `deliver=True`: the request reaches the simulator (and is applied) before the answer is lost;
    `deliver=False`: it never arrives.
    """

    def __init__(self, lose: Callable[[httpx.Request], bool], *, count: int = 1, deliver: bool = True) -> None:
        super().__init__()
        self.lose, self.count, self.deliver, self.lost = lose, count, deliver, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.lost < self.count and self.lose(request):
            self.lost += 1
            if self.deliver:
                super().handle_request(request).close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return super().handle_request(request)


def path_is(fragment: str) -> Callable[[httpx.Request], bool]:
    return lambda request: fragment in request.url.path


def connector(simulator: Any, *, transport: httpx.BaseTransport | None = None, budgets: Budgets | None = None,
              name: str = "shop", **options: str) -> Connector:
    setup = simulator.account_setup()
    account = AccountConfig(name, setup.platform, {**setup.options, **options}, dict(setup.secrets))
    return connector_class(setup.platform)(account, policy=FAST, transport=transport,
                                           budgets=budgets or LocalBudgets())


def delta_update(listing: Any, delta: int, idempotency_id: str, *, ref: str = "L1") -> StockUpdate:
    return StockUpdate(ref, listing.external_variant_id, listing.external_product_id, None, None,
                       (listing.quantity or 0) + delta, delta=delta, idempotency_id=idempotency_id)


def stock_requests(simulator: Any, fragment: str) -> int:
    return sum(n for route, n in simulator.request_counts()["by_route"].items() if fragment in route)
