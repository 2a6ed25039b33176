"""A worker loads its accounts' connectors before it registers, not inside its first job."""

from __future__ import annotations

import pytest

from connectors import base
from store import tables
from sync.hub.accounts import add_account
from sync.hub.context import Hub


def test_warm_up_loads_the_enabled_accounts_connectors(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_LOADED", {})
    add_account(hub, "woocommerce", "woo", {"url": "http://127.0.0.1:9"},
                {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "whsec"}, actor="test")
    with hub.db.session() as session:  # an account whose package was uninstalled, and a disabled one
        session.add(tables.Account(name="gone", platform="no-such-platform"))
        session.add(tables.Account(name="off", platform="shopify", enabled=False))

    assert hub.warm_up() == ["woocommerce"]
    assert set(base._LOADED) == {"woocommerce"}


def test_warm_up_without_a_database_loads_nothing_and_does_not_raise(hub: Hub, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy.exc import OperationalError

    def refused() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(hub.db, "session", refused)
    assert hub.warm_up() == []
    assert "warm-up skipped" in caplog.text and "OperationalError" in caplog.text
