"""Benchmarks of pulumi-cts; run `python3 scripts/dev.py bench` (see benchmarks/README.md)."""
