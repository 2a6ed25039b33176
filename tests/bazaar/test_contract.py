"""Bazaar passes the shipped contract suite: three lines, as for any connector package."""

from __future__ import annotations

from connectors.base import connector_class
from connectors.testing import ConnectorContract
from sandbox.interface import simulator_class
from tests.bazaar.connector import BazaarConnector
from tests.bazaar.simulator import BazaarSimulator


class TestBazaarContract(ConnectorContract):
    platform = "bazaar"


def test_found_through_the_entry_points() -> None:
    assert connector_class("bazaar") is BazaarConnector
    assert simulator_class("bazaar") is BazaarSimulator
