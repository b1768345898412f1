"""One session (``run_session``): a world run for a number of steps under a fault
schedule, the invariants checked after every step, then a settle phase (faults off, the
link restored) and the quiescence checks. ``Campaign`` runs many seeds and counts."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import tempfile
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from tickbridge.simulate.clock import simulated_time
from tickbridge.simulate.faults import FAULT_KINDS, Fault, generate
from tickbridge.simulate.invariants import audit_checks, quiescent_checks, step_checks
from tickbridge.simulate.world import World

STEPS = 300  # 15 s of simulated trading
SETTLE_STEPS = 140  # 7 s: heartbeats, a periodic snapshot (5 s), its reconciliation
_TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
TRACE_LINES = int(os.environ.get("TICKBRIDGE_SIMULATE_TRACE", "40"))


@dataclass
class SessionResult:
    seed: int
    schedule: list[Fault]
    violations: list[str]
    step: int  # where the first violation was seen (-1: none)
    trace: list[str]
    counts: Counter = field(default_factory=Counter)
    simulated_s: float = 0.0
    real_s: float = 0.0
    frames: list = field(default_factory=list)  # (number, to, frame) when logged

    @property
    def ok(self) -> bool:
        return not self.violations


def schedule_for(seed: int, kinds: list[str], steps: int = STEPS) -> list[Fault]:
    """The seed's fault schedule (its own stream: shrinking it leaves the workload's)."""
    rng = random.Random(f"faults:{seed}")
    return generate(rng, steps, kinds, rng.randint(0, 12))


def run_session(seed: int, schedule: list[Fault], *, steps: int = STEPS,
                script: dict[int, str] | None = None, log_frames: bool = False,
                settle: int = SETTLE_STEPS) -> SessionResult:
    """One session; ``script`` (the model check's) sets what happens to each frame by
    its number on the link; ``log_frames`` keeps every frame in ``result.frames``."""
    counts: Counter = Counter()
    trace: deque[str] = deque(maxlen=TRACE_LINES)
    # In memory when the system has a tmpfs: a session's fsyncs test nothing here (the
    # real-disk crash tests are in tests/e2e and tests/store) and would cost most of it.
    folder = Path(tempfile.mkdtemp(prefix="tickbridge-simulate-", dir=_TMPFS))
    by_step: dict[int, list[Fault]] = {}
    for fault in schedule:
        by_step.setdefault(fault.step, []).append(fault)
    started = time.perf_counter()
    violations: list[str] = []
    at = -1
    quiet = logging.getLogger("tickbridge")
    level, quiet.level = quiet.level, logging.CRITICAL + 1  # the faults make the engine loud
    world: World | None = None
    try:
        with simulated_time(world_clock := _clock()):
            world = World(seed, folder, counts, trace, clock=world_clock)
            world.network.script = dict(script or {})
            world.network.log_frames = log_frames
            for step in range(steps):
                world.tick(by_step.get(step, []))
                violations = step_checks(world, counts)
                if violations:
                    at = step
                    break
            if not violations:
                world.settle(settle)
                violations = step_checks(world, counts) + quiescent_checks(world, counts)
                at = world.step if violations else -1
            simulated = (world.clock.now_ns - world.start_ns) / 1e9
            world.close()
        if not violations:
            violations = audit_checks(str(world.store_path), counts)
            at = world.step if violations else -1
    except Exception as exc:  # a crash of the engine or the world is a finding too
        violations = [f"exception: {type(exc).__name__}: {exc}"]
        trace.extend(traceback.format_exc().splitlines()[-8:])
        at = world.step if world is not None else 0
        simulated = 0.0
        if world is not None:
            with contextlib.suppress(Exception):  # the first error is the story
                world.close()
    finally:
        quiet.level = level
        shutil.rmtree(folder, ignore_errors=True)
    counts["sessions"] += 1
    return SessionResult(seed, schedule, violations, at, list(trace), counts,
                         simulated, time.perf_counter() - started,
                         world.network.sent_log if world is not None else [])


def _clock():
    from tickbridge.simulate.clock import SimClock

    return SimClock()


def kind_of(violation: str) -> str:
    return violation.split(":", 1)[0]


def shrink(seed: int, schedule: list[Fault], violation: str, *, steps: int = STEPS,
           budget: int = 60) -> list[Fault]:
    """Drop faults while the same invariant still breaks (chunks first, then one by
    one); at most ``budget`` reruns."""
    target = kind_of(violation)

    def fails(candidate: list[Fault]) -> bool:
        nonlocal budget
        budget -= 1
        result = run_session(seed, candidate, steps=steps)
        return any(kind_of(v) == target for v in result.violations)

    current = list(schedule)
    chunk = max(1, len(current) // 2)
    while chunk >= 1 and budget > 0:
        i, removed = 0, False
        while i < len(current) and budget > 0:
            candidate = current[:i] + current[i + chunk:]
            if fails(candidate):
                current, removed = candidate, True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    return current


class Campaign:
    def __init__(self, kinds: list[str] | None = None, steps: int = STEPS) -> None:
        self.kinds = list(FAULT_KINDS) if kinds is None else kinds
        self.steps = steps
        self.counts: Counter = Counter()
        self.failures: list[SessionResult] = []
        self.sessions = 0
        self.simulated_s = self.real_s = 0.0

    def run_one(self, seed: int, schedule: list[Fault] | None = None) -> SessionResult:
        if schedule is None:
            schedule = schedule_for(seed, self.kinds, self.steps)
        return self.add(run_session(seed, schedule, steps=self.steps))

    def add(self, result: SessionResult) -> SessionResult:
        self.sessions += 1
        self.counts.update(result.counts)
        self.simulated_s += result.simulated_s
        self.real_s += result.real_s
        if not result.ok:
            self.failures.append(result)
        return result


def seed_session(args: tuple[int, list[str], int]) -> SessionResult:
    """A seed's session from its drawn schedule (a process pool's unit of work)."""
    seed, kinds, steps = args
    return run_session(seed, schedule_for(seed, kinds, steps), steps=steps)
