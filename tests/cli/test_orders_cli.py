"""The orders, ship and privacy commands through the real CLI entry point (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from store import tables
from sync.context import Hub
from sync.orders import store_event
from tests.sync.order_world import ingest, levels, order, shop_fixture  # noqa: F401 - fixtures


def test_list_show_and_ship_from_the_command_line(hub: Hub, shop: dict[str, Any], cli: Any) -> None:
    ingest(hub, order(lines=(("1", "A-1", 3), ("2", "A-2", 1))))
    listed = json.loads(cli("orders", "list", "--json").output)
    assert [(o["account"], o["external_id"], o["status"]) for o in listed] == [("woo", "500", "open")]
    refused = cli("ship", "woo:500", "--carrier", "UPS", "--tracking", "1Z9", "--line", "A-1:4")
    assert refused.exit_code == 1
    assert "cannot ship 4 of A-1 (line 1)" in refused.output and "0 shipped and 0 cancelled of 3 ordered" \
        in refused.output
    done = cli("ship", "woo:500", "--carrier", "UPS", "--tracking", "1Z9", "--line", "A-1:2", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["created"] is True
    assert levels(hub, shop, "A-1") == (8, 1)
    shown = json.loads(cli("orders", "show", str(listed[0]["id"]), "--json").output)
    assert shown["shipments"][0]["push_status"] == "pending"
    assert shown["shipments"][0]["lines"] == [{"sku": "A-1", "quantity": 2}]
    assert [m["reason"] for m in shown["movements"]] == ["order_commit", "order_commit", "shipment"]
    assert cli("orders", "show", "woo:500").exit_code == 0
    assert "no order 'woo:77'" in cli("orders", "show", "woo:77").output


def test_privacy_purge_removes_personal_fields_and_payloads(hub: Hub, shop: dict[str, Any], cli: Any) -> None:
    ingest(hub, order(placed=datetime.now(UTC) - timedelta(days=400)))
    with hub.db.session() as session:
        account = session.scalar(select(tables.Account))
        assert account is not None
        from connectors.base import WebhookEvent

        event_id = store_event(session, account, WebhookEvent("e1", "order.updated", {}), b'{"id": 500, '
                               b'"billing": {"email": "ada@example.com"}}')
        row = session.scalar(select(tables.Order))
        assert row is not None and event_id is not None
        row.channel_state = {**row.channel_state, "webhook_events": [event_id]}
    result = cli("privacy", "purge", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["orders"] == 1 and json.loads(result.output)["events"] == 1
    with hub.db.session() as session:
        row = session.scalar(select(tables.Order))
        assert row is not None and row.customer_email is None and row.customer_name is None
        assert row.purged_at is not None
        assert "ada@" not in str(session.scalar(select(tables.WebhookEvent.payload)))
        assert session.scalar(select(tables.AuditEntry.action).where(
            tables.AuditEntry.action == "privacy.purge")) == "privacy.purge"
    ingest(hub, order(minutes=5, placed=datetime.now(UTC) - timedelta(days=400)))
    with hub.db.session() as session:
        row = session.scalar(select(tables.Order))
        assert row is not None and row.customer_email is None  # the channel's copy does not come back
