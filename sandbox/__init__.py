"""Local simulators of each platform's API, for the demo, the tests and the benchmarks.

`SIMULATORS` maps a platform name to its sandbox class ("module:Class"); each class takes
keyword options, has `start()`, `stop()`, `info()` (URL and credentials as JSON-safe data)
and the control plane described in `sandbox/README.md`.
"""

from __future__ import annotations

import importlib
from typing import Any

SIMULATORS: dict[str, str] = {
    "shopify": "sandbox.shopify:ShopifySandbox",
    "woocommerce": "sandbox.woocommerce:WooCommerceSandbox",
}


def simulator_class(platform: str) -> Any:
    """The sandbox class for `platform`, or a ValueError listing the known ones."""
    try:
        target = SIMULATORS[platform]
    except KeyError:
        raise ValueError(f"no simulator for platform {platform!r}; known: {', '.join(sorted(SIMULATORS))}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
