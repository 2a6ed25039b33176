"""Shopify search syntax (the `query:` argument) and Relay cursor pagination.

Supported: `field:value`, `field:>value`, `>=`, `<`, `<=`, quoted values ('…' or "…"),
implicit AND, `OR` between groups, and `-field:value` / `NOT field:value`. A term on a field
the resource does not know is ignored and reported under `extensions.search`, as Shopify does.
Cursors are opaque base64 of the sort value and id of the last node on the page.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from graphql import GraphQLError

MAX_PAGE_SIZE = 250
TOKEN = re.compile(r"""(-?)([A-Za-z_][\w.]*):(>=|<=|>|<|=)?("[^"]*"|'[^']*'|\S+)|(\S+)""")


@dataclass(frozen=True)
class Term:
    field: str
    op: str
    value: str
    negate: bool = False


def parse(query: str | None) -> list[list[Term | str]]:
    """OR-groups of AND-terms; a bare word stays a string (free-text search)."""
    groups: list[list[Term | str]] = [[]]
    negate_next = False
    for match in TOKEN.finditer(query or ""):
        minus, field, op, value, word = match.groups()
        if word is not None:
            if word == "OR":
                groups.append([])
            elif word == "NOT":
                negate_next = True
            elif word != "AND":
                groups[-1].append(word.strip("'\""))
            continue
        groups[-1].append(Term(field.lower(), op or "=", value.strip("'\""), bool(minus) or negate_next))
        negate_next = False
    return [g for g in groups if g]


Getter = Callable[[Any], Any]


def _coerce(sample: Any, raw: str) -> Any:
    if isinstance(sample, datetime):
        text = raw.replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = datetime.combine(date.fromisoformat(raw[:10]), datetime.min.time())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(sample, bool):
        return raw.lower() == "true"
    if isinstance(sample, int):
        return int(raw.rsplit("/", 1)[-1])
    return raw.lower()


def _matches(term: Term, actual: Any) -> bool:
    values = actual if isinstance(actual, list | tuple | set) else [actual]
    hit = False
    for value in values:
        if value is None:
            continue
        try:
            wanted = _coerce(value, term.value)
        except ValueError:
            return False
        have = value.lower() if isinstance(value, str) else value
        if term.op == "=" and isinstance(have, str) and isinstance(wanted, str) and wanted.endswith("*"):
            hit = have.startswith(wanted[:-1])
        else:
            hit = {"=": have == wanted, ">": have > wanted, ">=": have >= wanted,
                   "<": have < wanted, "<=": have <= wanted}[term.op]
        if hit:
            break
    return hit != term.negate


def filter_records(records: Sequence[Any], query: str | None, fields: dict[str, Getter],
                   warnings: list[dict[str, Any]]) -> list[Any]:
    """The records matching `query`; unknown fields are ignored and noted in `warnings`."""
    groups = parse(query)
    if not groups:
        return list(records)
    for group in groups:
        for term in group:
            if isinstance(term, Term) and term.field not in fields:
                warnings.append({"field": term.field, "message": "Invalid search field for this query."})
    text_getter = fields.get("title")

    def keep(record: Any) -> bool:
        for group in groups:
            ok = True
            for term in group:
                if isinstance(term, str):
                    ok = text_getter is not None and term.lower() in str(text_getter(record)).lower()
                elif term.field in fields:
                    ok = _matches(term, fields[term.field](record))
                if not ok:
                    break
            if ok:
                return True
        return False

    return [r for r in records if keep(r)]


def encode_cursor(sort_value: Any, record_id: int) -> str:
    value = sort_value.isoformat() if isinstance(sort_value, datetime) else sort_value
    raw = json.dumps({"last_id": record_id, "last_value": value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return data["last_value"], int(data["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}",
                           extensions={"code": "BAD_REQUEST"}) from exc


def _sortable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value


def page(records: Sequence[Any], args: dict[str, Any], *, sort: Getter, record_id: Getter,
         node: Callable[[Any], Any]) -> dict[str, Any]:
    """A Relay connection over `records` for `first/after/last/before/reverse`."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
    for name, size in (("first", first), ("last", last)):
        if size is not None and (size > MAX_PAGE_SIZE or size < 0):
            raise GraphQLError(f"The value of argument '{name}' must be between 0 and {MAX_PAGE_SIZE}, "
                               f"got {size}.", extensions={"code": "BAD_REQUEST"})
    reverse = bool(args.get("reverse"))
    rows = sorted(((_sortable(sort(r)), record_id(r), r) for r in records), key=_row_key)
    keys = [(value, number) for value, number, _ in rows]  # ascending; bisected for cursors
    if reverse:
        rows.reverse()
    start, end = 0, len(rows)
    if args.get("after"):
        start = _position_after(keys, decode_cursor(args["after"]), reverse)
    if args.get("before"):
        end = max(start, _position_after(keys, decode_cursor(args["before"]), reverse, inclusive=True))
    window = rows[start:end]
    chosen, has_next, has_previous = window, end < len(rows), start > 0
    if first is not None:
        chosen = window[:first]
        has_next = has_next or len(window) > first
    if last is not None:
        trimmed = chosen[-last:] if last else []
        has_previous = has_previous or len(trimmed) < len(chosen)
        chosen = trimmed
    edges = [{"cursor": encode_cursor(v, i), "node": node(r)} for v, i, r in chosen]
    return {
        "edges": edges,
        "nodes": [e["node"] for e in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def everything(records: Sequence[Any], args: dict[str, Any], *, sort: Getter, record_id: Getter,
               node: Callable[[Any], Any]) -> dict[str, Any]:
    """A connection of every record in order, whatever `first`/`after` say (a bulk query)."""
    rows = sorted(((_sortable(sort(r)), record_id(r), r) for r in records), key=_row_key,
                  reverse=bool(args.get("reverse")))
    nodes = [node(r) for _, _, r in rows]
    return {"edges": [{"cursor": "", "node": n} for n in nodes], "nodes": nodes,
            "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}}


def _row_key(row: tuple[Any, int, Any]) -> tuple[Any, int]:
    return row[0], row[1]


def _position_after(keys: list[tuple[Any, int]], cursor: tuple[Any, int], reverse: bool,
                    inclusive: bool = False) -> int:
    """Index in the page order (ascending `keys`, or descending with `reverse`) of the first row
    strictly past `cursor` (or at it, with `inclusive`): a binary search, so paging through N
    records costs O(N log N) per page at most in sorting, not a scan per cursor."""
    mark = (_sortable(cursor[0]), cursor[1])
    try:
        if not reverse:
            return (bisect.bisect_left if inclusive else bisect.bisect_right)(keys, mark)
        return len(keys) - (bisect.bisect_right if inclusive else bisect.bisect_left)(keys, mark)
    except TypeError:
        raise GraphQLError("Invalid cursor for current pagination sort", extensions={"code": "BAD_REQUEST"}) from None
