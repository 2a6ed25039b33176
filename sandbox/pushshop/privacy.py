"""Receiver data as these platforms hand it out: masked for display, encrypted for the carrier.

The simulators invent a plausible receiver for every order (deterministic from the buyer), then
only ever show it masked (`张*`, `138****1234`) or as ciphertext that only the simulator could
open. They offer no decrypt call: a connector that works against them never needs the plain text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰")
PLACES = (("广东省", "广州市", "海珠区", "江海街道"), ("浙江省", "杭州市", "西湖区", "北山街道"),
          ("四川省", "成都市", "武侯区", "玉林街道"), ("江苏省", "南京市", "鼓楼区", "湖南路街道"))


@dataclass(frozen=True)
class Receiver:
    name: str
    phone: str
    province: str
    city: str
    district: str
    street: str
    detail: str


def fake_receiver(buyer: str, order_id: int) -> Receiver:
    """A made-up receiver for `buyer` (the same buyer always gets the same one)."""
    digest = hashlib.sha256(buyer.encode()).digest()
    province, city, district, street = PLACES[digest[0] % len(PLACES)]
    phone = "13" + str(int.from_bytes(digest[1:6], "big") % 10**9).zfill(9)
    name = SURNAMES[digest[6] % len(SURNAMES)] + GIVEN[digest[7] % len(GIVEN)]
    detail = f"幸福路{digest[8] % 200 + 1}号{digest[9] % 30 + 1}栋{digest[10] % 20 + 1}01"
    return Receiver(name, phone, province, city, district, street, detail)


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def mask_detail(detail: str) -> str:
    return detail[:3] + "****"


class ReceiverCipher:
    """Deterministic AES-GCM ciphertext of receiver fields under a key the simulator keeps."""

    def __init__(self, secret: str, *, prefix: str = "", suffix: str = "") -> None:
        self._key = hashlib.sha256(("receiver:" + secret).encode()).digest()
        self._aead = AESGCM(self._key)
        self.prefix, self.suffix = prefix, suffix

    def encrypt(self, text: str) -> str:
        nonce = hmac.new(self._key, text.encode(), hashlib.sha256).digest()[:12]
        sealed = nonce + self._aead.encrypt(nonce, text.encode(), None)
        return self.prefix + base64.b64encode(sealed).decode() + self.suffix

    def decrypt(self, token: str) -> str:
        """Only the simulator's own tests use this: no platform API hands the plain text out."""
        raw = base64.b64decode(token.removeprefix(self.prefix).removesuffix(self.suffix))
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()
