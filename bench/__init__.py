"""Benchmarks that print figures; run each as a script, e.g. `python bench/bench_load.py`."""
