"""Webhooks CRUD, `system_status` and `settings/general` (where a client reads the currency)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.woocommerce.context import Sim, path_id, require
from sandbox.woocommerce.errors import WooError, WPJSONResponse, invalid_id, missing_param
from sandbox.woocommerce.model import WEBHOOK_STATUSES, WEBHOOK_TOPICS, Webhook
from sandbox.woocommerce.params import body, boolean, choice, paginate
from sandbox.woocommerce.serialise import API, links, webhook_json

W = f"{API}/webhooks"


def _topic(value: Any) -> str:
    topic = str(value).strip().lower()
    if topic not in WEBHOOK_TOPICS:
        raise WooError("woocommerce_rest_webhook_invalid_topic", "Webhook topic must be valid.", 400)
    return topic


def _find(s: Sim, webhook_id: int, status: int = 404) -> Webhook:
    hook = s.store.webhook(webhook_id)
    if hook is None:
        raise invalid_id("webhook", status)
    return hook


async def list_webhooks(request: Request) -> Response:
    s = require(request, "list")
    wanted = choice(request, "status", "all", ("all", *WEBHOOK_STATUSES))
    with s.store.lock:
        hooks = sorted(s.store.webhooks.values(), key=lambda h: h.id, reverse=True)
        hooks = [h for h in hooks if wanted in ("all", h.status)]
        page, headers = paginate(request, hooks)
        return WPJSONResponse([webhook_json(s.store, h) for h in page], headers=headers)


async def create_webhook(request: Request) -> Response:
    s = require(request, "create")
    data = await body(request)
    missing = [name for name in ("topic", "delivery_url") if not data.get(name)]
    if missing:
        raise missing_param(", ".join(missing))
    topic = _topic(data["topic"])
    status = str(data.get("status", "active"))
    if status not in WEBHOOK_STATUSES:
        raise WooError("rest_invalid_param", "Invalid parameter(s): status", 400,
                       params={"status": f"status is not one of {', '.join(WEBHOOK_STATUSES)}."})
    with s.store.lock:
        hook = s.store.add_webhook(
            name=str(data.get("name") or f"Webhook created on {s.store.now():%b %d, %Y @ %I:%M %p}"),
            topic=topic, delivery_url=str(data["delivery_url"]),
            secret=str(data.get("secret") or secrets.token_urlsafe(36)), status=status)
        return WPJSONResponse(webhook_json(s.store, hook), status_code=201)


async def get_webhook(request: Request) -> Response:
    s = require(request, "view")
    with s.store.lock:
        return WPJSONResponse(webhook_json(s.store, _find(s, path_id(request))))


async def update_webhook(request: Request) -> Response:
    s = require(request, "edit")
    data = await body(request)
    with s.store.lock:
        hook = _find(s, path_id(request), status=400)
        if "topic" in data:
            hook.topic = _topic(data["topic"])
        if "status" in data:
            # WC_Webhook::set_status turns an unknown status into "disabled".
            hook.status = data["status"] if data["status"] in WEBHOOK_STATUSES else "disabled"
        for name in ("name", "delivery_url", "secret"):
            if data.get(name):
                setattr(hook, name, str(data[name]))
        hook.modified = s.store.now()
        return WPJSONResponse(webhook_json(s.store, hook))


async def delete_webhook(request: Request) -> Response:
    s = require(request, "delete")
    if not boolean(request, "force"):
        raise WooError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
    with s.store.lock:
        hook = _find(s, path_id(request))
        data = webhook_json(s.store, hook)
        del s.store.webhooks[hook.id]
        return WPJSONResponse(data)


# ---- store settings ------------------------------------------------------------------------
def _currency_setting(s: Sim) -> dict[str, Any]:
    path = f"{API}/settings/general/woocommerce_currency"
    return {
        "id": "woocommerce_currency", "label": "Currency",
        "description": "This controls what currency prices are listed at in the catalog and which "
                       "currency gateways will take payments in.",
        "type": "select", "default": "USD", "options": {s.store.currency: s.store.currency, "USD": "USD"},
        "tip": "This controls what currency prices are listed at in the catalog and which currency "
               "gateways will take payments in.",
        "value": s.store.currency, "group_id": "general",
        "_links": links(s.store, path, f"{API}/settings/general", f"{API}/settings"),
    }


async def settings_general(request: Request) -> Response:
    s = require(request, "list")
    with s.store.lock:
        return WPJSONResponse([_currency_setting(s)])


async def setting_general(request: Request) -> Response:
    s = require(request, "view")
    if request.path_params["setting"] != "woocommerce_currency":
        raise WooError("rest_setting_setting_invalid", "Invalid setting.", 404)
    with s.store.lock:
        return WPJSONResponse(_currency_setting(s))


async def system_status(request: Request) -> Response:
    s = require(request, "list")
    with s.store.lock:
        store = s.store
        return WPJSONResponse({
            "environment": {"home_url": store.base_url, "site_url": store.base_url, "version": "9.4.0",
                            "wp_version": "6.7.1", "wp_multisite": False, "language": "en_US"},
            "database": {"wc_database_version": "9.4.0"}, "active_plugins": _plugins(s),
            "settings": {"api_enabled": True, "force_ssl": False, "currency": store.currency,
                         "currency_symbol": store.currency, "currency_position": "right_space",
                         "thousand_separator": ".", "decimal_separator": ",", "number_of_decimals": 2,
                         "geolocation_enabled": False, "taxonomies": {}, "product_visibility_terms": {},
                         "woocommerce_com_connected": "no"},
            "security": {"secure_connection": False, "hide_errors": True},
            "pages": [], "post_type_counts": [{"type": "product", "count": len(store.parents())},
                                              {"type": "shop_order", "count": len(store.orders)}],
        })


def _plugins(s: Sim) -> list[dict[str, Any]]:
    plugins = [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": "9.4.0"}]
    if s.options.shipment_tracking:
        plugins.append({"plugin": "woocommerce-shipment-tracking/woocommerce-shipment-tracking.php",
                        "name": "WooCommerce Shipment Tracking", "version": "2.6.0"})
    return plugins


ROUTES = [
    Route(W, list_webhooks, methods=["GET"]),
    Route(W, create_webhook, methods=["POST"]),
    Route(W + "/{id:int}", get_webhook, methods=["GET"]),
    Route(W + "/{id:int}", update_webhook, methods=["PUT", "POST", "PATCH"]),
    Route(W + "/{id:int}", delete_webhook, methods=["DELETE"]),
    Route(f"{API}/settings/general", settings_general, methods=["GET"]),
    Route(API + "/settings/general/{setting}", setting_general, methods=["GET"]),
    Route(f"{API}/system_status", system_status, methods=["GET"]),
]
