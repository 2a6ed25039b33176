"""微信小店 payloads: products with SKUs, stock, orders, after-sales, the delivery company list.

Receiver data in orders is masked (the platform masks every order's address; the full text needs
a separate, logged decode call that this simulator does not offer).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sandbox.pushshop.privacy import mask_detail, mask_name, mask_phone
from sandbox.pushshop.shop import AfterSale, Order, Product, Sku

if TYPE_CHECKING:
    from sandbox.wechat import WechatSimulator

ORDER_STATUS = {"paid": 20, "partially_shipped": 21, "shipped": 30, "completed": 100, "cancelled": 250}
AFTERSALE_STATUS = {"requested": "MERCHANT_PROCESSING", "succeeded": "MERCHANT_REFUND_SUCCESS",
                    "closed": "USER_CANCELD"}
AFTERSALE_TYPE = {"refund_only": "REFUND", "return_refund": "RETURN"}
DELIVERY_COMPANIES = (("SF", "顺丰速运"), ("YTO", "圆通速递"), ("ZTO", "中通快递"), ("YD", "韵达快递"),
                      ("STO", "申通快递"), ("JTSD", "极兔速递"), ("EMS", "中国邮政速递物流"), ("YZPY", "邮政快递包裹"),
                      ("JD", "京东快递"), ("DBKD", "德邦快递"), ("DHL", "DHL"))


def sku_json(sku: Sku, corrupt: Collection[str] = ()) -> dict[str, Any]:
    """The SKU as product/get serves it; a SKU named in `corrupt` (a fault) comes without a usable stock."""
    return {"sku_id": str(sku.sku_id), "out_sku_id": "", "sku_code": sku.code, "sale_price": sku.price,
            "stock_num": "-" if sku.code in corrupt else sku.stock, "status": 5, "thumb_img": "",
            "barcode": sku.barcode or "",
            "sku_attrs": [{"attr_key": "规格", "attr_value": sku.option}]}


def product_json(product: Product, corrupt: Collection[str] = ()) -> dict[str, Any]:
    return {"product_id": str(product.product_id), "out_product_id": "", "title": product.title, "sub_title": "",
            "status": 5 if product.online else 11, "edit_status": 0, "spu_code": "", "head_imgs": [],
            "min_price": min(s.price for s in product.skus), "update_time": int(product.updated_at),
            "skus": [sku_json(s, corrupt) for s in product.skus]}


def stock_json(sku: Sku) -> dict[str, Any]:
    return {"normal_stock_num": sku.stock - sku.reserved, "limited_discount_stock_num": 0,
            "warehouse_stocks": [], "finder_total_num": 0, "exclusive_num": sku.reserved,
            "total_stock_num": sku.stock}


def order_json(sim: WechatSimulator, order: Order) -> dict[str, Any]:
    receiver = order.receiver
    refunds = [a for a in sim.shop.aftersales.values() if a.order is order]
    return {
        "order_id": str(order.order_id), "status": ORDER_STATUS[order.state], "create_time": int(order.created_at),
        "update_time": int(order.updated_at), "openid": sim.open_id(order.buyer), "is_present": False,
        "order_detail": {
            "product_infos": [{"product_id": str(li.sku.product_id), "sku_id": str(li.sku.sku_id),
                               "sku_code": li.sku.code, "sku_cnt": li.quantity, "sale_price": li.price,
                               "real_price": li.price * li.quantity,
                               "title": sim.shop.products[li.sku.product_id].title,
                               "on_aftersale_sku_cnt": 0, "finish_aftersale_sku_cnt": li.refunded,
                               "sku_attrs": [{"attr_key": "规格", "attr_value": li.sku.option}]}
                              for li in order.lines],
            "price_info": {"product_price": order.total, "order_price": order.total, "freight": 0,
                           "discounted_price": 0, "is_discounted": False},
            "pay_info": {"pay_time": int(order.created_at), "prepay_time": int(order.created_at)},
            "delivery_info": {
                "address_info": {"user_name": mask_name(receiver.name), "tel_number": mask_phone(receiver.phone),
                                 "province_name": receiver.province, "city_name": receiver.city,
                                 "county_name": receiver.district, "detail_info": mask_detail(receiver.detail),
                                 "postal_code": "", "national_code": ""},
                "delivery_product_info": [{
                    "waybill_id": p.tracking_number, "delivery_id": p.carrier, "delivery_time": int(p.shipped_at),
                    "deliver_type": 1, "product_infos": [
                        {"product_id": str(order.line(lid).sku.product_id), "sku_id": str(order.line(lid).sku.sku_id),
                         "product_cnt": qty} for lid, qty in p.lines]} for p in order.packages],
                "ship_done_time": int(order.packages[-1].shipped_at) if order.state in ("shipped", "completed")
                and order.packages else 0,
                "deliver_method": 0},
        },
        "aftersale_detail": {"on_aftersale_order_cnt": sum(1 for a in refunds if a.state == "requested"),
                             "aftersale_order_list": [{"aftersale_order_id": str(a.aftersale_id),
                                                       "status": AFTERSALE_STATUS[a.state]} for a in refunds]},
    }


def aftersale_json(sim: WechatSimulator, aftersale: AfterSale) -> dict[str, Any]:
    line = aftersale.line
    return {"after_sale_order_id": str(aftersale.aftersale_id), "status": AFTERSALE_STATUS[aftersale.state],
            "type": AFTERSALE_TYPE[aftersale.kind], "order_id": str(aftersale.order.order_id),
            "openid": sim.open_id(aftersale.order.buyer),
            "product_info": {"product_id": str(line.sku.product_id), "sku_id": str(line.sku.sku_id),
                             "count": aftersale.quantity},
            "refund_info": {"amount": aftersale.amount}, "create_time": int(aftersale.created_at),
            "update_time": int(aftersale.updated_at),
            "details": {"desc": "", "receive_product": bool(line.shipped), "cancel_time": 0}}
