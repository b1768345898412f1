"""``tickbridge demo``: the simulator and the engine end to end on bundled data."""

from tickbridge.demo.runner import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
