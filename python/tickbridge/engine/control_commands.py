"""What the control socket's requests do (see control.py for the wire format)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tickbridge.protocol import OrderType, Side, TimeInForce
from tickbridge.risk.reasons import TradingState

if TYPE_CHECKING:
    from tickbridge.engine.engine import Engine


def handle_control(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    cmd = request["cmd"]
    handler = _HANDLERS.get(cmd)
    if handler is None:
        return {"ok": False, "error": f"unknown command {cmd!r}; one of {', '.join(_HANDLERS)}"}
    return handler(engine, request)


# Shims listed by status at most (accepted ones first); the rest are only counted.
STATUS_SHIMS = 50


def _accounts(engine: Engine) -> dict[str, str]:
    """Each account's trading state; an account whose only hellos were refused is
    REFUSED (it is not trading, whatever the global state says)."""
    accounts: dict[str, str] = {}
    for s in engine.sessions.values():
        if s.account and s.platform is not None and not s.refused:
            accounts[s.account] = engine.trading_state(s.account).name
    for s in engine.sessions.values():
        if len(accounts) >= STATUS_SHIMS:
            break
        if s.account and s.refused:
            accounts.setdefault(s.account, "REFUSED")
    return accounts


def _status(engine: Engine, _: dict[str, Any]) -> dict[str, Any]:
    router = engine.router
    # Current peers only (forgotten ones are gone from engine.sessions), bounded.
    sessions = sorted(engine.sessions.values(),
                      key=lambda s: (s.platform is None or bool(s.refused), s.lost))
    return {
        "ok": True,
        "mode": engine.mode_banner(),
        "session_id": engine.session_id,
        "trading_state": engine.trading_state().name,
        "accounts": _accounts(engine),
        "ticks": engine.ticks,
        "frames": engine.frames,
        "protocol_errors": engine.protocol_errors,
        "peers": len(engine.sessions),
        "shims": [{"name": s.name, "account": s.account, "simulated": s.simulated,
                   "lost": s.lost, "refused": s.refused, "last_sequence": s.last_sequence,
                   "instruments": [i.symbol for i in s.instruments.values()]}
                  for s in sessions[:STATUS_SHIMS]],
        "positions": {symbol: router.position(symbol) for symbol in router.symbols()},
        "working_orders": [
            {"client_order_id": o.client_order_id_text, "instrument": o.instrument,
             "side": o.side.name, "qty": int(o.qty), "filled": int(o.filled_qty),
             "status": o.status.name}
            for o in router.book.orders() if not o.is_terminal],
    }


def _kill(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    flatten = bool(request.get("flatten", False))
    account = request.get("account")
    reached = engine.kill(flatten=flatten, account=account, source=str(request.get("source",
                                                                                    "control")))
    accounts = sorted({s.account for s in engine.sessions.values() if s.name in reached})
    return {"ok": True, "flatten": flatten, "account": account, "shims": reached,
            "accounts": accounts, "trading_state": engine.trading_state(account).name}


def _audit_kill(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The kill CLI's direct-path results (the shims' own endpoints), into the chain."""
    engine.audit("kill_direct", flatten=bool(request.get("flatten")),
                 account=request.get("account"), outcomes=request.get("outcomes", []))
    return {"ok": True}


