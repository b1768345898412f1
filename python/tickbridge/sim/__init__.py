"""The platform simulator (connectivity layer, tests and demo): speaks exactly the shim
protocol, replays ticks and runs a matching engine for paper fills.

Modules by concept: ``generator`` (seeded ES/NQ sessions), ``feed`` (tick sources merged
into a tape), ``matching`` (orders against the tape, pure logic), ``quirks`` (platforms'
awkward event orders), ``platform`` (account, positions, records), ``process`` (sockets
and the loop), ``persist`` (state across restarts). See docs/simulator.md.
"""

from tickbridge.sim.feed import MarketTape, generated_tape, tape_from_arrays, tape_from_file
from tickbridge.sim.generator import ES, NQ, InstrumentSpec, TickArrays, generate_session
from tickbridge.sim.matching import MatchingEngine
from tickbridge.sim.platform import PlatformConfig, SimulatedPlatform
from tickbridge.sim.process import SimConfig, Simulator, run_in_thread
from tickbridge.sim.quirks import QuirkConfig

__all__ = [
    "ES",
    "NQ",
    "InstrumentSpec",
    "MarketTape",
    "MatchingEngine",
    "PlatformConfig",
    "QuirkConfig",
    "SimConfig",
    "SimulatedPlatform",
    "Simulator",
    "TickArrays",
    "generate_session",
    "generated_tape",
    "run_in_thread",
    "tape_from_arrays",
    "tape_from_file",
]
