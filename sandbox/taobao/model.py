"""The records a Taobao shop holds, and TOP's time format.

Times are kept as aware UTC datetimes truncated to whole seconds (TOP's resolution) and shown
as `yyyy-MM-dd HH:mm:ss` in GMT+8. Money is Decimal, shown with two decimals in yuan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

CHINA = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def show_time(moment: datetime | None) -> str | None:
    return moment.astimezone(CHINA).strftime(TIME_FORMAT) if moment else None


def parse_time(text: str) -> datetime:
    """A `yyyy-MM-dd HH:mm:ss` GMT+8 string as UTC; ValueError when malformed."""
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=CHINA).astimezone(UTC)


def yuan(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


@dataclass
class Sku:
    sku_id: int
    num_iid: int
    outer_id: str
    properties_name: str
    price: Decimal
    quantity: int
    barcode: str | None
    modified: datetime


@dataclass
class Item:
    num_iid: int
    title: str
    outer_id: str
    price: Decimal
    skus: list[Sku]
    modified: datetime
    approve_status: str = "onsale"
    presale: bool = False  # 预售: the platform accepts incremental stock updates only

    @property
    def num(self) -> int:
        return sum(sku.quantity for sku in self.skus)


@dataclass
class Receiver:
    """The buyer's address as the platform holds it; the API only ever shows `masked()`."""

    name: str
    mobile: str
    state: str
    city: str
    district: str
    address: str
    zip: str

    def masked(self) -> dict[str, str]:
        return {"receiver_name": self.name[0] + "*" * (len(self.name) - 1),
                "receiver_mobile": "*" * (len(self.mobile) - 4) + self.mobile[-4:],
                "receiver_phone": "",
                "receiver_address": "*" * 8,
                "receiver_state": self.state, "receiver_city": self.city,
                "receiver_district": self.district, "receiver_zip": self.zip}

    def oaid(self, tid: int) -> str:
        return hashlib.sha256(f"oaid:{tid}:{self.name}:{self.mobile}".encode()).hexdigest()[:48]


@dataclass
class TradeOrder:
    """A sub-order (子订单): one SKU line of a trade."""

    oid: int
    num_iid: int
    sku_id: int
    outer_sku_id: str
    outer_iid: str
    title: str
    sku_properties_name: str
    price: Decimal
    num: int
    status: str
    refund_status: str = "NO_REFUND"
    refunded: int = 0
    refund_id: int | None = None
    consigned: bool = False
    logistics_company: str | None = None
    invoice_no: str | None = None
    consign_time: datetime | None = None

    @property
    def payment(self) -> Decimal:
        return self.price * self.num


@dataclass
class Trade:
    tid: int
    status: str
    buyer_nick: str
    buyer_open_uid: str
    receiver: Receiver
    orders: list[TradeOrder]
    created: datetime
    modified: datetime
    pay_time: datetime | None
    consign_time: datetime | None = None
    end_time: datetime | None = None
    post_fee: Decimal = Decimal("0")

    @property
    def total_fee(self) -> Decimal:
        return sum((o.payment for o in self.orders), Decimal("0"))


@dataclass
class Refund:
    refund_id: int
    tid: int
    oid: int
    num: int
    refund_fee: Decimal
    status: str
    outer_id: str
    title: str
    created: datetime
    modified: datetime
    has_good_return: bool = False
    reason: str = "买家不想要了"


@dataclass
class Shipment:
    tid: int
    out_sid: str
    company_code: str
    lines: tuple[tuple[str, int], ...]
    online: bool = False
    confirmed: bool = True


@dataclass
class Counters:
    trade: int = 0
    refund: int = 0
    sub_order: int = 0
    message: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
