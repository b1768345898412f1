"""Symbols in, contracts out: ``resolve(symbol, on=date) -> Contract`` with the reason.

Accepted forms (docs/contracts.md): root ``ES``; continuous ``ES1!``/``ES2!`` and
``CME_MINI:ES1!``; exchange codes ``ESZ6``, ``ESZ26``, ``MNQZ2026`` (and TradingView's
``CME_MINI:ESZ2026``); NinjaTrader ``ES 12-26``; Sierra Chart ``ESZ26-CME``.
An unknown or ambiguous symbol raises ``SymbolError`` with suggestions; nothing is guessed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from tickbridge.contracts.rules import expiry, first_notice, roll_date
from tickbridge.contracts.specs import MONTH_CODES, ContractSpec, load_specs

FORMATS = ("exchange", "exchange2", "ninjatrader", "sierra", "tradingview")


class SymbolError(ValueError):
    """Unknown, malformed or ambiguous symbol. ``suggestions`` holds close known symbols."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        self.suggestions = suggestions or []
        if self.suggestions:
            message += f"; did you mean {', '.join(self.suggestions)}?"
        super().__init__(message)


@dataclass(frozen=True)
class Contract:
    spec: ContractSpec
    year: int
    month: int
    expiry: date
    roll_date: date
    reason: str = ""

    @property
    def root(self) -> str:
        return self.spec.root

    @property
    def month_code(self) -> str:
        return MONTH_CODES[self.month - 1]

    @property
    def code(self) -> str:
        """Two-digit-year code, e.g. ``ESZ26``: unambiguous across decades."""
        return f"{self.root}{self.month_code}{self.year % 100:02d}"

    @property
    def tick_size(self) -> float:
        return self.spec.tick_size

    @property
    def point_value(self) -> float:
        return self.spec.point_value

    @property
    def first_notice(self) -> date | None:
        return first_notice(self.year, self.month) if "first_notice" in self.spec.roll else None

    def format(self, to: str) -> str:
        return format_symbol(self, to)


def format_symbol(contract: Contract, to: str) -> str:
    """The contract's symbol in a platform's format (``FORMATS``)."""
    r, m, y = contract.root, contract.month_code, contract.year
    if to == "exchange":
        return f"{r}{m}{y % 10}"                       # CME Globex: ESZ6
    if to == "exchange2":
        return f"{r}{m}{y % 100:02d}"                  # ESZ26
    if to == "ninjatrader":
        return f"{r} {contract.month:02d}-{y % 100:02d}"  # ES 12-26
    if to == "sierra":
        return f"{r}{m}{y % 100:02d}-{contract.spec.sierra_exchange}"  # Denali: ESZ26-CME
    if to == "tradingview":
        return f"{contract.spec.tradingview}:{r}{m}{y}"  # CME_MINI:ESZ2026
    raise SymbolError(f"unknown symbol format {to!r}",
                      difflib.get_close_matches(to, FORMATS, n=3, cutoff=0.4))


def _contract(spec: ContractSpec, year: int, month: int) -> Contract:
    return Contract(spec, year, month, expiry(spec, year, month), roll_date(spec, year, month)[0])


def _listed(spec: ContractSpec, start_year: int, start_month: int):
    year, month = start_year, start_month
    months = spec.month_numbers
    while True:
        for m in months:
            if (year, m) >= (year, month):
                yield year, m
        year, month = year + 1, 1


def front(spec: ContractSpec, on: date, n: int = 1) -> Contract:
    """The n-th contract (1 = front) trading on ``on``: the first whose roll date is after it."""
    count, previous = 0, None
    for year, month in _listed(spec, on.year - 1, 1):
        contract = _contract(spec, year, month)
        if contract.roll_date <= on:
            previous = contract
            continue
        count += 1
        if count == n:
            return _with_reason(contract, on, previous, n)
    raise AssertionError("unreachable")


def _with_reason(contract: Contract, on: date, previous: Contract | None, n: int) -> Contract:
    spec = contract.spec
    _, rule = roll_date(spec, contract.year, contract.month)
    nth = "" if n == 1 else f" (contract {n} of the continuous series)"
    if previous is not None and n == 1:
        _, prev_rule = roll_date(spec, previous.year, previous.month)
        why = f"{previous.code} rolled on {previous.roll_date} ({prev_rule})"
    else:
        why = f"front until its roll on {contract.roll_date} ({rule})"
    reason = f"{spec.root} on {on} -> {contract.code}{nth}: {why}"
    return Contract(spec, contract.year, contract.month, contract.expiry, contract.roll_date,
                    reason)


@lru_cache(maxsize=8)
def _default_specs() -> dict[str, ContractSpec]:
    return load_specs()


_CONTINUOUS = re.compile(r"^(?:([A-Z_]+):)?([A-Z0-9]+?)(\d)!$")
_NINJA = re.compile(r"^([A-Z0-9]+) (\d{2})-(\d{2})$")
_CODE = re.compile(r"^(?:([A-Z_]+):)?([A-Z0-9]+?)([FGHJKMNQUVXZ])(\d{1,4})(?:-([A-Z_]+))?$")


