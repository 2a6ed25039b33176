"""The orders, ship and privacy commands through the real CLI entry point (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from store import tables
from sync.hub.context import Hub
from sync.orders.events import store_event
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
        from connectors.events import ChannelEvent

        event = ChannelEvent("e1", "order.updated", {"id": 500, "billing": {"email": "ada@example.com"}})
        event_id = store_event(session, account, event)
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


def test_orders_by_the_merchants_number_hub_skus_and_refunds_in_show(hub: Hub, shop: dict[str, Any], cli: Any) -> None:
    import canonical

    placed = order(lines=(("1", "A-1", 3), ("2", "A-2", 2)))
    spelled = placed.model_copy(update={"lines": (  # the channel spells the SKU its own way
        placed.lines[0].model_copy(update={"sku": "CH-A1"}), placed.lines[1])})
    ingest(hub, spelled)
    refunded = spelled.model_copy(update={"updated_at": spelled.updated_at + timedelta(minutes=1), "refunds": (
        canonical.Refund(external_id="r9", lines=(canonical.RefundLine(line_external_id="2", quantity=1,
                                                                       restock=False),)),)})
    ingest(hub, refunded)
    for reference in ("#500", "woo:#500", "woo:500"):
        shown = cli("orders", "show", reference, "--json")
        assert shown.exit_code == 0, (reference, shown.output)
    data = json.loads(shown.output)
    assert data["refunds"] == [{"id": "r9", "lines": [{"line": "2", "sku": "A-2", "quantity": 1, "restock": False}]}]
    assert [ln["refunded"] for ln in data["lines"]] == [0, 1]
    assert "refunds" in cli("orders", "show", "#500").output
    by_hub_sku = cli("ship", "#500", "--carrier", "UPS", "--tracking", "1Z1", "--line", "A-1:1")
    assert by_hub_sku.exit_code == 0, by_hub_sku.output
    by_channel_sku = cli("ship", "woo:#500", "--carrier", "UPS", "--tracking", "1Z2", "--line", "CH-A1:1")
    assert by_channel_sku.exit_code == 0, by_channel_sku.output
    assert levels(hub, shop, "A-1") == (8, 1)
    unknown = cli("ship", "#999", "--carrier", "UPS", "--tracking", "1Z3")
    assert unknown.exit_code == 1 and "no order '#999'" in unknown.stderr


def test_webhook_bodies_keep_ids_and_times_only_and_a_purge_leaves_nothing_in_the_wal(
        hub: Hub, shop: dict[str, Any], cli: Any) -> None:
    from connectors.events import ChannelEvent, EventSubject, SubjectKind

    with hub.db.session() as session:
        account = session.scalar(select(tables.Account))
        assert account is not None
        event = ChannelEvent("e7", "order.updated", {
            "id": 500, "date_modified_gmt": "2026-12-01T10:00:00", "status": "processing",
            "billing": {"first_name": "Grace", "address_1": "1 Harbour Road"}, "customer_note": "ring twice"})
        plain_id = store_event(session, account, event)
        plain = json.loads(str(session.scalar(select(tables.WebhookEvent.payload)
                                              .where(tables.WebhookEvent.id == plain_id))))
    assert plain == {"id": 500, "date_modified_gmt": "2026-12-01T10:00:00", "status": "processing"}
    from sync.orders.events import stored_subject

    with hub.db.session() as session:
        again = ChannelEvent("e8", "order.updated", event.payload)
        event_id = store_event(session, account, again, subject=EventSubject(SubjectKind.ORDER, "500"))
        stored = json.loads(str(session.scalar(select(tables.WebhookEvent.payload)
                                               .where(tables.WebhookEvent.id == event_id))))
    assert stored == {**plain, "subject": {"kind": "order", "reference": "500", "order_reference": None}}
    assert stored_subject(stored) == EventSubject(SubjectKind.ORDER, "500")
    if hub.db.dialect != "sqlite":
        return
    name = "Zebulon Quartermain-Unique"
    ingest(hub, order(placed=datetime.now(UTC) - timedelta(days=400)).model_copy(update={
        "customer": order().customer.model_copy(update={"name": name})}))
    database = Path(hub.db.url.removeprefix("sqlite:///"))
    files = [database, database.with_name(database.name + "-wal")]
    assert any(name.encode() in path.read_bytes() for path in files if path.exists())
    assert cli("privacy", "purge", "--json").exit_code == 0
    for path in files:
        if path.exists():
            assert name.encode() not in path.read_bytes(), path
