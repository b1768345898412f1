"""The engine's risk gate from its config: instruments resolved to contracts on a date."""

from __future__ import annotations

from datetime import date

from tickbridge.config.models import TickbridgeConfig
from tickbridge.contracts import Contract, load_specs, resolve
from tickbridge.risk.gate import RiskGateHandle


def resolve_instruments(config: TickbridgeConfig, on: date | None = None) -> dict[str, Contract]:
    """Configured symbol -> the contract it trades on ``on`` (``ES`` -> ESZ26 ...)."""
    specs = load_specs(config.contracts_file)
    return {i.symbol: resolve(i.symbol, on=on, specs=specs) for i in config.instruments}


def build_risk_gate(config: TickbridgeConfig, on: date | None = None
                    ) -> tuple[RiskGateHandle, dict[str, Contract]]:
    """The compiled gate for ``config``, keyed by the configured symbols (``ES``), with the
    contracts they resolve to on ``on``. Limits are declared per configured symbol; the
    engine maps a contract's market data and orders to its symbol with the returned dict."""
    contracts = resolve_instruments(config, on)
    gate = RiskGateHandle(config.risk, contracts, [a.name for a in config.accounts])
    return gate, contracts
