"""The benchmark harness behind ``benchmarks/run.py`` and ``benchmarks/memory.py`` (stdlib only: any Python >= 3.10)."""
