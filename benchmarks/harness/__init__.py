"""The benchmark harness behind ``benchmarks/run.py`` (stdlib only, so any Python >= 3.10 runs it)."""
