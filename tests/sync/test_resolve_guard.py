"""A single resolution honours --dry-run; a link refuses a variant's second listing on one account unless asked."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from mapping.conflicts import ConflictKind, open_conflict
from store import tables
from sync.hub.context import Hub
from tests.sync.order_world import shop_fixture  # noqa: F401 - fixtures


def unmatched_listing(hub: Hub, shop: dict[str, Any]) -> tuple[int, int]:
    with hub.db.session() as session:
        listing = tables.Listing(account_id=shop["account_id"], external_product_id="11", external_variant_id="103",
                                 channel_sku="A-1-OLD")
        session.add(listing)
        session.flush()
        conflict = open_conflict(session, ConflictKind.UNMATCHED_LISTING, f"unmatched_listing:{listing.id}",
                                 evidence={"channel": {"sku": "A-1-OLD"}}, account_id=shop["account_id"],
                                 listing_id=listing.id)
        return conflict.id, listing.id


def state(hub: Hub, conflict_id: int, listing_id: int) -> tuple[str, int | None, int]:
    with hub.db.session() as session:
        conflict, listing = session.get(tables.Conflict, conflict_id), session.get(tables.Listing, listing_id)
        assert conflict is not None and listing is not None
        audits = session.scalars(select(tables.AuditEntry).where(tables.AuditEntry.action == "conflict.resolve"))
        return conflict.status, listing.variant_id, len(audits.all())


def test_dry_run_of_one_resolution_changes_nothing(cli: Any, hub: Hub, shop: dict[str, Any]) -> None:
    conflict_id, listing_id = unmatched_listing(hub, shop)
    assert "dry run, nothing changed" in cli("conflicts", "resolve", str(conflict_id), "--ignore", "--dry-run").output
    assert state(hub, conflict_id, listing_id) == ("open", None, 0)
    dry = cli("conflicts", "resolve", str(conflict_id), "--link", "A-1", "--allow-duplicate", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    outcome = json.loads(dry.output)
    assert outcome["dry_run"] is True and "linked to SKU 'A-1'" in outcome["message"]
    assert state(hub, conflict_id, listing_id) == ("open", None, 0)


def test_a_second_listing_of_one_account_needs_allow_duplicate(cli: Any, hub: Hub, shop: dict[str, Any]) -> None:
    conflict_id, listing_id = unmatched_listing(hub, shop)
    refused = cli("conflicts", "resolve", str(conflict_id), "--link", "A-1")
    assert refused.exit_code == 1
    assert "already has listing 101 on this account" in refused.stderr and "--allow-duplicate" in refused.stderr
    assert state(hub, conflict_id, listing_id) == ("open", None, 0)
    dry = cli("conflicts", "resolve", str(conflict_id), "--link", "A-1", "--dry-run")
    assert dry.exit_code == 1 and "already has listing 101" in dry.stderr  # a dry run says what would fail
    allowed = cli("conflicts", "resolve", str(conflict_id), "--link", "A-1", "--allow-duplicate")
    assert allowed.exit_code == 0, allowed.output
    assert state(hub, conflict_id, listing_id) == ("resolved", shop["variants"]["A-1"], 1)
