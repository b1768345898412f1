"""The simulated platform's state on disk (``tickbridge sim --state FILE``), so a
simulator killed and restarted mid-session still has its orders, positions and fills, as
a real platform's broker account does when the platform or its shim restarts.

JSON (not pickle: loading a state file must not run code), written atomically (temp file
then rename) after every batch of order events, so even SIGKILL loses at most the events
of the loop pass it interrupted.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tickbridge.protocol import DTYPES, OrderStatus, OrderType, RecordType, Side, TimeInForce
from tickbridge.sim.matching import Order
from tickbridge.sim.platform import (
    HAND_ORDER_ID_BITS,
    PLATFORM_ORDER_ID_BIT,
    PositionBook,
    SimulatedPlatform,
)

STATE_VERSION = 1


class StateError(ValueError):
    """A state file that does not belong to this simulator set-up."""


def save_state(platform: SimulatedPlatform, path: str | os.PathLike[str],
               clock_ns: int | None = None) -> None:
    """``clock_ns``: the simulated time of the save, so a restart on a --keep-time tape
    resumes the market after it instead of replaying (time never runs backwards)."""
    path = Path(path)
    fills = b"".join(f.tobytes() for f in platform.fills)
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "account": platform.config.account,
        "symbols": [spec.symbol for spec in platform.instruments.values()],
        "orders": [_order_to_json(o) for o in platform.matching.orders.values()],
        "positions": {str(i): [b.quantity, b.average_price, b.realized_pnl]
                      for i, b in platform.positions.items()},
        "fills": base64.b64encode(fills).decode(),
        "clock_ns": clock_ns,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def load_state(platform: SimulatedPlatform, path: str | os.PathLike[str], now: int) -> str:
    """Restores a saved state into a fresh platform; returns a one-line summary."""
    path = Path(path)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: unreadable simulator state: {exc}") from exc
    if state.get("version") != STATE_VERSION:
        raise StateError(f"{path}: state version {state.get('version')} "
                         f"(this simulator writes {STATE_VERSION})")
    symbols = [spec.symbol for spec in platform.instruments.values()]
    if state["symbols"] != symbols or state["account"] != platform.config.account:
        raise StateError(
            f"{path}: saved for account {state['account']} on {state['symbols']}, "
            f"not {platform.config.account} on {symbols}; use another --state file"
        )
    orders = [_order_from_json(o) for o in state["orders"]]
    platform.matching.restore(orders, now)
    platform.positions = {int(i): PositionBook(int(q), float(a), float(r))
                          for i, (q, a, r) in state["positions"].items()}
    raw = base64.b64decode(state["fills"])
    fills = np.frombuffer(raw, DTYPES[RecordType.FILL]).copy()
    platform.fills = [fills[i:i + 1] for i in range(len(fills))]
    platform._platform_orders = max(
        [o.client_order_id & ~PLATFORM_ORDER_ID_BIT for o in orders
         if o.client_order_id & HAND_ORDER_ID_BITS == PLATFORM_ORDER_ID_BIT] or [0])
    working = sum(not o.finished for o in orders)
    held = ", ".join(f"{platform.instruments[i].symbol} {b.quantity:+d}"
                     for i, b in platform.positions.items())
    return f"restored {len(orders)} orders ({working} working), {len(fills)} fills, {held}"


def saved_clock(path: str | os.PathLike[str]) -> int | None:
    """The simulated time a state file was saved at, if it says."""
    try:
        value = json.loads(Path(path).read_text()).get("clock_ns")
    except (OSError, ValueError):
        return None
    return int(value) if value else None


def _order_to_json(order: Order) -> dict[str, Any]:
    data = dict(order.__dict__)
    for key in ("side", "order_type", "time_in_force", "status"):
        data[key] = int(data[key])
    return data


def _order_from_json(data: dict[str, Any]) -> Order:
    data = dict(data)
    data["side"] = Side(data["side"])
    data["order_type"] = OrderType(data["order_type"])
    data["time_in_force"] = TimeInForce(data["time_in_force"])
    data["status"] = OrderStatus(data["status"])
    return Order(**data)
