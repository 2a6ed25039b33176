"""GraphQL root fields of bulk query operations (`sandbox.shopify.bulk` does the work)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sandbox.shopify import bulk
from sandbox.shopify.resolvers import QUERY_FIELDS, Root, field_resolver, number, type_resolver
from sandbox.shopify.schema import admin_schema
from sandbox.shopify.views import Ctx, View


def run_query(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View:
    exporting = dataclasses.replace(ctx, bulk=True, search_warnings=[])
    execute = bulk.execute_in(admin_schema(), Root(ALL_QUERY_FIELDS), exporting, field_resolver, type_resolver)
    operation, errors = bulk.start(ctx.store.bulk, str(args["query"]), execute)
    return {"bulkOperation": bulk.view(operation, ctx.base_url), "userErrors": errors}


def bulk_operation(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View | None:
    return bulk.view(ctx.store.bulk.operations.get(number(args["id"], "BulkOperation")), ctx.base_url)


def current_bulk_operation(ctx: Ctx, args: dict[str, Any], info: Any = None) -> View | None:
    if (args.get("type") or "QUERY") != "QUERY":
        return None  # the simulator runs no bulk mutations
    return bulk.view(ctx.store.bulk.current(), ctx.base_url)


QUERIES = {"bulkOperation": bulk_operation, "currentBulkOperation": current_bulk_operation}
MUTATIONS = {"bulkOperationRunQuery": run_query}
ALL_QUERY_FIELDS = {**QUERY_FIELDS, **QUERIES}
