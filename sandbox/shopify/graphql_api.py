"""`POST /admin/api/{version}/graphql.json`: authenticate, validate against the published
schema, price the document, take the cost from the bucket, execute, refund the unused cost.

Answers are HTTP 200 whatever GraphQL says (validation errors, THROTTLED, MAX_COST_EXCEEDED),
as Shopify's are; only a missing or wrong token is a 401 and an unreadable body a 400.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    OperationType,
    execute_sync,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.shopify import bulk_fields
from sandbox.shopify.cost import MAX_QUERY_COST, CostCalculator
from sandbox.shopify.mutations import MUTATION_FIELDS
from sandbox.shopify.resolvers import Root, field_resolver, type_resolver
from sandbox.shopify.schema import admin_schema, checked_document, shopify_error
from sandbox.shopify.shop import AUTH_ERROR, ShopRuntime
from sandbox.shopify.views import Ctx

QUERY_ROOT, MUTATION_ROOT = Root(bulk_fields.ALL_QUERY_FIELDS), Root({**MUTATION_FIELDS, **bulk_fields.MUTATIONS})


def respond(shop: ShopRuntime, body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": str(uuid.uuid4()),
                                                           "X-Shopify-API-Version": shop.api_version})


def _cost(shop: ShopRuntime, requested: int, actual: int | None) -> dict[str, Any]:
    return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": shop.bucket.status()}


async def read_request(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/graphql"):
        return {"query": raw.decode()}
    data = json.loads(raw or b"{}")
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


async def graphql_endpoint(request: Request) -> JSONResponse:
    shop: ShopRuntime = request.app.state.shop
    if not shop.authorised(request.headers):
        return respond(shop, AUTH_ERROR, 401)
    try:
        payload = await read_request(request)
    except (ValueError, UnicodeDecodeError):
        return respond(shop, {"errors": "Bad Request: the body must be JSON with a 'query'"}, 400)
    # executed off the event loop: the store lock serialises documents, not the server
    body = await run_in_threadpool(run, shop, str(payload.get("query") or ""), payload.get("variables") or {},
                                   payload.get("operationName"))
    return respond(shop, body)


def _error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def run(shop: ShopRuntime, query: str, variables: dict[str, Any], operation_name: str | None) -> dict[str, Any]:
    """The whole GraphQL answer for one document (what the HTTP body carries)."""
    if not query.strip():
        return {"errors": [_error("No query string was present", "BAD_REQUEST")]}
    document, errors = checked_document(query)
    if document is None:
        return {"errors": errors}
    schema = admin_schema()
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return {"errors": [_error("An operation name is required when the document has several operations",
                                  "BAD_REQUEST")]}
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return {"errors": [shopify_error(e, "INVALID_VARIABLE") for e in coerced]}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    calculator = CostCalculator(schema, operation, fragments, coerced)
    requested = calculator.requested()
    if requested > MAX_QUERY_COST:
        message = (f"Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST})."
                   "\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
                   "cost of a query is calculated.")
        return {"errors": [_error(message, "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_QUERY_COST)],
                "extensions": {"cost": _cost(shop, requested, None)}}
    if not shop.bucket.take(requested):
        shop.count_throttled("graphql", operation.name.value if operation.name else "(anonymous)")
        return {"errors": [_error("Throttled", "THROTTLED",
                                  documentation="https://shopify.dev/api/usage/rate-limits")],
                "extensions": {"cost": _cost(shop, requested, None)}}
    ctx = Ctx(shop.store, shop.shop_domain, shop.api_version, shop.access_scopes, base_url=shop.public_url)
    mutation = operation.operation == OperationType.MUTATION
    with shop.store.lock:
        result = execute_sync(schema, document, root_value=MUTATION_ROOT if mutation else QUERY_ROOT,
                         context_value=ctx, variable_values=variables, operation_name=operation_name,
                         field_resolver=field_resolver, type_resolver=type_resolver)
    actual = calculator.actual(result.data)
    shop.bucket.give_back(max(0, requested - actual))
    shop.count_operation(operation.name.value if operation.name else "(anonymous)", requested, actual)
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_execution_error(e) for e in result.errors]
    body["data"] = result.data
    body["extensions"] = {"cost": _cost(shop, requested, actual)}
    if ctx.search_warnings:
        body["extensions"]["search"] = ctx.search_warnings
    return body


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    shaped = error.formatted
    extensions = dict(shaped.get("extensions") or {})
    extensions.setdefault("code", "INTERNAL_SERVER_ERROR" if error.original_error and not isinstance(
        error.original_error, GraphQLError) else "BAD_REQUEST")
    shaped["extensions"] = extensions
    return dict(shaped)
