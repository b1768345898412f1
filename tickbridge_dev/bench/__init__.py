"""Benchmarks of the hot paths, each against a baseline measured in the same run.

Every module in this package that defines ``BENCHMARKS`` is discovered by
``tickbridge bench``; adding a benchmark means adding a module, nothing else.
"""

from tickbridge_dev.bench.registry import Benchmark, BenchResult, discover, timed_rate

__all__ = ["BenchResult", "Benchmark", "discover", "timed_rate"]
