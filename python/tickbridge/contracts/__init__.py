"""Contract specs (editable TOML table) and the symbol resolver.

``resolve(symbol, on) -> Contract`` (with ``.reason``), ``format_symbol(contract, to)``,
``load_specs(user_file)``.
"""

from tickbridge.contracts.resolver import (
    FORMATS,
    Contract,
    SymbolError,
    format_symbol,
    front,
    resolve,
)
from tickbridge.contracts.specs import ContractSpec, ContractTableError, load_specs

__all__ = ["FORMATS", "Contract", "ContractSpec", "ContractTableError", "SymbolError",
           "format_symbol", "front", "load_specs", "resolve"]
