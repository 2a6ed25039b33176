"""Make the packaged copy of a published Shopify Admin schema: description strings removed, gzipped.

    python -m sandbox.shopify.schema_strip SOURCE.graphql sandbox/shopify/data/admin-2026-04.graphql.gz

Only the SDL's structure is kept (types, fields, arguments, enums, directives, deprecations), plus
one sentence the simulator enforces: on a mutation whose description says that an idempotency key is
required, that sentence stays as its whole description (`sandbox/shopify/mutations.py` reads it).
That is all the simulator needs, at a fifth of the size. The output is byte-for-byte reproducible
(gzip without a timestamp).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Any

from graphql import parse, print_ast
from graphql.language import FieldDefinitionNode, Node, ObjectTypeDefinitionNode, StringValueNode, Visitor, visit

KEPT_SENTENCE = "idempotency key is required"


class _DropDescriptions(Visitor):
    def enter(self, node: Node, *_: Any) -> None:
        if getattr(node, "description", None) is not None:
            object.__setattr__(node, "description", None)  # AST nodes are frozen; this copy is ours


def _idempotency_sentences(document: Any) -> dict[str, str]:
    """Mutation field name -> the description line saying its idempotency key is required."""
    found: dict[str, str] = {}
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value == "Mutation":
            for field in definition.fields or ():
                text = field.description.value if field.description else ""
                lines = [line.lstrip("> ").strip() for line in text.splitlines() if KEPT_SENTENCE in line]
                if lines:
                    found[field.name.value] = lines[0]
    return found


def strip_descriptions(sdl: str) -> str:
    """The same schema as SDL without description strings but the idempotency requirement of mutations."""
    document = parse(sdl, no_location=True)
    kept = _idempotency_sentences(document)
    visit(document, _DropDescriptions())
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value == "Mutation":
            for field in definition.fields or ():
                if isinstance(field, FieldDefinitionNode) and field.name.value in kept:
                    object.__setattr__(field, "description", StringValueNode(value=kept[field.name.value]))
    return print_ast(document) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m sandbox.shopify.schema_strip SOURCE.graphql DEST.graphql.gz", file=sys.stderr)
        return 2
    source, destination = (Path(arg) for arg in argv)
    stripped = strip_descriptions(source.read_text(encoding="utf-8"))
    destination.write_bytes(gzip.compress(stripped.encode("utf-8"), compresslevel=9, mtime=0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
