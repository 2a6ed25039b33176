"""What `taobao.logistics.companies.get` lists: id, code, name, waybill pattern.

`POST` and `ZJS` are the codes TOP's own parameter docs use as examples; the others are the
common express companies under the codes Taobao/Cainiao use for them (see docs/decisions.md).
"""

from __future__ import annotations

COMPANIES: tuple[tuple[int, str, str, str], ...] = (
    (1, "POST", "中国邮政", r"^[A-Z0-9]{10,20}$"),
    (2, "EMS", "EMS", r"^[A-Z0-9]{10,20}$"),
    (3, "POSTB", "邮政快递包裹", r"^[0-9]{13}$"),
    (4, "SF", "顺丰速运", r"^(SF)?[0-9]{12,15}$"),
    (5, "YTO", "圆通速递", r"^(YT)?[0-9]{12,15}$"),
    (6, "ZTO", "中通快递", r"^[0-9]{12,15}$"),
    (7, "STO", "申通快递", r"^[0-9]{12,15}$"),
    (8, "YUNDA", "韵达快递", r"^[0-9]{13,15}$"),
    (9, "HTKY", "百世快递", r"^[0-9A-Z]{12,15}$"),
    (10, "JD", "京东快递", r"^JD[0-9A-Z]{11,15}$"),
    (11, "DBKD", "德邦快递", r"^[0-9A-Z]{9,15}$"),
    (12, "JTSD", "极兔速递", r"^JT[0-9]{13}$"),
    (13, "ZJS", "宅急送", r"^[0-9A-Z]{10,15}$"),
)

CODES = {code for _, code, _, _ in COMPANIES}