def _set_state(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    name = str(request.get("state", "")).upper().replace("-", "_")
    if name == "REDUCING":
        name = "REDUCING_ONLY"
    if name not in TradingState.__members__:
        return {"ok": False, "error": f"state must be one of "
                                      f"{', '.join(s.name for s in TradingState)}, not {name!r}"}
    account = request.get("account")
    engine.set_trading_state(TradingState[name], account, source=str(request.get("source",
                                                                                  "control")))
    return {"ok": True, "trading_state": engine.trading_state(account).name, "account": account}


def _submit(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    try:
        side = Side[str(request["side"]).upper()]
        order_type = OrderType[str(request.get("order_type", "MARKET")).upper()]
        tif = TimeInForce[str(request.get("tif", "DAY")).upper()]
        quantity = request["quantity"]
        symbol = str(request["symbol"])
    except KeyError as e:
        return {"ok": False, "error": f"missing or unknown field {e}"}
    price = request.get("price")
    stop = request.get("stop_price")
    result = engine.router.submit(
        strategy=str(request.get("source", "control")), symbol=symbol, side=side,
        quantity=quantity, order_type=order_type,
        price=math.nan if price is None else float(price),
        stop_price=math.nan if stop is None else float(stop), tif=tif)
    if isinstance(result, str):
        return {"ok": False, "error": result}
    return {"ok": True, "client_order_id": result,
            "client_order_id_text": f"TB{result:016X}"}


def _coid(request: dict[str, Any]) -> int:
    """A client order id as a number, or as its text form ``TB%016X``."""
    value = request["client_order_id"]
    if isinstance(value, str) and value.upper().startswith("TB"):
        return int(value[2:], 16)
    return int(value)


def _replace(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    try:
        coid = _coid(request)
    except (KeyError, ValueError) as e:
        return {"ok": False, "error": f"client_order_id: {e}"}
    quantity, price = request.get("quantity"), request.get("price")
    error = engine.router.replace(coid, None if quantity is None else int(quantity),
                                  None if price is None else float(price))
    return {"ok": error is None, "error": error, "client_order_id": coid}


def _order(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """One order as the engine knows it: state, quantities, its fills."""
    try:
        coid = _coid(request)
        order = engine.router.book.order(coid)
    except (KeyError, ValueError) as e:
        return {"ok": False, "error": f"unknown order: {e}"}
    fills = engine.router.book.fills(coid)
    return {"ok": True, "client_order_id": coid, "instrument": order.instrument,
            "side": order.side.name, "qty": int(order.qty), "filled": int(order.filled_qty),
            "leaves": int(order.leaves_qty), "price": order.price, "status": order.status.name,
            "fills": [{"execution_id": f.exec_id, "qty": int(f.qty), "price": f.price}
                      for f in fills]}


def _market(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """The compiled core's market state of one instrument (last trade, quote, counts)."""
    symbol = str(request.get("symbol", ""))
    if symbol not in engine.router.symbols():
        return {"ok": False, "error": f"unknown symbol {symbol!r}; known: "
                                      f"{', '.join(engine.router.symbols()) or 'none'}"}
    market = engine.router.market(symbol)
    return {"ok": True, "symbol": symbol,
            "market": {k: (None if isinstance(v, float) and math.isnan(v) else v)
                       for k, v in market.items()}}


def _reload_risk(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    if engine.risk is None:
        return {"ok": False, "error": "this engine runs without a risk configuration"}
    from tickbridge.config import ConfigError, reload_risk_limits

    try:
        limits, diff = reload_risk_limits(engine.risk.gate.limits,
                                          str(request.get("toml", "")), engine.config)
    except ConfigError as e:  # validated first: nothing applied, the refusal audited
        engine.audit("config_change_refused", what="risk limits", errors=str(e),
                     source=str(request.get("source", "control")))
        return {"ok": False, "error": str(e)}
    engine.risk.gate.replace_limits(limits)
    engine.audit("config_change", what="risk limits", diff=diff,
                 source=str(request.get("source", "control")))
    return {"ok": True, "changes": diff}


def _symbols(engine: Engine, _: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "symbols": engine.router.symbols()}


def _position(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    symbol = str(request.get("symbol", ""))
    if symbol not in engine.router.symbols():
        return {"ok": False, "error": f"unknown instrument {symbol!r} (the shims define: "
                                      f"{', '.join(engine.router.symbols()) or 'none yet'})"}
    return {"ok": True, "symbol": symbol, "position": engine.router.position(symbol),
            "working_orders": len(engine.router.working_orders(symbol))}


def _cancel(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """Cancels the working orders a source placed (a webhook strategy's), on one symbol or
    all; a client_order_id cancels that order only."""
    source = str(request.get("source", "control"))
    symbol = request.get("symbol")
    if symbol is not None and str(symbol) not in engine.router.symbols():
        return {"ok": False, "error": f"unknown instrument {symbol!r}"}
    if request.get("client_order_id") is not None:
        try:
            targets = [_coid(request)]
        except ValueError as e:
            return {"ok": False, "error": f"client_order_id: {e}"}
    else:
        targets = engine.router.working_orders_of(source, None if symbol is None
                                                  else str(symbol))
    canceled, errors = [], []
    for coid in targets:
        if coid in engine.router.book and \
                engine.router.book.order(coid).status.name == "PENDING_CANCEL":
            continue  # asked already; a second cancel would be refused by the state machine
        error = engine.router.cancel(coid)
        if error is None:
            canceled.append(coid)
        else:
            errors.append(f"{coid}: {error}")
    if errors:
        return {"ok": False, "canceled": canceled, "error": "; ".join(errors)}
    return {"ok": True, "canceled": canceled}


_HANDLERS = {
    "status": _status,
    "kill": _kill,
    "audit_kill": _audit_kill,
    "set_state": _set_state,
    "submit": _submit,
    "cancel": _cancel,
    "replace": _replace,
    "order": _order,
    "market": _market,
    "reload_risk": _reload_risk,
    "symbols": _symbols,
    "position": _position,
}
