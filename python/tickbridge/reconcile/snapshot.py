"""A ``PlatformSnapshot`` from decoded wire records (numpy structured arrays)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tickbridge.protocol import OrderStatus, Side
from tickbridge.reconcile.views import FillView, OrderView, PlatformSnapshot, PositionView


def _text(value: bytes | np.bytes_) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", "replace")


def _symbol(symbols: Mapping[int, str], instrument_id: int) -> str:
    # An id the shim never defined is kept visible rather than dropped or guessed.
    return symbols.get(int(instrument_id), f"instrument#{int(instrument_id)}")


def snapshot_from_records(account: str, symbols: Mapping[int, str], *,
                          order_updates: np.ndarray | None = None,
                          positions: np.ndarray | None = None,
                          fills: np.ndarray | None = None,
                          request_id: int = 0) -> PlatformSnapshot:
    """``symbols`` maps the shim's instrument ids (from its InstrumentDefinitions) to
    symbols. Pass None for a part the SnapshotRequest did not ask for; an empty array for
    a part asked for and empty. Several OrderUpdates of one order: the last one wins."""
    orders = None
    if order_updates is not None:
        latest: dict[tuple[int, str], OrderView] = {}
        for r in order_updates:
            view = OrderView(int(r["client_order_id"]), _symbol(symbols, r["instrument_id"]),
                             OrderStatus(int(r["status"])).name, int(r["quantity"]),
                             int(r["filled_quantity"]), Side(int(r["side"])).name,
                             _text(r["platform_order_id"]))
            # External orders (id 0) are told apart by the platform's own order id.
            latest[(view.client_order_id, view.platform_order_id if not view.client_order_id
                    else "")] = view
        orders = tuple(latest.values())
    position_views = None
    if positions is not None:
        position_views = tuple(
            PositionView(_symbol(symbols, r["instrument_id"]), int(r["quantity"]),
                         float(r["average_price"])) for r in positions)
    fill_views = None
    if fills is not None:
        fill_views = tuple(
            FillView(_text(r["execution_id"]), int(r["client_order_id"]),
                     _symbol(symbols, r["instrument_id"]), Side(int(r["side"])).name,
                     int(r["quantity"]), float(r["price"]), int(r["time_ns"]),
                     _text(r["platform_order_id"])) for r in fills)
    return PlatformSnapshot(account, orders, position_views, fill_views, request_id)
