"""Query arguments as WordPress validates them, and the pagination headers it sends."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from math import ceil
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

from sandbox.woocommerce.errors import WooError, invalid_param
from sandbox.woocommerce.store import WooStore

T = TypeVar("T")
MAX_PER_PAGE = 100


def integer(request: Request, name: str, default: int, *, low: int = 1, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type") from None
    if high is not None and not low <= value <= high:
        raise invalid_param(name, f"{name} must be between {low} (inclusive) and {high} (inclusive)",
                            "rest_out_of_bounds")
    if value < low:
        raise invalid_param(name, f"{name} must be greater than or equal to {low}", "rest_out_of_bounds")
    return value


def choice(request: Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise invalid_param(name, f"{name} is not one of {', '.join(allowed)}.", "rest_not_in_enum")
    return value


def id_list(request: Request, name: str) -> list[int] | None:
    """A comma list or repeated `name[]` of integers, as WordPress accepts arrays in a query."""
    raw = request.query_params.getlist(f"{name}[]") or request.query_params.getlist(name)
    if not raw:
        return None
    try:
        return [int(part) for item in raw for part in item.split(",") if part.strip()]
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.", "rest_invalid_type") from None


def string_list(request: Request, name: str) -> list[str] | None:
    raw = request.query_params.getlist(f"{name}[]") or request.query_params.getlist(name)
    if not raw:
        return None
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def boolean(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false", ""):
        return False
    raise invalid_param(name, f"{name} is not of type boolean.", "rest_invalid_type")


def moment(request: Request, store: WooStore, name: str, *, gmt: bool) -> datetime | None:
    """An ISO 8601 date argument as UTC: site-local unless `gmt` or the value carries a zone."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    # An unescaped "+02:00" offset arrives as " 02:00" after query-string decoding.
    text = (raw.replace(" ", "+") if "T" in raw else raw).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise invalid_param(name, "Invalid date.", "rest_invalid_date") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if gmt:
        return parsed.replace(tzinfo=UTC)
    return (parsed - store.gmt_offset).replace(tzinfo=UTC)


async def body(request: Request) -> dict[str, Any]:
    """The JSON body; WordPress answers malformed JSON with `rest_invalid_json`."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400,
                       json_error_code=4, json_error_message=str(exc)) from None
    if not isinstance(data, dict):
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400,
                       json_error_code=4, json_error_message="Syntax error")
    return data


def paginate(request: Request, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """One page of `items` and the X-WP-Total / X-WP-TotalPages / Link headers."""
    per_page = integer(request, "per_page", 10, low=1, high=MAX_PER_PAGE)
    page = integer(request, "page", 1)
    total = len(items)
    pages = ceil(total / per_page) if total else 0
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    link = _links(request, page, pages)
    if link:
        headers["Link"] = link
    start = (page - 1) * per_page
    return list(items[start:start + per_page]), headers


def _links(request: Request, page: int, pages: int) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items()
             if k not in ("page", "consumer_key", "consumer_secret")]
    base = str(request.url.replace(query=""))
    parts = []
    if page > 1:
        prev = min(page - 1, pages) if pages else 1
        parts.append(f'<{base}?{urlencode([*query, ("page", str(prev))])}>; rel="prev"')
    if page < pages:
        parts.append(f'<{base}?{urlencode([*query, ("page", str(page + 1))])}>; rel="next"')
    return ", ".join(parts)

