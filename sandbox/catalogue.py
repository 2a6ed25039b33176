"""Deterministic seed catalogues, shared by every simulator.

Two simulators seeded with the same spec hold the same SKUs and barcodes, so a demo or a
test can connect several channels that sell the same goods. Extra rows (`extra`) let a
caller add a listing that exists on one channel only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class SeedVariant:
    product_index: int
    product_title: str
    variant_title: str
    option: str
    sku: str
    barcode: str | None
    price: Decimal
    stock: int


@dataclass(frozen=True)
class SeedSpec:
    products: int = 5
    variants: int = 2
    sku_prefix: str = "MS"
    stock: int = 20
    locations: int = 1
    barcodes: bool = True
    seed: int = 1
    extra: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SeedSpec:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown seed settings: {sorted(unknown)}; known: {sorted(known)}")
        values = dict(data)
        values["extra"] = tuple(values.get("extra", ()))
        return cls(**values)


def gtin13(number: int) -> str:
    """A valid GTIN-13 (EAN-13) built from `number`, with its check digit."""
    body = f"200{number:09d}"[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


SIZES = ("S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL")


def seed_variants(spec: SeedSpec) -> list[SeedVariant]:
    """The catalogue a spec describes, in a stable order."""
    rng = random.Random(spec.seed)
    rows: list[SeedVariant] = []
    for p in range(1, spec.products + 1):
        base_price = Decimal(rng.randint(500, 9900)) / 100
        for v in range(1, spec.variants + 1):
            option = SIZES[(v - 1) % len(SIZES)] if v <= len(SIZES) else f"V{v}"
            rows.append(SeedVariant(
                product_index=p, product_title=f"Product {p:04d}", variant_title=option, option=option,
                sku=f"{spec.sku_prefix}-{p:04d}-{v}",
                barcode=gtin13(p * 100 + v) if spec.barcodes else None,
                price=base_price, stock=spec.stock,
            ))
    for i, extra in enumerate(spec.extra, start=1):
        rows.append(SeedVariant(
            product_index=spec.products + i, product_title=str(extra.get("title", f"Extra {i}")),
            variant_title="Default", option="Default", sku=str(extra["sku"]),
            barcode=extra.get("barcode"), price=Decimal(str(extra.get("price", "9.99"))),
            stock=int(extra.get("stock", spec.stock)),
        ))
    return rows