def _year(digits: str, on: date, symbol: str) -> int:
    if len(digits) == 4:
        return int(digits)
    if len(digits) == 2:
        return 2000 + int(digits)
    if len(digits) == 1:
        # One-digit years (CME Globex codes) repeat every decade: the contract is the one
        # in [on.year - 2, on.year + 7], i.e. recently expired or listed ahead.
        for year in range(on.year - 2, on.year + 8):
            if year % 10 == int(digits):
                return year
    raise SymbolError(f"{symbol}: year {digits!r} must have 1, 2 or 4 digits")


def _root(root: str, symbol: str, specs: dict[str, ContractSpec]) -> ContractSpec:
    if root in specs:
        return specs[root]
    raise SymbolError(f"{symbol}: unknown root {root!r}",
                      difflib.get_close_matches(root, list(specs), n=3, cutoff=0.5))


def _check_prefix(prefix: str | None, spec: ContractSpec, symbol: str, kind: str) -> None:
    expected = spec.tradingview if kind == "tradingview" else spec.sierra_exchange
    if prefix is not None and prefix != expected:
        raise SymbolError(f"{symbol}: {spec.root} trades on {expected}, not {prefix}",
                          [symbol.replace(prefix, expected)])


def resolve(symbol: str, on: date | None = None,
            specs: dict[str, ContractSpec] | None = None) -> Contract:
    """The contract ``symbol`` means on ``on`` (default today), with ``Contract.reason``."""
    specs = specs if specs is not None else _default_specs()
    on = on or date.today()
    text = symbol.strip().upper()
    if text in specs:
        return front(specs[text], on)
    if m := _CONTINUOUS.match(text):
        prefix, root, n = m.groups()
        spec = _root(root, symbol, specs)
        _check_prefix(prefix, spec, symbol, "tradingview")
        if int(n) < 1:
            raise SymbolError(f"{symbol}: continuous contracts count from 1 ({root}1!)")
        return front(spec, on, int(n))
    if m := _NINJA.match(text):
        root, month, yy = m.groups()
        spec = _root(root, symbol, specs)
        return _explicit(spec, 2000 + int(yy), int(month), symbol, on)
    if m := _CODE.match(text):
        tv_prefix, _, _, digits, sierra_suffix = m.groups()
        body = text.split(":", 1)[-1].split("-", 1)[0]
        # The root may itself end in letters that are month codes (MES, RTY...): try every
        # known root that prefixes the body and leaves exactly a month code and a year.
        parses = [(r, body[len(r)], body[len(r) + 1:]) for r in specs
                  if body.startswith(r) and re.fullmatch(r"[FGHJKMNQUVXZ]\d{1,4}", body[len(r):])]
        if len(parses) > 1:
            raise SymbolError(f"{symbol}: ambiguous, it parses as "
                              f"{', '.join(f'{r} {c}{d}' for r, c, d in parses)}",
                              [f"{r} {MONTH_CODES.index(c) + 1:02d}-{d[-2:]}"
                               for r, c, d in parses])
        if not parses:
            root = m.group(2)
            raise SymbolError(f"{symbol}: unknown root {root!r}",
                              difflib.get_close_matches(root, list(specs), n=3, cutoff=0.5))
        root, code, digits = parses[0]
        spec = specs[root]
        _check_prefix(tv_prefix, spec, symbol, "tradingview")
        _check_prefix(sierra_suffix, spec, symbol, "sierra")
        return _explicit(spec, _year(digits, on, symbol), MONTH_CODES.index(code) + 1, symbol, on)
    known = list(specs) + [f"{r}1!" for r in specs]
    raise SymbolError(f"{symbol}: not a symbol format tickbridge reads (ES, ES1!, "
                      f"CME_MINI:ES1!, ESZ6, ESZ26, ESZ2026, 'ES 12-26', ESZ26-CME)",
                      difflib.get_close_matches(text, known, n=3, cutoff=0.5))


def _explicit(spec: ContractSpec, year: int, month: int, symbol: str, on: date) -> Contract:
    if month < 1 or month > 12 or MONTH_CODES[month - 1] not in spec.months:
        listed = ", ".join(spec.months)
        raise SymbolError(f"{symbol}: {spec.root} lists the months {listed} only",
                          [_contract(spec, year, m).code for m in spec.month_numbers
                           if m >= min(max(month, 1), 12)][:2] or None)
    contract = _contract(spec, year, month)
    state = "expired" if contract.expiry < on else (
        "past its roll date" if contract.roll_date <= on else "front or deferred")
    reason = (f"{symbol} -> {contract.code}: explicit contract, expires {contract.expiry}, "
              f"rolls {contract.roll_date} ({state} on {on})")
    return Contract(spec, year, month, contract.expiry, contract.roll_date, reason)
