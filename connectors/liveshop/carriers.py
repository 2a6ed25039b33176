"""Carriers: the hub's carrier names onto each platform's carrier codes.

A shipment names its carrier the way the merchant typed it (`SF`, `SF Express`, `顺丰`,
`shunfeng`). `carrier_key` turns the common spellings of the big Chinese express companies into
one key; each connector maps keys onto its platform's codes (抖店 `shunfeng`, 快手 `4`,
微信 `SF`). A name no table knows is refused with the names it does know, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.errors import Rejected

ALIASES: dict[str, tuple[str, ...]] = {
    "sf": ("sf", "sf express", "sfexpress", "shunfeng", "顺丰", "顺丰速运", "顺丰快递"),
    "yto": ("yto", "yuantong", "圆通", "圆通速递", "圆通快递"),
    "zto": ("zto", "zhongtong", "中通", "中通快递"),
    "yunda": ("yunda", "yd", "韵达", "韵达快递", "韵达速递"),
    "sto": ("sto", "shentong", "申通", "申通快递"),
    "jt": ("jt", "j&t", "j&t express", "jtexpress", "jtsd", "极兔", "极兔速递"),
    "ems": ("ems", "中国邮政速递物流", "邮政ems"),
    "post": ("china post", "chinapost", "post", "yzpy", "youzhengguonei", "邮政", "邮政快递包裹", "中国邮政"),
    "jd": ("jd", "jd logistics", "jingdong", "京东", "京东物流", "京东快递"),
    "deppon": ("deppon", "debang", "debangkuaidi", "dbkd", "德邦", "德邦快递"),
    "dhl": ("dhl", "dhl express", "dhl中国件"),
}
_BY_ALIAS = {alias: key for key, names in ALIASES.items() for alias in names}


def carrier_key(name: str) -> str | None:
    """The carrier key of a spelling, None when no alias matches."""
    return _BY_ALIAS.get(" ".join(name.strip().lower().split()))


def carrier_code(name: str, codes: Mapping[str, str], *, where: str, platform: str) -> str:
    """The platform code for carrier `name`: a known alias, or already one of the platform's codes."""
    if name.strip() in codes.values():
        return name.strip()
    key = carrier_key(name)
    if key is not None and key in codes:
        return codes[key]
    known = ", ".join(sorted(codes))
    raise Rejected(where, f"carrier {name!r} has no {platform} code; use one of {known} "
                          f"(or a {platform} carrier code itself)")
