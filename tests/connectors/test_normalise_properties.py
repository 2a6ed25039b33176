"""Property: every platform's normaliser turns a hostile payload into a canonical record or a
`CanonicalError` naming the record, never anything else (issue 15, bad input).

For every registered simulator, the real payloads a connector hands to `normalise.order`,
`normalise.listing` and `normalise.product` are captured from one read against the simulator; then
hypothesis mutates them: fields removed, replaced by wrong types, huge, negative, NaN and infinite
numbers, unicode and control characters, 5,000-digit strings, extra fields. The connector skips a
record that raises `CanonicalError` (and names it); any other exception would crash the job.
"""

from __future__ import annotations

import copy
import importlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import canonical
from canonical import CanonicalError
from connectors.base import connector_class
from connectors.budget import LocalBudgets
from connectors.testing.harness import CONTRACT_POLICY
from sandbox.catalogue import SeedSpec
from sandbox.interface import installed_simulators, start_simulator

FUNCTIONS = ("order", "listing", "product")
RESULTS = {"order": canonical.Order, "listing": canonical.Listing, "product": canonical.Product}
CASES: dict[str, int] = {}

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.just(""), st.just([]), st.just({}),
    st.integers(min_value=-(10**30), max_value=10**30), st.just(-1), st.just(0),
    st.floats(allow_nan=True, allow_infinity=True), st.just(math.nan), st.just(-math.inf),
    st.just("9" * 5000), st.just("1e309"), st.just("NaN"), st.just("-0"), st.just("١٢٣"),
    st.just("\uff33\uff2b\uff35\uff0d\uff11"), st.just("SKU\x00\x1b[31m\u202e"), st.just("2026-13-45T25:61:61Z"),
    st.text(max_size=30), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.lists(st.integers(), max_size=3),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON-like value (dict keys and list indexes), the root excluded."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def mutate(raw: Any, path: tuple[Any, ...], operation: str, value: Any) -> None:
    parent = raw
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "delete" and isinstance(parent, dict):
        del parent[last]
    elif operation == "extra" and isinstance(parent, dict):
        parent[f"unexpected_{len(parent)}"] = value
    else:
        parent[last] = value


def capture(platform: str) -> dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]:
    """The arguments the platform's connector passes to its normalisers for one order and its catalogue."""
    module = importlib.import_module(f"connectors.{platform}.normalise")
    seen: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {name: [] for name in FUNCTIONS}
    originals = {name: getattr(module, name) for name in FUNCTIONS if hasattr(module, name)}

    def recorder(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            seen[name].append((copy.deepcopy(args), copy.deepcopy(kwargs)))
            return original(*args, **kwargs)
        return record

    simulator = start_simulator(platform, seed=SeedSpec(products=2, variants=2, stock=20, seed=15))
    try:
        for name, original in originals.items():
            setattr(module, name, recorder(name, original))
        setup = simulator.account_setup()
        from connectors.base import AccountConfig

        connector = connector_class(platform)(AccountConfig(f"{platform}-props", platform, dict(setup.options),
                                                            dict(setup.secrets)),
                                              policy=CONTRACT_POLICY, budgets=LocalBudgets())
        try:
            skus = [listing.sku for listing in connector.listings() if listing.sku]
            placed = simulator.place_order([(skus[0], 2)])  # one line: some platforms allow no more
            connector.order(str(placed.order_id))
        finally:
            connector.close()
    finally:
        for name, original in originals.items():
            setattr(module, name, original)
        simulator.stop()
    return seen


PLATFORMS = sorted(installed_simulators())


@pytest.fixture(scope="module", params=PLATFORMS)
def captured(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, capture(request.param)


def test_each_platform_hands_its_normalisers_real_payloads(captured: tuple[str, dict[str, Any]]) -> None:
    platform, seen = captured
    assert seen["order"], f"{platform}: no order payload captured"
    assert seen["listing"] or seen["product"], f"{platform}: no catalogue payload captured"


def test_a_hostile_payload_is_canonical_or_a_named_canonical_error(captured: tuple[str, dict[str, Any]]) -> None:
    platform, seen = captured
    for function in (name for name in FUNCTIONS if seen[name]):  # the normalisers this connector uses
        hostile_payloads(platform, function, seen[function])


def hostile_payloads(platform: str, function: str, calls: list[Any]) -> None:
    normaliser = getattr(importlib.import_module(f"connectors.{platform}.normalise"), function)
    key = f"{platform}.{function}"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        args, kwargs = copy.deepcopy(data.draw(st.sampled_from(calls)))
        raw = args[0]
        candidates = list(paths(raw))
        for _ in range(data.draw(st.integers(1, 4))):
            if not candidates:
                break
            path = data.draw(st.sampled_from(candidates))
            operation = data.draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
            try:
                mutate(raw, path, operation, data.draw(HOSTILE))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed this path
            candidates = list(paths(raw))
        CASES[key] = CASES.get(key, 0) + 1
        try:
            result = normaliser(*args, **kwargs)
        except CanonicalError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip()
        else:
            assert isinstance(result, RESULTS[function])

    check()
    assert CASES[key] >= 50


def test_report_case_counts() -> None:
    """Prints how many hostile payloads each normaliser met in this run (`-s` shows it)."""
    if CASES:
        print("normaliser property cases:", dict(sorted(CASES.items())), "total", sum(CASES.values()))
