"""Benchmarks: run with `python -m benchmarks`. Not part of the test suite."""
