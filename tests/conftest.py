"""Test tiers (README, "Tests"): every test gets exactly one of the markers ``unit``,
``e2e``, ``toolchain`` and ``fuzz``, mostly from its folder, so ``pytest -m unit`` (``make
test-fast``) runs the fast in-process tests and ``make test`` runs them all.

- ``unit``: in one process (real sockets, SQLite and compiled core allowed), seconds.
- ``e2e``: starts processes (the engine, the simulator, the CLI, a crashing writer), or
  waits on real timeouts of seconds (the webhook's slow peers).
- ``toolchain``: compiles with a C++, C# or MinGW compiler (the ACSIL study, NinjaScript).
- ``fuzz``: coverage-guided or long randomised runs.

A test marked explicitly with one of them keeps its own mark (a test in a unit folder that
really spawns a process says ``@pytest.mark.e2e``); files listed in ``FILE_TIERS`` spawn
processes in most of their tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "e2e", "toolchain", "fuzz")
HERE = Path(__file__).resolve().parent

FOLDER_TIERS = {
    "e2e": "e2e",
    "control": "e2e",  # the engine and the simulator as processes (tests/e2e/stack.py)
    "webhook": "e2e",  # the test bed: an engine and the simulator process; real timeouts
    "acsil": "toolchain",
    "ninjascript": "toolchain",
    "fuzz": "fuzz",
}
FILE_TIERS = {
    "test_cli.py": "e2e",  # runs the `tickbridge` command
    "audit/test_cli.py": "e2e",
    "audit/test_tamper.py": "e2e",  # `tickbridge audit verify` on tampered stores
    "config/test_startup.py": "e2e",  # starts `tickbridge run`
    "engine/test_bench_engine.py": "e2e",  # the benchmarks' sender processes
    "dashboard/test_bench.py": "e2e",  # the same, and the browsers' process
    "engine/test_replay.py": "e2e",  # a simulator process, then `tickbridge replay`
    "examples/test_examples.py": "e2e",
    "research/test_example_script.py": "e2e",
    "sim/test_persist.py": "e2e",  # SIGKILLs a simulator process
    "sim/test_process.py": "e2e",
    "sim/test_sim_cli.py": "e2e",
    "store/test_crash.py": "e2e",  # kills writer processes mid-write
    "webhook/test_alert.py": "unit",  # parsing only
    "webhook/test_symbols.py": "unit",
}


def tier_of(item: pytest.Item) -> str:
    relative = Path(str(item.path)).resolve().relative_to(HERE)
    explicit = [m.name for m in item.iter_markers() if m.name in TIERS]
    if explicit:
        return explicit[0]
    key = relative.as_posix()
    if key in FILE_TIERS:
        return FILE_TIERS[key]
    return FOLDER_TIERS.get(relative.parts[0], "unit")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)


def pytest_report_header(config: pytest.Config) -> str:
    """Which tickbridge is under test: the checkout's python/ (editable) or an installed one."""
    import tickbridge

    return f"tickbridge under test: {Path(tickbridge.__file__).resolve().parent}"
