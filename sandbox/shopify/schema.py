"""Shopify's published Admin schema (2026-04): loaded, built once per process, and used to
parse and validate every document the simulator receives.

The SDL ships inside this package (`data/admin-2026-04.graphql.gz`, description strings stripped
but for the mutations' idempotency requirement;
see `data/README.md` for its source and licence). `MARKETSYNC_SHOPIFY_SCHEMA` may name another SDL
file (plain or `.gz`) instead. Validation errors are reported the way Shopify words the common ones.
"""

from __future__ import annotations

import gc
import gzip
import os
import re
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, parse, validate

PACKAGED_SCHEMA = "admin-2026-04.graphql.gz"
_lock = threading.Lock()
_schema: GraphQLSchema | None = None
_documents: OrderedDict[str, tuple[DocumentNode | None, list[dict[str, Any]]]] = OrderedDict()
_DOCUMENT_CACHE_SIZE = 512


def schema_text() -> str:
    """The SDL: the file `MARKETSYNC_SHOPIFY_SCHEMA` names, else the copy packaged with the simulator."""
    configured = os.environ.get("MARKETSYNC_SHOPIFY_SCHEMA")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FileNotFoundError(f"MARKETSYNC_SHOPIFY_SCHEMA={configured} is not a file; "
                                    "unset it to use the schema packaged with marketsync")
        raw = path.read_bytes()
    else:
        raw = resources.files("sandbox.shopify").joinpath("data", PACKAGED_SCHEMA).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def admin_schema() -> GraphQLSchema:
    """The built schema; the first call takes a few seconds, later calls are free."""
    global _schema
    with _lock:
        if _schema is None:
            _schema = build_schema(schema_text(), assume_valid=True)
            # The built schema is a few hundred thousand long-lived objects; left to the collector, every
            # full collection walks them all (about 0.5-0.8 s on a shared 2-core machine, in the middle of
            # a request). Frozen, they are never scanned again.
            gc.freeze()
        return _schema


# graphql-core message -> (Shopify's wording, extensions.code); Shopify speaks graphql-ruby.
_REWRITES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"Cannot query field '(\w+)' on type '(\w+)'\..*"), "Field '{0}' doesn't exist on type '{1}'",
     "undefinedField"),
    (re.compile(r"Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\..*"),
     "Field '{2}' doesn't accept argument '{0}'", "argumentNotAccepted"),
    (re.compile(r"Field '(\w+)' argument '(\w+)' of type '([^']+)' is required, but it was not provided\."),
     "Field '{0}' is missing required arguments: {1}", "missingRequiredArguments"),
    (re.compile(r"Unknown type '(\w+)'\..*"), "No such type {0}, so it can't be a fragment condition",
     "undefinedType"),
    (re.compile(r"Variable '\$(\w+)' is never used.*"), "Variable ${0} is declared by anonymous query but not used",
     "variableNotUsed"),
    (re.compile(r"Field '(\w+)' of type '([^']+)' must have a selection of subfields.*"),
     "Field must have selections ({1} returned by {0})", "selectionMismatch"),
]


def shopify_error(error: GraphQLError, default_code: str) -> dict[str, Any]:
    message, code = error.message, default_code
    for pattern, template, rewrite_code in _REWRITES:
        match = pattern.fullmatch(error.message)
        if match:
            message, code = template.format(*match.groups()), rewrite_code
            break
    shaped: dict[str, Any] = {"message": message}
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    shaped["extensions"] = {"code": code}
    return shaped


def checked_document(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """The parsed document, or Shopify-shaped parse/validation errors (cached per text)."""
    with _lock:
        cached = _documents.get(query)
        if cached is not None:
            _documents.move_to_end(query)
            return cached
    schema = admin_schema()
    result: tuple[DocumentNode | None, list[dict[str, Any]]]
    try:
        document = parse(query)
    except GraphQLError as exc:
        result = (None, [shopify_error(exc, "parseError")])
    else:
        errors = validate(schema, document)
        result = (None, [shopify_error(e, "validationError") for e in errors]) if errors else (document, [])
    with _lock:
        _documents[query] = result
        while len(_documents) > _DOCUMENT_CACHE_SIZE:
            _documents.popitem(last=False)
    return result
