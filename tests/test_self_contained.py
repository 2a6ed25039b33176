"""A clone stands alone: nothing in the project reads a sibling `shared` folder or a machine path,
and the published API data the simulators and tests need ships as package data.

`.ci/run` proves the whole of it (a fresh clone in an empty folder runs `make test` and `make demo`);
these tests catch a regression without a clone.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from sandbox.shopify import schema
from sandbox.shopify.mutations import _key_required
from sandbox.shopify.schema import admin_schema
from sandbox.shopify.schema_strip import strip_descriptions
from sandbox.woocommerce.examples import documented_example, documented_example_names

ROOT = Path(__file__).resolve().parents[1]
# Spelled in pieces so this file does not match itself.
FORBIDDEN = ("shared" + "/data", "../" + "shared", "/" + "work/")
CHECKED_SUFFIXES = {".py", ".toml", ".cfg", ".ini", ".sh", ".json", ".graphql"}
CHECKED_NAMES = {"Makefile", "run"}


def project_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.fail("git ls-files failed; run the tests from a git checkout")
    names = [name for name in listed.stdout.decode().split("\0") if name]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def test_no_project_file_reads_a_sibling_or_machine_path() -> None:
    offenders = []
    for path in project_files():
        if path.suffix not in CHECKED_SUFFIXES and path.name not in CHECKED_NAMES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {needle}" for needle in FORBIDDEN if needle in text]
    assert offenders == []


def test_packaged_schema_is_used_without_configuration(monkeypatch) -> None:
    monkeypatch.delenv("MARKETSYNC_SHOPIFY_SCHEMA", raising=False)
    sdl = schema.schema_text()
    assert "inventorySetQuantities(" in sdl
    assert "type Mutation" in sdl
    assert '"""' not in sdl  # description strings are stripped, but for the one sentence the simulator enforces:
    kept = [line.strip() for line in sdl.splitlines() if line.strip().startswith('"')]
    assert kept and all("the idempotency key is required" in line for line in kept)
    assert "inventorySetQuantities" in _key_required(admin_schema())


def test_schema_override_accepts_plain_and_gzipped_files(tmp_path, monkeypatch) -> None:
    plain = tmp_path / "tiny.graphql"
    plain.write_text("type Query { shop: String }\n")
    monkeypatch.setenv("MARKETSYNC_SHOPIFY_SCHEMA", str(plain))
    assert schema.schema_text() == "type Query { shop: String }\n"
    packed = tmp_path / "tiny.graphql.gz"
    packed.write_bytes(gzip.compress(b"type Query { orders: Int }\n"))
    monkeypatch.setenv("MARKETSYNC_SHOPIFY_SCHEMA", str(packed))
    assert schema.schema_text() == "type Query { orders: Int }\n"


def test_schema_override_naming_no_file_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MARKETSYNC_SHOPIFY_SCHEMA", str(tmp_path / "missing.graphql"))
    with pytest.raises(FileNotFoundError, match=r"MARKETSYNC_SHOPIFY_SCHEMA=.*missing\.graphql is not a file"):
        schema.schema_text()


def test_stripping_descriptions_keeps_the_structure() -> None:
    sdl = ('"""A shop."""\ntype Shop {\n  "its name"\n'
           '  name(locale: String = "en"): String @deprecated(reason: "use title")\n}\n')
    stripped = strip_descriptions(sdl)
    assert "A shop" not in stripped and "its name" not in stripped
    assert 'name(locale: String = "en"): String @deprecated(reason: "use title")' in stripped


def test_stripping_keeps_the_idempotency_requirement_of_a_mutation() -> None:
    sdl = ('type Mutation {\n  """\n  Sets things.\n\n  > As of 2026-04, the idempotency key is required.\n  """\n'
           '  setThings(n: Int): Int\n  "Other."\n  other: Int\n}\n')
    stripped = strip_descriptions(sdl)
    assert '"As of 2026-04, the idempotency key is required."\n  setThings(n: Int): Int' in stripped
    assert "Sets things" not in stripped and "Other." not in stripped


def test_documented_woocommerce_examples_ship_with_the_package() -> None:
    assert "order_retrieve.json" in documented_example_names()
    assert documented_example("order_retrieve.json")["id"] == 727
    with pytest.raises(FileNotFoundError, match=r"no documented WooCommerce example 'nope\.json'"):
        documented_example("nope.json")
