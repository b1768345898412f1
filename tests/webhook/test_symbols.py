"""TradingView symbols to the engine's platform symbols."""

from __future__ import annotations

from datetime import date

import pytest

from tickbridge.contracts import SymbolError
from tickbridge.webhook.symbols import SymbolMap

DAY = date(2026, 11, 29)  # ESZ6 is the front month until its December roll


def _map(symbols: list[str] | None, asked: list[bool] | None = None) -> SymbolMap:
    def fetch(patient: bool) -> list[str]:
        if asked is not None:
            asked.append(patient)
        if symbols is None:
            raise TimeoutError("engine down")
        return symbols

    return SymbolMap(fetch, today=lambda: DAY)


@pytest.mark.parametrize(("tradingview", "platform"), [
    ("ES1!", "ESZ6"), ("CME_MINI:ES1!", "ESZ6"), ("ESZ2026", "ESZ6"), ("NQZ26", "NQZ6"),
])
def test_matched_by_contract(tradingview, platform):
    assert _map(["ESZ6", "NQZ6"]).to_platform(tradingview) == platform


def test_other_platform_spellings_match_too():
    assert _map(["ES 12-26", "NQZ26-CME"]).to_platform("CME_MINI:NQ1!") == "NQZ26-CME"
    assert _map(["ES 12-26"]).to_platform("ES1!") == "ES 12-26"


def test_untraded_contract_suggests_what_is_traded():
    with pytest.raises(SymbolError) as e:
        _map(["ESZ6", "NQZ6"]).to_platform("MNQZ2026")
    assert "does not trade" in str(e.value)
    assert e.value.suggestions == ["CME_MINI:ESZ2026", "CME_MINI:NQZ2026"]
    with pytest.raises(SymbolError, match="ES2!"):  # the next contract, not the front
        _map(["ESZ6"]).to_platform("ES2!")


def test_a_dead_engine_is_asked_once_per_ttl():
    asked: list[bool] = []
    symbols = _map(None, asked)
    assert symbols.to_platform("ES1!") is None
    assert symbols.to_platform("ES1!") is None
    assert asked == [False]
    assert symbols.fresh
    assert symbols.to_platform("ES1!", refresh=True) is None
    assert asked == [False, True]
