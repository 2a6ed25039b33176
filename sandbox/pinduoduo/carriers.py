"""What `pdd.logistics.companies.get` lists: id, code, name, available.

PDD's ids are not in the researched sources; these are assumed (see docs/decisions.md). A
connector reads the list from the API, so it never depends on the numbers below.
"""

from __future__ import annotations

COMPANIES: tuple[tuple[int, str, str, int], ...] = (
    (1, "STO", "申通快递", 1),
    (3, "HT", "百世快递", 1),
    (44, "SF", "顺丰速运", 1),
    (85, "YTO", "圆通快递", 1),
    (115, "ZTO", "中通快递", 1),
    (118, "EMS", "邮政EMS", 1),
    (119, "TTKDEX", "天天快递", 0),
    (120, "JD", "京东快递", 1),
    (121, "YUNDA", "韵达快递", 1),
    (131, "DEBANGWULIU", "德邦快递", 1),
    (132, "YZXB", "邮政快递包裹", 1),
    (384, "JTSD", "极兔速递", 1),
)

AVAILABLE = {company_id for company_id, _, _, available in COMPANIES if available}
KNOWN = {company_id for company_id, _, _, _ in COMPANIES}
