"""Benchmarks (not tests): `python -m bench` runs every bench_*.py and writes bench/results/*.json."""
