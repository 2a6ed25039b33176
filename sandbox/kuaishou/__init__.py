"""A 快手小店 (Kuaishou shop) open-platform simulator: signed gateway, delta-only stock, cursor lists,
encrypted pushes that are at least once (duplicated, sometimes lost).

    with KuaishouSimulator() as kuaishou:
        kuaishou.seed(1)
        kuaishou.place_order([("MS-0001-1", 2)])

A Kuaishou order carries one SKU: a buyer order with several lines is refused here (the platform
splits a cart into one order per item).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette

from sandbox.interface import AccountSetup, PlacedOrder, SimulatorError
from sandbox.kuaishou import gateway, pushes
from sandbox.pushshop.privacy import ReceiverCipher
from sandbox.pushshop.pushes import PreparedPush
from sandbox.pushshop.shop import IdScheme, ShopEvent
from sandbox.pushshop.simulator import PushShopSimulator

__all__ = ["KuaishouSimulator"]


class KuaishouSimulator(PushShopSimulator):
    platform: ClassVar[str] = "kuaishou"
    ids: ClassVar[IdScheme] = IdScheme(product=21_000_000_001, sku=3_000_000_001, order=2_607_600_000_000_001,
                                       line=1_000_000_001, package=1, aftersale=2_100_000_000_000_001)
    retry_delays: ClassVar[tuple[float, ...]] = (300.0, 600.0, 1200.0, 1800.0, 3600.0)
    push_timeout: ClassVar[float] = 3.0
    default_options: ClassVar[dict[str, Any]] = {
        "timestamp_tolerance_seconds": 600,
        "api_qps": {"open.order.cursor.list": 300, "open.order.decrypt.batch": 100, "*": 100},
        "daily_quota": 5_000_000,
        "refund_window_seconds": 86_400,
    }
    push_faults: ClassVar[dict[str, float]] = {"push_duplicate_rate": 0.02, "push_loss_rate": 0.01}

    def __init__(self, **options: Any) -> None:
        super().__init__(**{**self.push_faults, **options})
        self.cipher = ReceiverCipher(self.sign_secret)

    def make_credentials(self, entropy: str) -> dict[str, str]:
        key = base64.b64encode(bytes.fromhex(entropy[32:64])).decode()
        return {"app_key": "ks" + str(int(entropy[:15], 16)).zfill(18)[-18:], "sign_secret": entropy[15:47],
                "access_token": "ChFvYXV0aC5hY2Nlc3NUb2tlbh" + entropy[47:64], "message_key": key,
                "seller_id": str(int(entropy[:7], 16) % 9_000_000_000 + 1_000_000_000)}

    @property
    def app_key(self) -> str:
        return self.credentials["app_key"]

    @property
    def sign_secret(self) -> str:
        return self.credentials["sign_secret"]

    @property
    def access_token(self) -> str:
        return self.credentials["access_token"]

    @property
    def message_key(self) -> str:
        return self.credentials["message_key"]

    @property
    def seller_id(self) -> int:
        return int(self.credentials["seller_id"])

    @property
    def seller_open_id(self) -> str:
        return self.open_id(f"seller:{self.seller_id}")

    def open_id(self, who: str) -> str:
        return hashlib.md5(f"{self.app_key}:{who}".encode()).hexdigest()

    def create_app(self) -> Starlette:
        return gateway.create_app(self)

    def account_setup(self) -> AccountSetup:
        return AccountSetup("kuaishou", {"base_url": self.url, "app_key": self.app_key,
                                         "seller_id": str(self.seller_id)},
                            {"sign_secret": self.sign_secret, "access_token": self.access_token,
                             "message_key": self.message_key})

    def place_order(self, lines: Sequence[tuple[str, int]], *, buyer: str | None = None,
                    at: float | None = None) -> PlacedOrder:
        if len(lines) != 1:
            raise SimulatorError(f"a Kuaishou order carries exactly one SKU; got {len(lines)} lines "
                                 "(place one order per line)")
        return super().place_order(lines, buyer=buyer, at=at)

    def set_push_url(self, url: str) -> bool:
        """The console sends {"test": true} first and keeps the URL only when it is acknowledged."""
        body = pushes.encrypt_message(b'{"test":true}', self.message_key)
        try:
            response = httpx.post(url, content=body, headers={"Content-Type": "text/plain;charset=utf-8"},
                                  timeout=self.push_timeout)
        except httpx.HTTPError as error:
            raise SimulatorError(f"kuaishou: the push URL {url} did not answer the test message ({error})") from None
        if not self.push_accepted(response):
            raise SimulatorError(f'kuaishou: the push URL {url} answered the test message with HTTP '
                                 f'{response.status_code}, not {{"result": 1}}; the console refuses to save it')
        return super().set_push_url(url)

    def pushes_for(self, events: list[ShopEvent]) -> list[tuple[list[str], Any]]:
        found = []
        for event in events:
            payload = pushes.message(self, event)
            found.append(([payload["eventId"]], payload))
        return found

    def prepare_push(self, payload: Any) -> PreparedPush:
        return pushes.prepare(self, payload)

    def push_accepted(self, response: httpx.Response) -> bool:
        try:
            return response.status_code == 200 and response.json().get("result") == 1
        except ValueError:
            return False
