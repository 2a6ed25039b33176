"""Points the platform did not charge come back to the shared budget (finding 3 of issue 15)."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.budget import BucketSpec, LocalBudget, LocalBudgets
from connectors.errors import Transient
from connectors.http import HttpPolicy
from connectors.shopify.client import BUCKET, GraphQLClient
from tests.connectors.budget_helpers import balance

COSTLY = "query { orders(first: 250) { nodes { id name lineItems(first: 50) { nodes { id sku } } } } }"


def test_an_uncharged_request_gives_its_points_back(budget) -> None:
    budget.reserve(60)
    budget.settle(60, charged=False)
    assert balance(budget) == pytest.approx(100, abs=1)
    budget.reserve(60)
    budget.settle(60)  # answered without a report: the points stay spent
    assert balance(budget) == pytest.approx(40, abs=1)


def client(transport: httpx.BaseTransport, budgets: LocalBudgets, attempts: int) -> GraphQLClient:
    policy = HttpPolicy(timeout_s=2, max_attempts=attempts, base_backoff_s=0.01, max_backoff_s=0.02)
    return GraphQLClient("http://shop.test", api_version="2026-04", access_token="t", where=lambda what: what,
                         policy=policy, budgets=budgets, transport=transport)


def refusing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="upstream unavailable")


def dead(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize("handler", [refusing, dead], ids=["5xx", "no answer"])
def test_a_refusing_or_dead_shop_leaves_the_budget_whole_and_fails_fast(handler) -> None:
    budgets = LocalBudgets({BUCKET: BucketSpec(maximum=100, restore_rate=20)})
    shop = client(httpx.MockTransport(handler), budgets, attempts=5)
    started = time.monotonic()
    with pytest.raises(Transient):
        shop.execute(COSTLY, what="orders")
    elapsed = time.monotonic() - started
    shop.close()
    budget = budgets(BUCKET)
    assert isinstance(budget, LocalBudget)
    assert budget.available == pytest.approx(100, abs=2)
    assert elapsed < 2.0  # the configured backoff only, never a wait for points nobody spent


def test_a_charged_answer_still_reports_the_platforms_figure() -> None:
    def answered(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {"orders": {"nodes": []}}, "extensions": {"cost": {
            "requestedQueryCost": 60, "actualQueryCost": 12,
            "throttleStatus": {"maximumAvailable": 100, "currentlyAvailable": 88, "restoreRate": 20}}}})

    budgets = LocalBudgets({BUCKET: BucketSpec(maximum=100, restore_rate=20)})
    shop = client(httpx.MockTransport(answered), budgets, attempts=1)
    shop.execute(COSTLY, what="orders")
    shop.close()
    budget = budgets(BUCKET)
    assert isinstance(budget, LocalBudget) and budget.available == pytest.approx(88, abs=2)


def test_orders_import_against_a_dead_shop_gives_up_within_its_backoff(hub, cli, monkeypatch) -> None:
    from sync.hub.accounts import add_account

    add_account(hub, "shopify", "dead", {"shop": "dead.myshopify.com", "base_url": "http://127.0.0.1:9"},
                {"access_token": "t"}, actor="test")
    started = time.monotonic()
    result = cli("orders", "import", "dead", "--since", "2026-01-01")
    elapsed = time.monotonic() - started
    assert result.exit_code != 0 and "connection failed" in result.output
    assert elapsed < 30  # 6 attempts, backoff 0.25 s doubling (at most ~8 s), never a wait on the budget
