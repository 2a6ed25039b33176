"""Bazaar: a made-up platform proving that a new platform needs nothing outside its own package.

`connector.py` is written against the connector contract only, `simulator.py`/`shop.py` against
the simulator interface only; `conftest.py` registers both under the hub's entry-point groups for
these tests, as an installed package would.
"""
