"""The cost-aware GraphQL client for one Shopify account.

Before a request it reserves the document's expected cost from the account's `RateBudget`
(the last `requestedQueryCost` Shopify reported for that document, else a local estimate);
after it, it feeds `extensions.cost.throttleStatus` back with `settle()`. So the hub waits
before a request the bucket cannot cover instead of being answered THROTTLED.

Answers are classified before anything else: HTTP errors by `connectors.http.classify`,
`THROTTLED` as `RateLimited` (wait = deficit / restore rate), any other top-level `errors`
as `Rejected` carrying Shopify's message. Retries are `connectors.http.call`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import httpx
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, OperationType, parse
from graphql.language import FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from connectors.auth import HeaderToken
from connectors.budget import Budgets
from connectors.errors import ConnectorError, RateLimited, Rejected, Transient
from connectors.http import HttpPolicy, call, classify, make_client

MAX_QUERY_COST = 1000
MUTATION_COST = 10
# Every GraphQL Admin call draws on one cost bucket per shop (1,000 points, 50/s on standard plans;
# the shop's own figures replace these with the first answer's `throttleStatus`).
BUCKET = "graphql"


class GraphQLClient:
    """POSTs documents to `{base_url}/admin/api/{version}/graphql.json` with the access token."""

    def __init__(self, base_url: str, *, api_version: str, access_token: str, where: Callable[[str], str],
                 policy: HttpPolicy, budgets: Budgets, transport: httpx.BaseTransport | None = None) -> None:
        self.path = f"/admin/api/{api_version}/graphql.json"
        self.where, self.policy, self.budgets = where, policy, budgets
        self.budget = budgets(BUCKET)
        self.http = make_client(base_url, policy=policy, transport=transport,
                                headers={"Content-Type": "application/json"},
                                auth=HeaderToken("X-Shopify-Access-Token", access_token))
        self.requests = 0

    def close(self) -> None:
        self.http.close()

    def execute(self, document: str, variables: Mapping[str, Any] | None = None, *, what: str = "") -> dict[str, Any]:
        """Run one document (retrying transient failures) and return its `data`."""
        where = self.where(what)
        body = json.dumps({"query": document, "variables": dict(variables or {})})
        return call(lambda: self._attempt(document, body, variables or {}, where),
                    where=where, policy=self.policy, budgets=self.budgets, bucket=BUCKET)

    def _attempt(self, document: str, body: str, variables: Mapping[str, Any], where: str) -> dict[str, Any]:
        key = cost_key(document, variables)
        known = REQUESTED_COST.get(key)
        expected = known if known is not None else estimate_cost(document, variables) * ESTIMATE_MARGIN
        reserved = min(expected, MAX_QUERY_COST)
        self.budget.reserve(reserved)
        self.requests += 1
        payload: dict[str, Any] = {}
        try:
            response = self.http.post(self.path, content=body)
            classify(response, where, describe=describe_error)
            try:
                payload = response.json()
            except ValueError:
                raise Transient(where, f"Shopify answered HTTP {response.status_code} with a non-JSON body") from None
        finally:
            self._settle(key, reserved, payload)
        errors = payload.get("errors")
        if errors:
            raise graphql_error(errors, payload, where)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise Rejected(where, "Shopify answered without data")
        return data

    def _settle(self, key: str, reserved: float, payload: dict[str, Any]) -> None:
        """The request is answered (or failed): release its reservation with what Shopify reported.

        No GraphQL body (no answer, a 5xx, a refused connection) means nothing ran: the points come back.
        """
        cost = (payload.get("extensions") or {}).get("cost") or {}
        if isinstance(cost.get("requestedQueryCost"), int | float):
            REQUESTED_COST[key] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if status:
            self.budget.settle(reserved, available=float(status["currentlyAvailable"]),
                               maximum=float(status["maximumAvailable"]),
                               restore_rate=float(status["restoreRate"]))
        else:
            self.budget.settle(reserved, charged=bool(payload))

    def paginate(self, document: str, variables: Mapping[str, Any], path: tuple[str, ...], *,
                 what: str, after: str | None = None, grow_to: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield the nodes of the connection at `path`, page by page (Relay `after` cursors).

        With `grow_to`, each page after a full one asks for twice as many nodes (`first`), up to it.
        A cursor Shopify already returned is refused: looping forever is worse than failing.
        """
        seen: set[str] = {after} if after else set()
        variables = dict(variables)
        while True:
            data = self.execute(document, {**variables, "after": after}, what=what)
            connection = dig(data, path)
            if connection is None:
                return
            yield from connection.get("nodes") or []
            info = connection.get("pageInfo") or {}
            after = info.get("endCursor")
            if not info.get("hasNextPage") or not after:
                return
            if grow_to and int(variables.get("first") or 0) < grow_to:
                variables["first"] = min(2 * int(variables["first"]), grow_to)
            if after in seen:
                raise ConnectorError(self.where(what), f"Shopify returned the page cursor {after!r} twice; "
                                                       "stopped paginating to avoid a loop")
            seen.add(after)


