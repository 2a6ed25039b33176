"""A 抖店 (Douyin shop) open-platform simulator: signed gateway, stock, orders, after-sales, pushes.

    with DouyinSimulator() as douyin:
        douyin.seed(1)
        douyin.place_order([("MS-0001-1", 2)])

The gateway signs as the platform does (`sandbox.douyin.signing`), answers in the
`{log_id, code, msg, sub_code, sub_msg, data}` envelope and keeps the documented limits; pushes
go to the URL set with `set_push_url`, signed with `event-sign`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette

from sandbox.douyin import gateway, pushes
from sandbox.interface import AccountSetup
from sandbox.pushshop.privacy import ReceiverCipher
from sandbox.pushshop.pushes import PreparedPush
from sandbox.pushshop.shop import IdScheme, ShopEvent
from sandbox.pushshop.simulator import PushShopSimulator

__all__ = ["DouyinSimulator"]


class DouyinSimulator(PushShopSimulator):
    platform: ClassVar[str] = "douyin"
    ids: ClassVar[IdScheme] = IdScheme(product=3_500_000_000_000_000_001, sku=1_750_000_000_001,
                                       order=6_930_000_000_000_000_001, line=6_930_000_000_500_000_001,
                                       package=1, aftersale=7_100_000_000_000_000_001)
    retry_delays: ClassVar[tuple[float, ...]] = (30.0, 300.0, 1800.0)
    push_timeout: ClassVar[float] = 3.0
    default_options: ClassVar[dict[str, Any]] = {
        "timestamp_tolerance_seconds": 600,
        "api_qps": 100,
        "order_window_seconds": 7 * 86400,
    }

    def __init__(self, **options: Any) -> None:
        self.idempotent_ids: set[str] = set()
        self.pack_requests: dict[str, str] = {}
        super().__init__(**options)
        self.cipher = ReceiverCipher(self.app_secret, prefix="#", suffix="#")

    def make_credentials(self, entropy: str) -> dict[str, str]:
        return {"app_key": "7" + str(int(entropy[:16], 16))[-18:].zfill(18), "app_secret": entropy[16:52],
                "access_token": "dy_" + entropy[52:64], "shop_id": str(int(entropy[:8], 16) % 90_000_000 + 10_000_000)}

    @property
    def app_key(self) -> str:
        return self.credentials["app_key"]

    @property
    def app_secret(self) -> str:
        return self.credentials["app_secret"]

    @property
    def access_token(self) -> str:
        return self.credentials["access_token"]

    @property
    def shop_id(self) -> str:
        return self.credentials["shop_id"]

    def create_app(self) -> Starlette:
        return gateway.create_app(self)

    def account_setup(self) -> AccountSetup:
        return AccountSetup("douyin", {"base_url": self.url, "app_key": self.app_key, "shop_id": self.shop_id},
                            {"app_secret": self.app_secret, "access_token": self.access_token})

    def on_seed(self) -> None:
        self.idempotent_ids.clear()
        self.pack_requests.clear()

    def pushes_for(self, events: list[ShopEvent]) -> list[tuple[list[str], Any]]:
        batch = pushes.messages(self, events)
        return [([m["msg_id"] for m in batch], batch)] if batch else []

    def prepare_push(self, payload: Any) -> PreparedPush:
        return pushes.prepare(self, payload)

    def push_accepted(self, response: httpx.Response) -> bool:
        try:
            return response.status_code == 200 and response.json().get("code") == 0
        except ValueError:
            return False
