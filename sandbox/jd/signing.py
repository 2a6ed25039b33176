"""京东 JOS request signatures: `upper(md5(app_secret + Σ sorted(name + value) + app_secret))` over
every parameter sent except `sign` (the official example reproduces with this rule; it sends no
`format` or `sign_method`, and a parameter that is sent is signed)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def signing_string(params: Mapping[str, str]) -> str:
    return "".join(f"{name}{value}" for name, value in sorted(params.items()) if name != "sign")


def sign(params: Mapping[str, str], app_secret: str) -> str:
    return hashlib.md5((app_secret + signing_string(params) + app_secret).encode()).hexdigest().upper()
