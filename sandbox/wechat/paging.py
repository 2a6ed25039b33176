"""`next_key` paging: an opaque key after the last item returned, bound to the query it came from."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sandbox.wechat.errors import invalid

T = TypeVar("T")


def page(found: list[T], key: Callable[[T], tuple[int, int]], body: dict[str, Any], size: int
         ) -> tuple[list[T], str, bool]:
    """(chunk, next_key, has_more) of `found` in ascending `key` order after the body's `next_key`."""
    query = hashlib.sha256(json.dumps({k: v for k, v in sorted(body.items()) if k not in ("next_key", "page_size")},
                                      default=str).encode()).hexdigest()[:16]
    found.sort(key=key)
    next_key = str(body.get("next_key") or "")
    if next_key:
        try:
            position = json.loads(base64.urlsafe_b64decode(next_key.encode()))
            assert position["q"] == query
            after = (int(position["t"]), int(position["i"]))
        except Exception:
            raise invalid("next_key is invalid for this query; pass the next_key of the previous page unchanged") \
                from None
        found = [item for item in found if key(item) > after]
    chunk = found[:size]
    if not chunk:
        return [], next_key, False
    last = key(chunk[-1])
    token = base64.urlsafe_b64encode(json.dumps({"q": query, "t": last[0], "i": last[1]}).encode()).decode()
    return chunk, token, len(found) > size
