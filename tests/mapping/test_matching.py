"""Pure matching: exact SKU, normalised SKU, barcode; and every reason not to link."""

from __future__ import annotations

from mapping.matching import (
    CatalogIndex,
    ListingKey,
    Outcome,
    VariantKey,
    barcode_disagrees,
    duplicate_skus,
    match_listing,
    sku_agrees,
)

INDEX = CatalogIndex.build([VariantKey(1, "MS-1", "2000000001017"), VariantKey(2, "MS-2", "2000000001024"),
                            VariantKey(3, "ab-1"), VariantKey(4, "AB-1")])


def match(sku: str | None, barcode: str | None = None, *, normalised: bool = True,
          duplicates: dict[str, tuple[str, ...]] | None = None) -> tuple[Outcome, int | None]:
    found = match_listing(ListingKey("x", sku, barcode), INDEX, normalised=normalised, duplicates=duplicates)
    return found.outcome, found.variant_id


def test_exact_sku_links_first() -> None:
    assert match("MS-1") == (Outcome.SKU, 1)
    assert match("ab-1") == (Outcome.SKU, 3)  # exact beats the ambiguous normalised form


def test_normalised_sku_only_when_switched_on() -> None:
    assert match(" ms-1 ") == (Outcome.NORMALISED_SKU, 1)
    assert match("ms - 1") == (Outcome.NONE, None)  # inner whitespace is collapsed, not removed
    assert match("ms-1", normalised=False) == (Outcome.NONE, None)


def test_two_catalogue_skus_that_normalise_alike_are_ambiguous() -> None:
    assert match("Ab-1") == (Outcome.AMBIGUOUS, None)


def test_barcode_links_when_the_sku_is_unknown() -> None:
    assert match("OTHER", "2000000001024") == (Outcome.BARCODE, 2)
    assert match(None, "2000000001024") == (Outcome.BARCODE, 2)


def test_sku_and_barcode_pointing_at_different_variants_is_a_mismatch() -> None:
    found = match_listing(ListingKey("x", "MS-1", "2000000001024"), INDEX, normalised=True)
    assert found.outcome == Outcome.MISMATCH and (found.by_sku, found.by_barcode) == ((1,), (2,))
    assert not found.links


def test_duplicates_on_one_account_are_never_linked() -> None:
    keys = [ListingKey("a", "MS-1"), ListingKey("b", "ms-1"), ListingKey("c", "MS-2")]
    assert duplicate_skus(keys, normalised=False) == {}
    duplicates = duplicate_skus(keys, normalised=True)
    assert duplicates == {"ms-1": ("a", "b")}
    found = match_listing(keys[0], INDEX, normalised=True, duplicates=duplicates)
    assert found.outcome == Outcome.DUPLICATE and found.duplicates == ("b",)
    assert match_listing(keys[2], INDEX, normalised=True, duplicates=duplicates).variant_id == 2


def test_nothing_matches() -> None:
    assert match("NOPE", "4006381333931") == (Outcome.NONE, None)
    assert match(None) == (Outcome.NONE, None)


def test_mapped_listing_checks() -> None:
    assert barcode_disagrees(ListingKey("x", "MS-1", "2000000001024"), 1, INDEX) == (2,)
    assert barcode_disagrees(ListingKey("x", "MS-1", "2000000001017"), 1, INDEX) == ()
    assert barcode_disagrees(ListingKey("x", "MS-1", None), 1, INDEX) == ()
    assert sku_agrees("ms-1", "MS-1", normalised=True)
    assert not sku_agrees("ms-1", "MS-1", normalised=False)
    assert not sku_agrees(None, "MS-1", normalised=True)
