"""抖店 payloads: shop orders with their sub-orders (sku_order_list), after-sales, pushes.

Receiver fields come only as ciphertext (`encrypt_post_receiver`, `encrypt_post_tel`,
`post_addr.encrypt_detail`) and masks (`mask_post_*`); the plain `post_receiver`/`post_tel`
fields are empty, as the platform serves them since its privacy upgrade.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.pushshop.privacy import mask_detail, mask_name, mask_phone
from sandbox.pushshop.shop import AfterSale, Line, Order

if TYPE_CHECKING:
    from sandbox.douyin import DouyinSimulator

ORDER_STATUS = {"paid": (2, "待发货"), "partially_shipped": (101, "部分发货"), "shipped": (3, "已发货"),
                "completed": (5, "已完成"), "cancelled": (4, "已取消")}
AFTERSALE_TYPE = {"return_refund": 0, "refund_only": 2}  # 0 退货退款, 2 未发货仅退款
AFTERSALE_STATUS = {"requested": 6, "succeeded": 12, "closed": 28}
# (id, code, name): the order.logisticsCompanyList the simulator serves.
CARRIERS = ((12, "shunfeng", "顺丰速运"), (13, "yuantong", "圆通速递"), (15, "zhongtong", "中通快递"),
            (16, "yunda", "韵达快递"), (17, "shentong", "申通快递"), (1009, "jtexpress", "极兔速递"),
            (7, "youzhengguonei", "邮政快递包裹"), (8, "ems", "EMS"), (19, "jd", "京东物流"),
            (20, "debangkuaidi", "德邦快递"), (21, "dhl", "DHL"))
CARRIER_NAMES = {code: name for _, code, name in CARRIERS}


def sub_order_id(line: Line) -> str:
    return str(line.line_id)


def _line_status(order: Order, line: Line) -> int:
    if order.state == "cancelled" or (line.refunded >= line.quantity and not line.shipped):
        return 4
    if order.state == "completed":
        return 5
    return 3 if line.unshipped == 0 and line.shipped else 2


def _address(sim: DouyinSimulator, order: Order, *, masked: bool) -> dict[str, Any]:
    receiver = order.receiver
    area = {"province": {"name": receiver.province, "id": "44"}, "city": {"name": receiver.city, "id": "4401"},
            "town": {"name": receiver.district, "id": "440105"}, "street": {"name": receiver.street, "id": "440105001"}}
    if masked:
        return {**area, "detail": mask_detail(receiver.detail)}
    return {**area, "detail": "", "encrypt_detail": sim.cipher.encrypt(receiver.detail)}


def shop_order(sim: DouyinSimulator, order: Order) -> dict[str, Any]:
    status, desc = ORDER_STATUS[order.state]
    receiver = order.receiver
    return {
        "shop_id": sim.shop_id, "order_id": str(order.order_id), "order_status": status, "order_status_desc": desc,
        "main_status": status, "create_time": int(order.created_at), "update_time": int(order.updated_at),
        "pay_time": int(order.created_at), "finish_time": int(order.updated_at) if order.state == "completed" else 0,
        "ship_time": int(order.packages[0].shipped_at) if order.packages else 0,
        "cancel_reason": "买家取消" if order.state == "cancelled" else "", "order_amount": order.total,
        "pay_amount": order.total, "post_receiver": "", "post_tel": "",
        "encrypt_post_receiver": sim.cipher.encrypt(receiver.name),
        "encrypt_post_tel": sim.cipher.encrypt(receiver.phone),
        "mask_post_receiver": mask_name(receiver.name), "mask_post_tel": mask_phone(receiver.phone),
        "post_addr": _address(sim, order, masked=False), "mask_post_addr": _address(sim, order, masked=True),
        "sku_order_list": [_sku_order(order, line) for line in order.lines],
        "logistics_info": [_package(order, package) for package in order.packages],
    }


def _sku_order(order: Order, line: Line) -> dict[str, Any]:
    refund_status = 3 if line.refunded else 0
    return {"order_id": sub_order_id(line), "parent_order_id": str(order.order_id),
            "order_status": _line_status(order, line), "product_id": line.sku.product_id, "sku_id": line.sku.sku_id,
            "code": line.sku.code, "out_sku_id": 0, "product_name": f"{line.sku.code} {line.sku.option}",
            "item_num": line.quantity, "origin_amount": line.price * line.quantity,
            "pay_amount": line.price * line.quantity, "spec": [{"name": "规格", "value": line.sku.option}],
            "after_sale_info": {"after_sale_status": 12 if line.refunded else 0, "refund_status": refund_status}}


def _package(order: Order, package: Any) -> dict[str, Any]:
    return {"tracking_no": package.tracking_number, "company": package.carrier,
            "company_name": CARRIER_NAMES.get(package.carrier, package.carrier),
            "ship_time": int(package.shipped_at), "delivery_id": str(package.package_id),
            "product_info": [{"sku_order_id": str(line_id), "product_count": quantity,
                              "sku_id": order.line(line_id).sku.sku_id,
                              "product_id": order.line(line_id).sku.product_id,
                              "product_name": order.line(line_id).sku.code} for line_id, quantity in package.lines]}


def aftersale_item(aftersale: AfterSale) -> dict[str, Any]:
    line, order = aftersale.line, aftersale.order
    return {
        "aftersale_info": {
            "aftersale_id": str(aftersale.aftersale_id), "aftersale_order_type": 1,
            "aftersale_type": AFTERSALE_TYPE[aftersale.kind], "aftersale_status": AFTERSALE_STATUS[aftersale.state],
            "related_id": sub_order_id(line), "apply_time": int(aftersale.created_at),
            "create_time": int(aftersale.created_at), "update_time": int(aftersale.updated_at),
            "refund_amount": aftersale.amount, "refund_post_amount": 0, "aftersale_num": aftersale.quantity,
            "refund_status": 3 if aftersale.state == "succeeded" else 1, "got_pkg": 1 if line.shipped else 0},
        "order_info": {"shop_order_id": str(order.order_id), "related_order_info": [{
            "sku_order_id": sub_order_id(line), "order_status": _line_status(order, line),
            "product_id": line.sku.product_id, "shop_sku_code": line.sku.code, "item_num": line.quantity,
            "aftersale_item_num": aftersale.quantity, "pay_amount": line.price * line.quantity,
            "aftersale_pay_amount": aftersale.amount, "price": line.price}]},
    }
