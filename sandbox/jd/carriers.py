"""What `360buy.get.vender.all.delivery.company` lists: JD's numeric carrier ids (logiCoprId).

Third-party sources only (see docs/decisions.md); a connector reads the list from the API.
"""

from __future__ import annotations

COMPANIES: tuple[tuple[int, str], ...] = (
    (463, "圆通快递"), (465, "邮政EMS"), (467, "顺丰快递"), (470, "申通快递"), (1327, "韵达快递"),
    (1409, "宅急送"), (1499, "中通速递"), (1747, "优速快递"), (2087, "京东快递"), (2170, "邮政快递包裹"),
)

IDS = {company_id for company_id, _ in COMPANIES}
