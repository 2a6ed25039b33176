"""The pieces the 抖店 / 快手 / 微信小店 connectors share: carrier names, the write journal, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import Rejected
from connectors.kuaishou.writers import CARRIERS as KUAISHOU
from connectors.liveshop.carriers import carrier_code, carrier_key
from connectors.liveshop.journal import DeltaJournal
from connectors.liveshop.windows import start_of
from connectors.wechat.writers import CARRIERS as WECHAT


@pytest.mark.parametrize(("name", "key"), [("SF", "sf"), ("顺丰速运", "sf"), ("  sf  express ", "sf"),
                                           ("中通", "zto"), ("J&T Express", "jt"), ("DHL", "dhl"), ("UPS", None)])
def test_carrier_spellings(name: str, key: str | None) -> None:
    assert carrier_key(name) == key


def test_carrier_codes_pass_through_and_unknown_names_are_refused() -> None:
    assert carrier_code("顺丰", KUAISHOU, where="w", platform="kuaishou") == "4"
    assert carrier_code("ZTO", WECHAT, where="w", platform="wechat") == "ZTO"
    assert carrier_code("109", KUAISHOU, where="w", platform="kuaishou") == "109"
    with pytest.raises(Rejected, match="use one of"):
        carrier_code("UPS", WECHAT, where="w", platform="wechat")


def test_the_journal_is_shared_by_the_connectors_of_one_account() -> None:
    first, second, other = DeltaJournal("a"), DeltaJournal("a"), DeltaJournal("b")
    first.sending("id-1", before=10, delta=-2)
    assert second.get("id-1") is not None and second.get("id-1").state == "sending"  # type: ignore[union-attr]
    first.applied("id-1")
    assert second.get("id-1").state == "applied" and other.get("id-1") is None  # type: ignore[union-attr]
    second.forget("id-1")
    assert first.get("id-1") is None


def test_polling_starts_at_the_cursor_second_or_the_history() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    cursor = datetime(2026, 11, 30, 8, 30, 15, 900_000, tzinfo=UTC)
    assert start_of(cursor, history=timedelta(days=7), now=now) == cursor.replace(microsecond=0)
    assert start_of(None, history=timedelta(days=7), now=now) == now - timedelta(days=7)
    old = now - timedelta(days=120)
    assert start_of(old, history=timedelta(days=7), now=now, oldest=timedelta(days=90)) > now - timedelta(days=90)
