"""Seeded fault-injection campaign (issue 20): the engine, a simulated platform and the
store in one process, on a simulated clock and a simulated transport, driven by one seed.
docs/simulation-testing.md has the faults, the invariants and how to replay."""

from tickbridge.simulate.campaign import Campaign, SessionResult, run_session
from tickbridge.simulate.faults import FAULT_KINDS, Fault, format_schedule, parse_schedule

__all__ = ["FAULT_KINDS", "Campaign", "Fault", "SessionResult", "format_schedule",
           "parse_schedule", "run_session"]
