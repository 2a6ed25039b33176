"""Every GraphQL document the Shopify connector sends is valid against the published schema.

Documents are discovered, not listed: any upper-case `str` constant in a module of
`connectors.shopify` whose text starts with `query` or `mutation` is checked, so a new
document cannot skip this test.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from graphql import GraphQLSchema, parse, validate

import connectors.shopify
from sandbox.shopify.schema import admin_schema


def schema() -> GraphQLSchema:
    """The published 2026-04 Admin schema, built once per process (shared with the simulator)."""
    return admin_schema()


def documents() -> dict[str, str]:
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(connectors.shopify.__path__, "connectors.shopify."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mutation")):
                found[f"{info.name}.{name}"] = value
    return found


def test_documents_are_discovered() -> None:
    names = documents()
    assert len(names) >= 15, sorted(names)
    assert "connectors.shopify.queries.SET_QUANTITIES" in names


@pytest.mark.parametrize("name", sorted(documents()))
def test_document_is_valid_against_the_admin_schema(name: str) -> None:
    errors = validate(schema(), parse(documents()[name]))
    assert [e.message for e in errors] == []