# Shopify's requestedQueryCost by cost_key, for the whole process: every job builds a new
# connector, and a document costs the same for every order or product it is asked about.
REQUESTED_COST: dict[str, float] = {}
# A local estimate may miss Shopify's own rules by a little; reserve a little more until the
# first answer tells the real figure.
ESTIMATE_MARGIN = 1.15


def cost_key(document: str, variables: Mapping[str, Any]) -> str:
    """Documents cost the same for the same page sizes, whatever the other variables hold."""
    sizes = sorted((k, v) for k, v in variables.items() if isinstance(v, int) and not isinstance(v, bool))
    return f"{hash(document)}:{sizes}"


def dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def describe_error(response: httpx.Response) -> str:
    """Shopify's own message from an HTTP error answer, e.g. `[API] Invalid API key or access token`."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        errors = None
    if isinstance(errors, str):
        return f"HTTP {response.status_code}: {errors}"
    if isinstance(errors, list):
        return f"HTTP {response.status_code}: " + "; ".join(str(e.get("message", e)) for e in errors)
    return f"HTTP {response.status_code}"


def graphql_error(errors: list[dict[str, Any]], payload: dict[str, Any], where: str) -> ConnectorError:
    """THROTTLED → RateLimited with the wait the bucket needs; anything else → Rejected."""
    codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
    message = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    if "THROTTLED" in codes:
        return RateLimited(where, retry_after=throttle_wait(payload), message=f"THROTTLED: {message}")
    if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}:
        return Transient(where, message)
    return Rejected(where, f"Shopify refused the request: {message}")


def throttle_wait(payload: dict[str, Any]) -> float | None:
    """Seconds until the bucket holds the requested cost: deficit / restore rate."""
    cost = (payload.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        deficit = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(deficit, 0.0) / max(float(status["restoreRate"]), 0.001)
    except (KeyError, TypeError, ValueError):
        return None


def estimate_cost(document: str, variables: Mapping[str, Any]) -> float:
    """Shopify's requested cost of `document`, computed locally (no schema needed).

    Rules as Shopify states them: scalars 0, objects 1, a connection (a field with `first` or
    `last`) 2 + n x (1 + node), a list of objects like one object, each mutation root field 10.
    """
    operation, fragments = _parsed(document)
    if operation.operation is OperationType.MUTATION:
        return float(MUTATION_COST * len(operation.selection_set.selections))
    return float(_selection_cost(operation.selection_set, fragments, variables))


def fit_page(document: str, variables: Mapping[str, Any], *, wanted: int, key: str = "first") -> int:
    """The largest page size ≤ `wanted` whose requested cost stays under Shopify's 1,000 limit."""
    one = estimate_cost(document, {**variables, key: 1})
    per_item = estimate_cost(document, {**variables, key: 2}) - one
    if per_item <= 0:
        return wanted
    return max(1, min(wanted, int((MAX_QUERY_COST - one) // per_item) + 1))


@lru_cache(maxsize=64)
def _parsed(document: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    ast = parse(document)
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}
    return operations[0], fragments


def _selection_cost(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
                    variables: Mapping[str, Any]) -> int:
    total = 0
    for selection in (selection_set.selections if selection_set else ()):
        if isinstance(selection, FieldNode):
            total += _field_cost(selection, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            total += _selection_cost(fragments[selection.name.value].selection_set, fragments, variables)
        elif isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, fragments, variables)
    return total


def _field_cost(node: FieldNode, fragments: dict[str, FragmentDefinitionNode], variables: Mapping[str, Any]) -> int:
    if node.selection_set is None:
        return 0
    size = _page_argument(node, variables)
    if size is None:
        return 1 + _selection_cost(node.selection_set, fragments, variables)
    per_node = 0
    for child in node.selection_set.selections:
        if isinstance(child, FieldNode) and child.name.value == "nodes":
            per_node = max(per_node, _selection_cost(child.selection_set, fragments, variables))
        elif isinstance(child, FieldNode) and child.name.value == "edges" and child.selection_set:
            for grandchild in child.selection_set.selections:
                if isinstance(grandchild, FieldNode) and grandchild.name.value == "node":
                    per_node = max(per_node, _selection_cost(grandchild.selection_set, fragments, variables))
    return 2 + size * (1 + per_node)


def _page_argument(node: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            value: Any = argument.value
            if value.kind == "variable":
                return int(variables.get(value.name.value) or 0)
            return int(value.value)
    return None
