"""The benchmark interface: what a benchmark is, what it reports, how they are found."""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BenchResult:
    """One measurement and its same-run baseline. ``ratio`` is oriented so higher is better."""

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    # Targets from the issue that asked for the benchmark, e.g. {"ratio": 30, "value": 5e6}.
    targets: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def meets_targets(self) -> bool:
        checks = {"ratio": self.ratio, "value": self.value}
        for key, minimum in self.targets.items():
            actual = checks.get(key, self.extra.get(key))
            if actual is None or actual < minimum:
                return False
        return True

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_value": self.baseline_value,
            "ratio": self.ratio,
            "targets": self.targets,
            "meets_targets": self.meets_targets,
            **self.extra,
        }


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    # run(quick) -> result; quick=True uses small inputs so tests can check it runs.
    run: Callable[[bool], BenchResult]


def discover() -> list[Benchmark]:
    """All benchmarks of the modules in ``tickbridge_dev.bench``, sorted by name."""
    import tickbridge_dev.bench as package

    found: list[Benchmark] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name == "registry":
            continue
        module = importlib.import_module(f"tickbridge_dev.bench.{info.name}")
        found.extend(getattr(module, "BENCHMARKS", []))
    return sorted(found, key=lambda b: b.name)


def timed_rate(fn: Callable[[], Any], items: int, repeat: int = 3) -> float:
    """Best-of-``repeat`` items per second of ``fn``; the best run is the least disturbed one."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return items / best if best > 0 else float("inf")
