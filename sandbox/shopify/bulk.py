"""Bulk query operations: `bulkOperationRunQuery`, `bulkOperation(id:)`, `currentBulkOperation`,
and the JSONL result file, as Shopify documents them (Admin API, "Perform bulk operations").

- One bulk query operation runs at a time per shop; starting another answers the userError
  `OPERATION_IN_PROGRESS`.
- The query must select at least one connection, at most five, nested at most two levels deep,
  and a node whose nested connection is exported must select `id`; otherwise the userError is
  `INVALID`. Connection arguments such as `first` are not needed: every node is exported.
- The operation goes CREATED → RUNNING → COMPLETED in the background. The file has one JSON
  object per line, one per node of each connection; a node of a nested connection is written
  after its parent with `__parentId` (the parent's id) and is left out of the parent's line.
  `url` is where the file is downloaded (Shopify: a signed storage URL that needs no token; the
  simulator: `/_bulk/<id>.jsonl` on its own server). A query that fails while running ends
  FAILED with `errorCode` INTERNAL_SERVER_ERROR. An operation that exported nothing has no `url`.
- The mutation costs what its selection costs (Shopify charges bulk queries nothing beyond it).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    execute_sync,
    get_named_type,
    get_operation_ast,
)
from starlette.requests import Request
from starlette.responses import Response

from sandbox.shopify.model import gid, iso, now, parse_gid
from sandbox.shopify.schema import admin_schema, checked_document

MAX_CONNECTIONS = 5
MAX_DEPTH = 2


@dataclass
class BulkOperation:
    id: int
    query: str
    created_at: datetime
    status: str = "CREATED"
    completed_at: datetime | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    content: bytes = b""


@dataclass
class BulkOperations:
    """A shop's bulk operations (kept for the simulator's life; Shopify keeps files 7 days)."""

    operations: dict[int, BulkOperation] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 1

    def running(self) -> BulkOperation | None:
        with self.lock:
            return next((op for op in self.operations.values() if op.status in ("CREATED", "RUNNING")), None)

    def create(self, query: str) -> BulkOperation:
        with self.lock:
            operation = BulkOperation(self._next, query, now())
            self.operations[operation.id] = operation
            self._next += 1
            return operation

    def current(self) -> BulkOperation | None:
        with self.lock:
            return self.operations[max(self.operations)] if self.operations else None


def _connections(schema: GraphQLSchema, selections: SelectionSetNode | None, parent: Any, depth: int,
                 found: list[tuple[str, int, bool]]) -> None:
    """(field, nesting depth, whether its node selects id) for every connection in the selection."""
    if selections is None or not isinstance(parent, GraphQLObjectType):
        return
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            _connections(schema, selection.selection_set, condition, depth, found)
            continue
        if not isinstance(selection, FieldNode) or selection.name.value not in parent.fields:
            continue
        kind = get_named_type(parent.fields[selection.name.value].type)
        if kind.name.endswith("Connection") and isinstance(kind, GraphQLObjectType):
            node_type = get_named_type(kind.fields["nodes"].type) if "nodes" in kind.fields else None
            for part in (selection.selection_set.selections if selection.selection_set else []):
                if isinstance(part, FieldNode) and part.name.value in ("nodes", "edges"):
                    inner = part.selection_set
                    if part.name.value == "edges" and inner is not None:
                        inner = next((p.selection_set for p in inner.selections
                                      if isinstance(p, FieldNode) and p.name.value == "node"), None)
                    selects_id = inner is not None and any(
                        isinstance(p, FieldNode) and p.name.value == "id" for p in inner.selections)
                    found.append((selection.name.value, depth + 1, selects_id))
                    _connections(schema, inner, node_type, depth + 1, found)
        else:
            _connections(schema, selection.selection_set, kind, depth, found)


def problem(query: str) -> str | None:
    """Why Shopify would refuse `query` as a bulk query, or None."""
    document, errors = checked_document(query)
    if document is None:
        return "; ".join(str(e.get("message")) for e in errors) or "Invalid bulk query"
    operation = get_operation_ast(document)
    if operation is None or operation.operation != OperationType.QUERY:
        return "Bulk queries must be a single query operation"
    schema = admin_schema()
    found: list[tuple[str, int, bool]] = []
    _connections(schema, operation.selection_set, schema.query_type, 0, found)
    if not found:
        return "Bulk queries must contain at least one connection."
    if len(found) > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    if any(depth > MAX_DEPTH for _, depth, _ in found):
        return f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
    if any(not selects_id for _, depth, selects_id in found if depth < max(d for _, d, _ in found)):
        return "The parent 'node' field for a nested connection must select the 'id' field."
    return None


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"edges", "nodes", "pageInfo"} and \
        isinstance(value.get("edges", value.get("nodes")), list)


def _nodes(connection: dict[str, Any]) -> list[Any]:
    if "nodes" in connection:
        return list(connection["nodes"] or [])
    return [edge["node"] for edge in connection.get("edges") or []]


def lines(data: Any, parent_id: str | None = None) -> Any:
    """JSONL objects of a result: each connection node, nested ones after their parent."""
    if _is_connection(data):
        for node in _nodes(data):
            children = [v for v in node.values() if _is_connection(v)] if isinstance(node, dict) else []
            line = {k: v for k, v in node.items() if not _is_connection(v)} if isinstance(node, dict) else node
            if parent_id is not None:
                line["__parentId"] = parent_id
            yield line
            for child in children:
                yield from lines(child, node.get("id"))
    elif isinstance(data, dict):
        for value in data.values():
            yield from lines(value, parent_id)


def run(operation: BulkOperation, execute: Any) -> None:
    """Execute the operation's query (`execute(document)` → data) and write its file."""
    operation.status = "RUNNING"
    try:
        document, _ = checked_document(operation.query)
        data = execute(document)
        roots = 0
        out: list[bytes] = []
        for line in lines(data):
            roots += "__parentId" not in line
            out.append(json.dumps(line, separators=(",", ":")).encode())
        operation.content = b"\n".join(out) + (b"\n" if out else b"")
        operation.object_count, operation.root_object_count = len(out), roots
        operation.status = "COMPLETED"
    except Exception:
        operation.status, operation.error_code = "FAILED", "INTERNAL_SERVER_ERROR"
    operation.completed_at = now()


