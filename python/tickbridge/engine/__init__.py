"""The engine process (execution layer): sessions with the shims over ZeroMQ, the
compiled tick path, strategies, and the order state machine.

See docs/engine.md.
"""

from tickbridge.engine.engine import Engine
from tickbridge.engine.settings import EngineSettings
from tickbridge.engine.strategy import Context, Strategy

__all__ = ["Context", "Engine", "EngineSettings", "Strategy"]
