"""快手 payloads: items with their SKUs, orders (one SKU each), refunds, the carrier numbers.

Receiver fields come only as `encrypted*` ciphertext and `desensitise*` masks.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sandbox.pushshop.privacy import mask_detail, mask_name, mask_phone
from sandbox.pushshop.shop import AfterSale, Order, Product, Sku

if TYPE_CHECKING:
    from sandbox.kuaishou import KuaishouSimulator

ORDER_STATUS = {"paid": 30, "partially_shipped": 30, "shipped": 40, "completed": 70, "cancelled": 80}
VIEW_STATUS = {2: {10}, 3: {30}, 4: {40}, 5: {50}, 6: {70}, 7: {80}}  # orderViewStatus -> order status
HANDLING_WAY = {"return_refund": 1, "refund_only": 10}
REFUND_STATUS = {"requested": 10, "succeeded": 60, "closed": 70}
# expressCode numbers from the platform's 物流公司编号 table; retired ones are refused.
CARRIERS = {2: "EMS", 3: "申通快递", 4: "顺丰速运", 5: "天天快递", 6: "圆通速递", 7: "韵达快运", 8: "邮政快递包裹",
            9: "中通快递", 10: "宅急送", 11: "韵达快递", 12: "中通快运", 14: "京东", 15: "优速物流", 17: "德邦",
            20: "DHL中国件",
            109: "极兔速递", 113: "菜鸟速递"}
RETIRED_CARRIERS = {1: "百世快递 (merged into 极兔速递 109)", 13: "圆通快运 (merged into 圆通速递 6)"}


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def sku_json(sku: Sku, corrupt: Collection[str] = ()) -> dict[str, Any]:
    """The SKU as the item APIs serve it; a SKU named in `corrupt` (a fault) comes without a usable stock."""
    return {"kwaiSkuId": sku.sku_id, "kwaiItemId": sku.product_id, "relSkuId": 0,
            "skuStock": "-" if sku.code in corrupt else sku.stock,
            "skuSalePrice": sku.price, "skuNick": sku.code, "gtinCode": sku.barcode or "",
            "reserveStock": sku.reserved, "specification": sku.option, "isValid": 1, "imageUrl": "",
            "createTime": ms(sku.updated_at), "updateTime": ms(sku.updated_at), "goodsCode": [], "goodsId": ""}


def item_json(product: Product, corrupt: Collection[str] = ()) -> dict[str, Any]:
    return {"kwaiItemId": product.product_id, "relItemId": 0, "title": product.title,
            "price": min(s.price for s in product.skus), "status": 1, "itemStatus": 1,
            "shelfStatus": 1 if product.online else 0, "auditStatus": 2, "itemType": 1, "multipleStock": False,
            "createTime": ms(product.created_at), "updateTime": ms(product.updated_at),
            "skuList": [sku_json(s, corrupt) for s in product.skus]}


def order_json(sim: KuaishouSimulator, order: Order) -> dict[str, Any]:
    line = order.lines[0]
    receiver = order.receiver
    status = ORDER_STATUS[order.state]
    return {
        "orderBaseInfo": {
            "oid": order.order_id, "payTime": ms(order.created_at), "createTime": ms(order.created_at),
            "updateTime": ms(order.updated_at), "status": status, "totalFee": order.total, "expressFee": 0,
            "discountFee": 0, "buyerOpenId": sim.open_id(order.buyer), "buyerNick": mask_name(order.buyer),
            "sellerOpenId": sim.seller_open_id, "sendTime": ms(order.packages[0].shipped_at) if order.packages else 0,
            "refundTime": 0, "remark": "", "preSale": 0, "payType": 1, "riskCode": 0,
            "disableDeliveryReasonCode": []},
        "orderItemInfo": {
            "skuId": line.sku.sku_id, "relSkuId": 0, "skuDesc": line.sku.option, "skuNick": line.sku.code,
            "itemId": line.sku.product_id, "relItemId": 0, "itemTitle": sim.shop.products[line.sku.product_id].title,
            "num": line.quantity, "originalPrice": line.price, "discountFee": 0, "price": line.price,
            "orderItemId": line.line_id, "itemType": 1, "goodsCode": ""},
        "orderRefundList": [{"refundId": a.aftersale_id, "refundStatus": REFUND_STATUS[a.state]}
                            for a in sorted(sim.shop.aftersales.values(), key=lambda a: -a.created_at)
                            if a.order is order],
        "orderLogisticsInfo": [{"expressNo": p.tracking_number, "expressCode": int(p.carrier),
                                "logisticsId": p.package_id} for p in order.packages],
        "orderAddress": {
            "encryptedConsignee": sim.cipher.encrypt(receiver.name), "desensitiseConsignee": mask_name(receiver.name),
            "encryptedMobile": sim.cipher.encrypt(receiver.phone), "desensitiseMobile": mask_phone(receiver.phone),
            "encryptedAddress": sim.cipher.encrypt(receiver.detail),
            "desensitiseAddress": mask_detail(receiver.detail), "province": receiver.province, "provinceCode": 440000,
            "city": receiver.city, "cityCode": 440100, "district": receiver.district, "districtCode": 440105,
            "town": receiver.street, "townCode": 440105001},
        "orderDeliveryInfo": {"deliveryNum": line.shipped, "packageNum": len(order.packages),
                              "totalPackageNum": len(order.packages), "maxPackageNum": 50,
                              "enableAppendPackage": bool(order.packages)},
    }


def refund_json(aftersale: AfterSale) -> dict[str, Any]:
    line = aftersale.line
    return {"oid": aftersale.order.order_id, "refundId": aftersale.aftersale_id,
            "handlingWay": HANDLING_WAY[aftersale.kind], "negotiateStatus": 2, "refundFee": aftersale.amount,
            "skuId": line.sku.sku_id, "relSkuId": 0, "skuNick": line.sku.code, "itemId": line.sku.product_id,
            "relItemId": 0, "status": REFUND_STATUS[aftersale.state], "refundType": 1, "refundReason": 1,
            "refundReasonDesc": "不想要了", "refundDesc": "", "submitTime": ms(aftersale.created_at),
            "createTime": ms(aftersale.created_at), "updateTime": ms(aftersale.updated_at),
            "endTime": ms(aftersale.updated_at) if aftersale.state != "requested" else 0,
            "receiptStatus": 2 if line.shipped else 1, "logisticsId": 0,
            "expireTime": 0, "negotiateUpdateTime": ms(aftersale.updated_at)}