def start(operations: BulkOperations, query: str, execute: Any) -> tuple[BulkOperation | None, list[dict[str, Any]]]:
    """(the new operation, userErrors) for `bulkOperationRunQuery(query:)`."""
    if operations.running() is not None:
        return None, [{"field": None, "message": "A bulk query operation for this app and shop is already in "
                       "progress.", "code": "OPERATION_IN_PROGRESS"}]
    refused = problem(query)
    if refused:
        return None, [{"field": ["query"], "message": refused, "code": "INVALID"}]
    operation = operations.create(query)
    threading.Thread(target=run, args=(operation, execute), name=f"bulk-{operation.id}", daemon=True).start()
    return operation, []


def view(operation: BulkOperation | None, base_url: str) -> dict[str, Any] | None:
    if operation is None:
        return None
    done = operation.status == "COMPLETED"
    return {"__typename": "BulkOperation", "id": gid("BulkOperation", operation.id), "status": operation.status,
            "errorCode": operation.error_code, "createdAt": iso(operation.created_at),
            "completedAt": iso(operation.completed_at) if operation.completed_at else None,
            "objectCount": str(operation.object_count), "rootObjectCount": str(operation.root_object_count),
            "fileSize": str(len(operation.content)) if done and operation.content else None,
            "url": f"{base_url}/_bulk/{operation.id}.jsonl" if done and operation.content else None,
            "partialDataUrl": None, "query": operation.query, "type": "QUERY"}


def execute_in(schema: GraphQLSchema, root: Any, context: Any, field_resolver: Any, type_resolver: Any) -> Any:
    """An `execute(document)` for `run`. It does not take the store's lock: a large export takes a
    while, and Shopify goes on answering every other request meanwhile (the export is no snapshot:
    a change made while it runs may or may not be in the file)."""
    def execute(document: Any) -> Any:
        result = execute_sync(schema, document, root_value=root, context_value=context,
                              field_resolver=field_resolver, type_resolver=type_resolver)
        if result.errors:
            raise RuntimeError(str(result.errors[0]))
        return result.data
    return execute


async def download(request: Request) -> Response:
    """`GET /_bulk/<id>.jsonl`: the result file of a completed operation."""
    operations: BulkOperations = request.app.state.shop.store.bulk
    number = parse_gid(f"gid://shopify/BulkOperation/{request.path_params['name'].removesuffix('.jsonl')}",
                       "BulkOperation")
    operation = operations.operations.get(number or 0)
    if operation is None or operation.status != "COMPLETED":
        return Response("<Error><Code>NoSuchKey</Code></Error>", status_code=404, media_type="application/xml")
    return Response(operation.content, media_type="application/jsonl")
