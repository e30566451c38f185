"""Vigil's tests; `tests.kit` holds the rigs they share with the benchmarks."""
