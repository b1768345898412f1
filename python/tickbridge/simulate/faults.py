"""The fault schedule: what goes wrong at which step. A schedule is data (shrinkable,
printable, parseable), so a failure replays from its seed and its minimized schedule."""

from __future__ import annotations

import random
from dataclasses import dataclass

# kind -> what it does (the argument, when one, in brackets)
FAULT_KINDS: dict[str, str] = {
    "drop": "the next frame on the link is lost",
    "dup": "the next frame on the link arrives twice",
    "reorder": "the frames in flight arrive in reverse order",
    "delay": "the next frame arrives [arg] steps late",
    "cut": "the link is cut for [arg] steps, then restored (the shim says hello again)",
    "engine_crash": "the engine dies and restarts from its store",
    "platform_crash": "the platform dies and restarts from its saved account",
    "store_fail": "the store's next write fails (the engine halts); restarted [arg] steps later",
    "platform_quirk": "the platform reorders its events (update before ack, fill before "
                      "working) from this step on",
    "clock_jump": "the clock jumps [arg] seconds ahead",
    "kill": "the operator's kill switch: halt, cancel the working orders",
    "kill_flatten": "the operator's kill switch with flatten: halt, cancel, flatten",
    "replaces": "from this step on the strategy also replaces working orders",
    "by_hand": "the trader places an order by hand at the platform (market or limit), "
               "then may replace it, cancel it or have it filled (an external order)",
}
# Relative frequencies in a generated schedule.
_WEIGHTS = {"drop": 8, "dup": 6, "reorder": 5, "delay": 5, "cut": 2, "engine_crash": 2,
            "platform_crash": 2, "store_fail": 1, "platform_quirk": 1, "clock_jump": 1, "kill": 1,
            "kill_flatten": 1, "replaces": 1, "by_hand": 3}


@dataclass(frozen=True, order=True)
class Fault:
    step: int
    kind: str
    arg: int = 0

    def __str__(self) -> str:
        return f"{self.step}:{self.kind}" + (f":{self.arg}" if self.arg else "")


def generate(rng: random.Random, steps: int, kinds: list[str], count: int) -> list[Fault]:
    kinds = [k for k in kinds if k in _WEIGHTS]
    if not kinds:
        return []
    weights = [_WEIGHTS[k] for k in kinds]
    faults = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        arg = {"delay": rng.randint(1, 6), "cut": rng.randint(2, 30),
               "store_fail": rng.randint(1, 20), "clock_jump": rng.randint(1, 20)}.get(kind, 0)
        faults.append(Fault(rng.randrange(steps), kind, arg))
    return sorted(faults)


def format_schedule(faults: list[Fault]) -> str:
    return ",".join(map(str, faults)) or "none"


def parse_schedule(text: str) -> list[Fault]:
    """``12:drop,30:cut:5`` (``none``: no fault); ValueError names the bad item."""
    faults = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        if item == "none":
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3) or parts[1] not in FAULT_KINDS:
            raise ValueError(f"fault {item!r}: expected STEP:KIND[:ARG] with KIND one of "
                             f"{', '.join(FAULT_KINDS)}")
        try:
            faults.append(Fault(int(parts[0]), parts[1], int(parts[2]) if len(parts) == 3
                                else 0))
        except ValueError:
            raise ValueError(f"fault {item!r}: STEP and ARG are integers") from None
    return sorted(faults)


def parse_kinds(text: str) -> list[str]:
    if text in ("all", ""):
        return list(FAULT_KINDS)
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    for kind in kinds:
        if kind not in FAULT_KINDS and kind != "none":
            raise ValueError(f"--faults: unknown fault {kind!r}; choose from "
                             f"{', '.join(FAULT_KINDS)}, all, none")
    return [k for k in kinds if k != "none"]
