"""The records a 拼多多 shop holds, PDD's time formats and its receiver ciphertext and masks.

Request times are UNIX seconds; response times are `yyyy-MM-dd HH:mm:ss` in GMT+8. Receiver
name, phone and address are shown as ciphertext (only while the order waits to ship and is not
risk-flagged) next to masked values; the ciphertext is opaque here, as for the platform's
clients, and nothing in the simulator's API decrypts it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

CHINA = timezone(timedelta(hours=8))


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def show_time(moment: datetime | None) -> str | None:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def money(amount: Decimal) -> float:
    """PDD shows amounts in yuan as JSON numbers."""
    return float(amount.quantize(Decimal("0.01")))


def ciphertext(plain: str, key: str) -> str:
    stream = hashlib.sha256(key.encode()).digest() * (len(plain.encode()) // 32 + 1)
    mixed = bytes(a ^ b for a, b in zip(plain.encode(), stream, strict=False))
    return "~" + base64.b64encode(mixed).decode() + "~1~"


@dataclass
class Receiver:
    name: str
    phone: str
    province: str
    city: str
    town: str
    address: str

    def masks(self) -> dict[str, str]:
        return {"receiver_name_mask": self.name[0] + "*" * (len(self.name) - 1),
                "receiver_phone_mask": self.phone[:3] + "****" + self.phone[-4:],
                "receiver_address_mask": "*" * 8, "address_mask": f"{self.province}{self.city}{self.town}" + "*" * 8}

    def encrypted(self, key: str) -> dict[str, str]:
        return {"receiver_name": ciphertext(self.name, key), "receiver_phone": ciphertext(self.phone, key),
                "receiver_address": ciphertext(self.address, key),
                "address": ciphertext(f"{self.province}{self.city}{self.town}{self.address}", key)}


@dataclass
class Sku:
    sku_id: int
    goods_id: int
    outer_id: str
    spec: str
    price: Decimal
    quantity: int           # sku_quantity: 库存, including what unpaid orders hold
    reserve_quantity: int   # 预扣库存 held by unpaid orders
    is_sku_onsale: int = 1

    @property
    def sellable(self) -> int:
        return self.quantity - self.reserve_quantity


@dataclass
class Goods:
    goods_id: int
    goods_name: str
    outer_goods_id: str
    skus: list[Sku]
    created_at: datetime
    is_onsale: int = 1
    promo_slot: bool = False  # 资源位: stock may not be reduced while the goods sit in a promotion slot


@dataclass
class Line:
    goods_id: int
    sku_id: int
    outer_id: str
    outer_goods_id: str
    goods_name: str
    goods_spec: str
    goods_price: Decimal
    goods_count: int
    refunded: int = 0


@dataclass
class Order:
    order_sn: str
    lines: list[Line]
    receiver: Receiver
    created_time: datetime
    updated_at: datetime
    pay_time: datetime | None
    paid: bool = True
    order_status: int = 1       # 1 待发货, 2 已发货待签收, 3 已签收
    refund_status: int = 1      # 1 无售后或售后关闭, 2 售后处理中, 3 退款中, 4 退款成功
    risk_control_status: int = 0
    shipping_time: datetime | None = None
    tracking_number: str | None = None
    logistics_id: int | None = None
    postage: Decimal = Decimal("0")

    @property
    def goods_amount(self) -> Decimal:
        return sum((line.goods_price * line.goods_count for line in self.lines), Decimal("0"))


@dataclass
class AfterSale:
    id: int
    order_sn: str
    after_sales_type: int       # 2 仅退款, 3 退货退款
    after_sales_status: int     # 10 退款成功
    line: Line
    goods_number: int
    refund_amount: Decimal
    created_time: datetime
    updated_time: datetime


@dataclass
class Shipment:
    order_sn: str
    tracking_number: str
    logistics_id: int
    lines: tuple[tuple[str, int], ...]


@dataclass
class Counters:
    order: int = 0
    after_sale: int = 0
    extra: dict[str, int] = field(default_factory=dict)
