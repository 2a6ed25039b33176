"""WooCommerce's documented REST v3 response examples, shipped with the simulator as package data.

They are the reference the simulator's response shapes and the connector's normalisation are
tested against; `documented_examples/README.md` names their source and licence.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any


def _folder() -> Traversable:
    return resources.files("sandbox.woocommerce").joinpath("documented_examples")


def documented_example_names() -> set[str]:
    """The file names of every shipped example (`product_retrieve.json`, ...)."""
    return {entry.name for entry in _folder().iterdir() if entry.name.endswith(".json")}


def documented_example(name: str) -> Any:
    """One example, parsed; a name that is not shipped raises FileNotFoundError naming it."""
    entry = _folder().joinpath(name)
    if not entry.is_file():
        raise FileNotFoundError(f"no documented WooCommerce example {name!r}; "
                                f"shipped: {', '.join(sorted(documented_example_names()))}")
    return json.loads(entry.read_text(encoding="utf-8"))
