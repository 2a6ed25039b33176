"""A hub carrier name ("SF", "顺丰") to a company in the vendor's JD list
(`360buy.get.vender.all.delivery.company`: numeric ids and Chinese names, no codes).

The alias groups say which names mean one company. An unknown carrier is refused with the list
JD offers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALIASES: tuple[tuple[str, ...], ...] = (
    ("SF", "SFEXPRESS", "顺丰", "顺丰速运", "顺丰快递"),
    ("UC", "优速", "优速快递"),
    ("YTO", "圆通", "圆通速递", "圆通快递"),
    ("ZTO", "中通", "中通快递", "中通速递"),
    ("POST", "中国邮政", "邮政"),
    ("STO", "申通", "申通快递"),
    ("YUNDA", "YD", "韵达", "韵达快递", "韵达速递"),
    ("EMS", "邮政EMS", "中国邮政EMS"),
    ("POSTB", "YZXB", "邮政包裹", "邮政快递包裹"),
    ("JD", "京东", "京东快递", "京东物流"),
    ("HTKY", "HT", "百世", "百世快递", "百世汇通"),
    ("DBKD", "DBL", "DEBANGWULIU", "德邦", "德邦快递", "德邦物流"),
    ("JTSD", "JT", "J&T", "极兔", "极兔速递"),
    ("ZJS", "宅急送"),
)


@dataclass(frozen=True)
class Company:
    id: int
    name: str


def _plain(text: str) -> str:
    return "".join(text.split()).replace("-", "").upper()


def resolve(carrier: str, companies: Sequence[Company]) -> Company | None:
    wanted = _plain(carrier)
    for company in companies:
        if wanted in (_plain(company.name), str(company.id)):
            return company
    group = next((set(map(_plain, names)) for names in ALIASES if wanted in map(_plain, names)), set())
    return next((c for c in companies if _plain(c.name) in group), None)


def listing(companies: Sequence[Company]) -> str:
    return ", ".join(f"{c.name} (id {c.id})" for c in companies)
