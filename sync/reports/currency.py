"""Amounts in several currencies, and their conversion with the configured rates.

A report never adds two currencies by accident: amounts stay per currency (`Amounts`), and a
converted total adds only the currencies with a rate into `[reports] currency`; the others are
named in `missing_rates` and shown on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from canonical.money import MINOR_UNITS

Amounts = dict[str, Decimal]


def add(into: Amounts, currency: str, amount: Decimal) -> None:
    into[currency] = into.get(currency, Decimal(0)) + amount


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2)))


def shown(amounts: Amounts) -> dict[str, str]:
    """Amounts per currency as text rounded to each currency's minor unit, sorted by code."""
    return {code: str(quantize(amounts[code], code)) for code in sorted(amounts)}


@dataclass(frozen=True)
class Rates:
    """What one unit of each currency is worth in `base` ("" = no conversion)."""

    base: str = ""
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        if not self.base:
            return None
        if currency == self.base:
            return Decimal(1)
        return self.rates.get(currency)

    def convert(self, amounts: Amounts) -> tuple[Decimal | None, list[str]]:
        """(Σ of the convertible amounts in `base`, currencies without a rate). None without a base."""
        if not self.base:
            return None, []
        total, missing = Decimal(0), []
        for code, amount in amounts.items():
            rate = self.rate(code)
            if rate is None:
                missing.append(code)
            else:
                total += amount * rate
        return quantize(total, self.base), sorted(missing)
