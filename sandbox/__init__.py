"""Local simulators of each platform's API, for the demo, the tests and the benchmarks.

Every simulator registers under the entry-point group `marketsync.simulators` and offers the one
interface in `sandbox/interface.py`; find them with `installed_simulators()` and build one with
`simulator_class(platform)` or `start_simulator(platform, seed=…)`. Nothing here lists them.
"""
