"""拼多多 request signatures: `upper(md5(client_secret + Σ sorted(name + value) + client_secret))`
over every parameter except `sign` (the official example reproduces with this rule)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def signing_string(params: Mapping[str, str]) -> str:
    return "".join(f"{name}{value}" for name, value in sorted(params.items()) if name != "sign")


def sign(params: Mapping[str, str], client_secret: str) -> str:
    text = client_secret + signing_string(params) + client_secret
    return hashlib.md5(text.encode()).hexdigest().upper()
