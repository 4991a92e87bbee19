"""Arithmetic the benchmarks' reports share."""


def percentile(values: list[float], fraction: float) -> float:
    """The value ``fraction`` of the way through ``values`` in order (0.5: the median)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
