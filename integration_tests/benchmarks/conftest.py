"""The benchmarks are a program (`python -m integration_tests.benchmarks`), not tests: pytest collects nothing here."""

collect_ignore_glob = ["*.py"]
