"""Built-in strategies, usable by name in a config: ``ema_cross``."""

from tickbridge.strategies.ema_cross import EmaCross

BUILTIN = {"ema_cross": EmaCross}

__all__ = ["BUILTIN", "EmaCross"]
