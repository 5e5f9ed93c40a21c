"""Benchmarks against a served emulator: this package's tools, a raw-client floor and the peers, side by side.

Run from the repository root: `.venv/bin/python -m integration_tests.benchmarks [--quick]`. See
`docs/performance.md` for the method and a run's results.
"""
