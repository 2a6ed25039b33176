"""A 微信小店 (WeChat shop) API simulator: access tokens that expire, stock by add/subtract/set with a
per-SKU frequency limit, windowed order and after-sale lists with `next_key`, partial delivery,
masked receivers, and signed (by default encrypted) pushes with WeChat's retry schedule.

    with WechatSimulator() as wechat:
        wechat.seed(1)
        wechat.place_order([("MS-0001-1", 2)])

Stock is rolled back only for orders cancelled before payment; buyer orders here are paid, so a
cancel or refund never restocks the channel (the `restock` argument cannot change that).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any, ClassVar

import httpx
from starlette.applications import Starlette

from sandbox.interface import AccountSetup, SimulatorError
from sandbox.pushshop.pushes import PreparedPush
from sandbox.pushshop.shop import IdScheme, ShopEvent
from sandbox.pushshop.simulator import PushShopSimulator
from sandbox.wechat import gateway, pushes
from sandbox.wechat.tokens import TokenStore

__all__ = ["WechatSimulator"]


class WechatSimulator(PushShopSimulator):
    platform: ClassVar[str] = "wechat"
    ids: ClassVar[IdScheme] = IdScheme(product=10_000_000_000_001, sku=2_000_000_001,
                                       order=3_705_000_000_000_000_001, line=1, package=1,
                                       aftersale=2_000_001_075_000_001)
    retry_delays: ClassVar[tuple[float, ...]] = (0.0, 0.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 3600.0, 3600.0)
    push_timeout: ClassVar[float] = 5.0
    restock_paid_cancels: ClassVar[bool] = False
    default_options: ClassVar[dict[str, Any]] = {
        "token_ttl_seconds": 7200,
        "token_daily_quota": 2000,
        "api_per_minute": 1200,
        "api_daily_quota": 1_000_000,
        "sku_updates_per_second": 2,
        "aftersale_window_seconds": 86_400,
        "push_mode": "aes",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.tokens = TokenStore(self.clock, lambda: float(self.options["token_ttl_seconds"]))

    def make_credentials(self, entropy: str) -> dict[str, str]:
        aes_key = base64.b64encode(bytes.fromhex(entropy[:64])).decode().rstrip("=")
        return {"appid": "wx" + entropy[:16], "app_secret": entropy[16:48], "push_token": entropy[48:64],
                "encoding_aes_key": aes_key, "user_name": "gh_" + entropy[4:16]}

    @property
    def appid(self) -> str:
        return self.credentials["appid"]

    @property
    def app_secret(self) -> str:
        return self.credentials["app_secret"]

    @property
    def push_token(self) -> str:
        return self.credentials["push_token"]

    @property
    def encoding_aes_key(self) -> str:
        return self.credentials["encoding_aes_key"]

    @property
    def user_name(self) -> str:
        return self.credentials["user_name"]

    def open_id(self, who: str) -> str:
        return "o" + base64.urlsafe_b64encode(hashlib.sha256(f"{self.appid}:{who}".encode()).digest()[:20]).decode()

    def create_app(self) -> Starlette:
        return gateway.create_app(self)

    def account_setup(self) -> AccountSetup:
        return AccountSetup("wechat", {"base_url": self.url, "appid": self.appid,
                                       "push_mode": str(self.options["push_mode"])},
                            {"app_secret": self.app_secret, "push_token": self.push_token,
                             "encoding_aes_key": self.encoding_aes_key})

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (the next call answers 42001)."""
        self.tokens.expire_all()

    def set_push_url(self, url: str) -> bool:
        """The console verifies the URL first: a signed GET that must answer its `echostr`."""
        echo = secrets.token_hex(8)
        signed, _ = pushes.signed_url(self, url, {"echostr": echo})
        try:
            response = httpx.get(signed, timeout=self.push_timeout)
        except httpx.HTTPError as error:
            raise SimulatorError(f"wechat: the push URL {url} did not answer the check ({error})") from None
        if response.status_code != 200 or response.text.strip() != echo:
            raise SimulatorError(f"wechat: the push URL {url} answered the check with HTTP {response.status_code} "
                                 "instead of echoing `echostr`; the console refuses to save it")
        return super().set_push_url(url)

    def pushes_for(self, events: list[ShopEvent]) -> list[tuple[list[str], Any]]:
        found = []
        for event in events:
            payload = pushes.message(self, event)
            subject = (payload.get("order_info") or {}).get("order_id") or \
                payload["finder_shop_aftersale_status_update"]["after_sale_order_id"]
            found.append(([f"{payload['Event']}:{subject}:{payload['CreateTime']}"], payload))
        return found

    def prepare_push(self, payload: Any) -> PreparedPush:
        return pushes.prepare(self, payload)

    def push_accepted(self, response: httpx.Response) -> bool:
        return response.status_code == 200 and response.text.strip() in ("success", "")
