"""抖店 signing: the gateway's `sign` and the push's `event-sign`.

`sign` is the lower-case hex HMAC-SHA256, keyed by the app secret, of
`secret + "app_key" + app_key + "method" + method + "param_json" + param_json + "timestamp" + ts +
"v2" + secret`, where `param_json` is the business parameters as JSON with sorted keys, no spaces
and no HTML escaping. The gateway re-serialises the body it received that way before checking, so
a client that does not sort its keys fails. `event-sign` on a push is md5(app_key + body + secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def canonical_param_json(params: Any) -> str:
    """The business parameters as the gateway signs them."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(*, app_key: str, app_secret: str, method: str, timestamp: str, param_json: str) -> str:
    pattern = (f"{app_secret}app_key{app_key}method{method}param_json{param_json}"
               f"timestamp{timestamp}v2{app_secret}")
    return hmac.new(app_secret.encode(), pattern.encode(), hashlib.sha256).hexdigest()


def event_sign(*, app_key: str, app_secret: str, body: bytes) -> str:
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()
