"""TOP request signatures, as the gateway checks them.

All parameters except `sign` (and empty values, which the official SDKs skip) are sorted by
name and concatenated as `name + value`. `md5` wraps that string in the app secret on both
sides; `hmac` and `hmac-sha256` key an HMAC with the secret instead. The digest is upper-case
hex. Byte (file) parameters never reach this gateway, so none are excluded for that reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def signing_string(params: Mapping[str, str]) -> str:
    return "".join(f"{name}{value}" for name, value in sorted(params.items()) if name != "sign" and value != "")


def sign(params: Mapping[str, str], secret: str, sign_method: str) -> str:
    """The signature TOP expects for `params`; a ValueError for an unknown `sign_method`."""
    text = signing_string(params).encode()
    key = secret.encode()
    if sign_method == "md5":
        return hashlib.md5(key + text + key).hexdigest().upper()
    if sign_method == "hmac":
        return hmac.new(key, text, hashlib.md5).hexdigest().upper()
    if sign_method == "hmac-sha256":
        return hmac.new(key, text, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown sign_method {sign_method!r}; TOP accepts {', '.join(SIGN_METHODS)}")
