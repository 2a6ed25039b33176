"""Property: the webhook endpoint answers any signed body with 200, 400 or 413, never 500, and
stores nothing for what it refuses (issue 15, bad input: the webhook endpoint)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from connectors.events import REFERENCE
from connectors.shopify.webhooks import signature
from store import tables
from sync.hub.accounts import add_account
from sync.hub.context import Hub
from sync.service.webserver import build_app

CASES = {"webhook": 0}
URL = "/webhooks/shopify/shop"

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
                    st.floats(allow_nan=False), st.text(max_size=20), st.just("\u202e\x00"))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=20)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "order", "raw", "duplicate keys", "deep", "nan"]))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "order":
        return json.dumps({"id": draw(st.one_of(SCALARS, JSON)), **draw(st.dictionaries(st.text(max_size=8), JSON,
                                                                                       max_size=3))}).encode()
    if kind == "raw":
        return draw(st.binary(max_size=300))
    if kind == "duplicate keys":
        first, second = draw(st.integers(1, 10**6)), draw(st.one_of(SCALARS, JSON))
        return f'{{"id": {first}, "id": {json.dumps(second)}}}'.encode()
    if kind == "deep":
        depth = draw(st.sampled_from([10, 1000, 100_000]))
        return b'{"id": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"
    return b'{"id": NaN, "total": Infinity}'


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    add_account(hub, "shopify", "shop", {"shop": "x.myshopify.com", "base_url": "http://127.0.0.1:9"},
                {"access_token": "t", "client_secret": "s"}, actor="test")
    with TestClient(build_app(hub)) as http:
        yield http


def stored(hub: Hub) -> int:
    with hub.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(tables.WebhookEvent)) or 0)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies(), topic=st.sampled_from(["orders/create", "orders/updated", "fulfillments/create",
                                             "products/update", "refunds/create", "app/uninstalled"]),
       event_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300))
def test_any_signed_body_is_answered_and_refusals_store_nothing(hub: Hub, client: TestClient, body: bytes,
                                                                topic: str, event_id: str) -> None:
    CASES["webhook"] += 1
    before = stored(hub)
    answer = client.post(URL, content=body, headers={"X-Shopify-Hmac-Sha256": signature(body, "s"),
                                                      "X-Shopify-Event-Id": event_id, "X-Shopify-Topic": topic})
    assert answer.status_code in (200, 400, 413), answer.text
    if answer.status_code != 200:
        assert stored(hub) == before
        return
    with hub.db.session() as session:
        for reference in session.scalars(select(tables.WebhookEvent.order_reference)
                                         .where(tables.WebhookEvent.order_reference.is_not(None))):
            assert REFERENCE.fullmatch(reference)


def test_a_10_mb_body_is_413_and_stores_nothing(hub: Hub, client: TestClient) -> None:
    body = b'{"id": 1, "note": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    answer = client.post(URL, content=body, headers={"X-Shopify-Hmac-Sha256": signature(body, "s"),
                                                      "X-Shopify-Event-Id": "big", "X-Shopify-Topic": "orders/create"})
    assert answer.status_code == 413 and stored(hub) == 0
