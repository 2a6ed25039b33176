"""SKU normalisation and GTIN check digits."""

from __future__ import annotations

import unicodedata


def clean_sku(value: object) -> str:
    """Trimmed SKU with no control characters; case is kept. Empty is an error."""
    if not isinstance(value, str):
        raise ValueError(f"SKU must be text, got {type(value).__name__}")
    # A printable string has no control/format characters (category C): the per-character scan
    # is only needed for the rest.
    cleaned = value.strip() if value.isprintable() else \
        "".join(ch for ch in value if unicodedata.category(ch)[0] != "C").strip()
    if not cleaned:
        raise ValueError("SKU is empty")
    if len(cleaned) > 255:
        raise ValueError("SKU is longer than 255 characters")
    return cleaned


def normalised_sku(sku: str) -> str:
    """The loose form used for second-pass matching: case-folded, inner whitespace collapsed."""
    return " ".join(sku.split()).casefold()


GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    reversed_body = body[::-1]  # weights 3, 1, 3, … from the rightmost digit
    total = 3 * sum(map(int, reversed_body[0::2])) + sum(map(int, reversed_body[1::2]))
    return (10 - total % 10) % 10


def clean_barcode(value: object) -> str | None:
    """A valid GTIN-8/12/13/14 or None for empty; a wrong length or check digit is an error."""
    if value is None:
        return None
    text = str(value).strip().replace(" ", "").replace("-", "")
    if not text:
        return None
    if not text.isdigit() or len(text) not in GTIN_LENGTHS:
        raise ValueError(f"barcode {value!r} is not a GTIN-8/12/13/14")
    if gtin_check_digit(text[:-1]) != int(text[-1]):
        raise ValueError(f"barcode {value!r} has a wrong check digit")
    return text
