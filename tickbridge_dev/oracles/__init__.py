"""Pure-Python twins of compiled parts: the tests' oracles and the benchmarks' baselines.

``risk``: ``PyRiskGate`` (the pre-trade checks) and ``PyRiskGateHandle`` (the handle the
engine uses, over ``PyRiskGate``); ``orders``: ``ReferenceOrderBook`` (the order table).
"""
