"""What strategies are called with: closed bars, fired triggers and armed orders, order
updates, fills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickbridge.protocol import OrderStatus, Side


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    time_ns: int  # bar open time, UTC ns
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: int
    bid_volume: float
    ask_volume: float
    ema_fast: float  # signal values at the bar's last tick
    ema_slow: float
    vwap: float
    delta: float


@dataclass(frozen=True, slots=True)
class TriggerFired:
    symbol: str
    trigger_id: int
    time_ns: int
    price: float
    ema_fast: float
    ema_slow: float
    vwap: float
    delta: float


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    client_order_id: int
    symbol: str
    side: Side
    status: OrderStatus
    quantity: int
    filled_quantity: int
    average_fill_price: float
    price: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FillEvent:
    client_order_id: int
    symbol: str
    side: Side
    quantity: int
    price: float
    execution_id: str
    time_ns: int
    position: int  # net position in the instrument after this fill


@dataclass(frozen=True, slots=True)
class ArmedFired:
    """An armed order's trigger fired: the order went out (client_order_id) or was
    refused (reason). ``compiled``: sent from the tick path, not the Python checks."""

    arm_id: int
    symbol: str
    time_ns: int  # the trade that fired it
    price: float  # that trade's price
    client_order_id: int | None
    reason: str = ""
    compiled: bool = False


def bar_from_event(e: Any) -> Bar | TriggerFired:
    """From MarketCore.ingest's engine.SignalEvent (see cpp/bindings/engine.cpp)."""
    if e.is_bar:
        return Bar(e.symbol, e.ts, e.open, e.high, e.low, e.close, e.volume, e.trade_count,
                   e.bid_volume, e.ask_volume, e.ema_fast, e.ema_slow, e.vwap, e.delta)
    return TriggerFired(e.symbol, e.trigger_id, e.ts, e.close, e.ema_fast, e.ema_slow, e.vwap,
                        e.delta)
