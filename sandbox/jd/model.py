"""The records a 京东 POP shop holds, and JOS time and money formats.

Times are `yyyy-MM-dd HH:mm:ss` in GMT+8 both ways (requests may add `.SSS+0800`); money is a
yuan string with two decimals. Consignee data is only ever shown masked (`*`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

CHINA = timezone(timedelta(hours=8))
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{3})?([+-]\d{4})?$")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def show_time(moment: datetime | None) -> str | None:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def parse_time(text: str) -> datetime:
    """`yyyy-MM-dd HH:mm:ss[.SSS][+0800]` as UTC (GMT+8 when no zone is given); ValueError otherwise."""
    text = text.strip()
    if not TIMESTAMP.match(text):
        raise ValueError(text)
    zone: tzinfo = CHINA
    if text[-5] in "+-" and text[-4:].isdigit():
        zone = datetime.strptime(text[-5:], "%z").tzinfo or CHINA
        text = text[:-5]
    base = datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")
    return base.replace(tzinfo=zone).astimezone(UTC)


def yuan(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


@dataclass
class Sku:
    sku_id: int
    ware_id: int
    outer_id: str
    sku_name: str
    jd_price: Decimal
    stock_num: int
    bar_code: str | None
    created: datetime
    modified: datetime
    status: int = 1  # 1 上架


@dataclass
class Ware:
    ware_id: int
    title: str
    skus: list[Sku]
    modified: datetime


@dataclass
class Consignee:
    fullname: str
    mobile: str
    province: str
    city: str
    county: str
    address: str

    def masked(self) -> dict[str, str]:
        return {"fullname": self.fullname[0] + "*" * (len(self.fullname) - 1),
                "mobile": self.mobile[:3] + "****" + self.mobile[-4:], "telephone": "",
                "fullAddress": f"{self.province}{self.city}{self.county}" + "*" * 8,
                "province": self.province, "city": self.city, "county": self.county}


@dataclass
class Line:
    sku_id: int
    ware_id: int
    outer_sku_id: str
    sku_name: str
    jd_price: Decimal
    item_total: int
    refunded: int = 0


@dataclass
class Order:
    order_id: str
    state: str
    lines: list[Line]
    consignee: Consignee
    pin: str
    start_time: datetime
    modified: datetime
    payment_confirm_time: datetime
    end_time: datetime | None = None
    waybill: str | None = None
    logistics_id: int | None = None
    freight: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return sum((line.jd_price * line.item_total for line in self.lines), Decimal("0"))


@dataclass
class RefundApply:
    id: int
    order_id: str
    status: int           # 1 审核通过
    apply_refund_sum: Decimal
    apply_time: datetime
    check_time: datetime
    reason: str = "不想要了"


@dataclass
class Shipment:
    order_id: str
    waybill: str
    logistics_id: int
    lines: tuple[tuple[str, int], ...]
