"""Money: a Decimal amount with an ISO-4217 currency. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from canonical.errors import MarketsyncError

# ISO-4217 minor units where they differ from 2; every other valid code uses 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "HUF": 2, "BHD": 3, "KWD": 3, "JOD": 3,
               "OMR": 3, "TND": 3}


class CurrencyMismatch(MarketsyncError, ValueError):
    """Two amounts in different currencies were combined."""


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True)

    amount: Decimal
    currency: str

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
            raise ValueError(f"currency must be a 3-letter ISO-4217 code, got {value!r}")
        return value.strip().upper()

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal:
        if isinstance(value, float):
            raise ValueError("amount must be a Decimal or a string, never a float")
        return to_decimal(value)

    @classmethod
    def parse(cls, amount: Any, currency: str) -> Money:
        """From a platform value such as "19.99" or 19 (ints and strings; floats refused)."""
        return cls(amount=to_decimal(amount), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(amount=self.amount * Decimal(factor), currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def quantized(self) -> Money:
        """Rounded half-up to the currency's minor unit."""
        exponent = Decimal(1).scaleb(-MINOR_UNITS.get(self.currency, 2))
        return Money(amount=self.amount.quantize(exponent, rounding=ROUND_HALF_UP), currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        raise ValueError(f"not a money amount: {value!r}")
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"not a money amount: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a money amount: {value!r}")
    return result
