"""tickbridge: Sierra Chart and NinjaTrader 8 to a risk-checked, audited execution engine.

Layers (see docs/architecture.md): ``protocol`` (wire codec), ``orders`` (state
machine and position book), ``signals``/``research`` (tick kernels and history),
``cli`` (the ``tickbridge`` command), ``bench`` (measured hot paths).
"""

__version__ = "0.1.0"
