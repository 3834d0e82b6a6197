"""Benchmarks: scripts that print their numbers (see docs/BENCHMARKS.md)."""
