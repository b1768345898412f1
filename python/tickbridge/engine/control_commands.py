"""What the control socket's requests do (see control.py for the wire format), who may
ask for each (control_auth.py) and the strict form of each request (control_requests.py).

Every request is audited with its caller's name and role: ``control_request`` when it
is let through (before it runs; what it did is audited by the action itself), and
``control_refused`` when it is not (no or unknown token, a role too low, a bad field).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from tickbridge.engine.control_auth import Caller, Role
from tickbridge.engine.control_requests import (
    AuditKillRequest,
    CancelRequest,
    CopierSyncRequest,
    KillRequest,
    OrderRequest,
    ReloadRiskRequest,
    ReplaceRequest,
    SetStateRequest,
    SubmitRequest,
    SymbolRequest,
    parse,
)
from tickbridge.protocol import OrderType, Side, TimeInForce
from tickbridge.risk.reasons import TradingState

if TYPE_CHECKING:
    from tickbridge.engine.session import ShimSession


class Engine(Protocol):
    """What the control commands read and call (engine.py's Engine is one)."""

    router: Any
    risk: Any
    config: Any
    session_id: int
    store_failure: Any
    platform_link: Any
    view: Any  # control_view.ControlView

    @property
    def sessions(self) -> dict[bytes, ShimSession]: ...
    @property
    def ticks(self) -> int: ...
    @property
    def frames(self) -> int: ...
    @property
    def protocol_errors(self) -> int: ...
    def audit(self, kind: str, **payload: Any) -> None: ...
    def trading_state(self, account: str | None = None) -> TradingState: ...
    def set_trading_state(self, state: TradingState, account: str | None = None, *,
                          source: str = "engine") -> None: ...
    def kill(self, *, flatten: bool, account: str | None = None,
             source: str = "engine") -> list[str]: ...
    def mode_banner(self) -> str: ...

# The least role each command needs; set_state needs RISK when it loosens (_needed).
ROLES: dict[str, Role] = {
    "status": Role.READ, "dashboard": Role.READ, "symbols": Role.READ,
    "position": Role.READ, "market": Role.READ, "order": Role.READ,
    "submit": Role.TRADE, "cancel": Role.TRADE, "replace": Role.TRADE,
    # A kill only tightens: whoever may trade may stop trading. Undoing it is set_state.
    "kill": Role.TRADE, "audit_kill": Role.TRADE, "set_state": Role.TRADE,
    # Any reload may raise a limit: always the risk role.
    "reload_risk": Role.RISK,
    # A sync sends follower orders (through each follower's gate): the trade role.
    "copier_status": Role.READ, "copier_sync": Role.TRADE,
}


def handle_control(engine: Engine, request: dict[str, Any],
                   caller: Caller | None) -> dict[str, Any]:
    shown = {k: v for k, v in request.items() if k not in ("token", "toml")}
    cmd = request.get("cmd")

    def refuse(error: str, **who: str) -> dict[str, Any]:
        engine.audit("control_refused", cmd=cmd, error=error, request=shown, **who)
        return {"ok": False, "error": error}

    if caller is None:
        why = "no token" if request.get("token") is None else "unknown token"
        return refuse(f"not authenticated ({why}): every control request needs the token "
                      "of a control client (the local CLI reads the owner's token file "
                      "beside the state store; see docs/security.md)",
                      caller="(unauthenticated)")
    parsed = parse(request)
    if isinstance(parsed, str):
        return refuse(parsed, **caller.audit_fields())
    account = getattr(parsed, "account", None)
    if account is not None and not _known_account(engine, account):
        return refuse(f"account: {account!r} is not a configured account",
                      **caller.audit_fields())
    needed, why = _needed(engine, parsed)
    if caller.role < needed:
        return refuse(f"{cmd}: client {caller.name!r} has the {caller.role.name.lower()} "
                      f"role; {why} needs the {needed.name.lower()} role",
                      **caller.audit_fields())
    # A dashboard polls several times a second: its reads are audited once per caller per
    # control_view.AUDIT_EVERY_S (who watches), every other request each time.
    if parsed.cmd != "dashboard" or engine.view.audit_due(caller.name):
        engine.audit("control_request", request=shown, **caller.audit_fields())
    return _HANDLERS[parsed.cmd](engine, parsed)


def _known_account(engine: Engine, account: str) -> bool:
    if engine.risk is not None:
        return account in engine.risk.gate.account_ids
    return engine.config is None or engine.config.account(account) is not None


def _needed(engine: Engine, request: Any) -> tuple[Role, str]:
    """The role ``request`` needs, and what for (said in a refusal)."""
    cmd = request.cmd
    if isinstance(request, SetStateRequest):
        new = TradingState[request.state_name]
        current = engine.trading_state(request.account)
        if new < current:  # less strict than now: leaving HALTED or REDUCING_ONLY
            return Role.RISK, (f"loosening the trading state ({current.name} -> {new.name}, "
                               f"{request.account or 'all accounts'})")
        return Role.TRADE, "tightening the trading state"
    if cmd == "reload_risk":
        return Role.RISK, "reloading risk limits"
    role = ROLES[cmd]
    return role, "reading" if role == Role.READ else cmd


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
        # The store's failure halts trading until a restart (engine/store_failure.py).
        "store_failed": engine.store_failure.failed or None,
        "shims": [{"name": s.name, "account": s.account, "simulated": s.simulated,
                   "link": s.admission.value, "lost": s.lost, "refused": s.refused,
                   "last_sequence": s.last_sequence,
                   "platform": engine.platform_link.status(s),
                   "instruments": [i.symbol for i in s.instruments.values()]}
                  for s in sessions[:STATUS_SHIMS]],
        "positions": {symbol: router.position(symbol) for symbol in router.symbols()},
        "working_orders": [
            {"client_order_id": o.client_order_id_text, "instrument": o.instrument,
             "side": o.side.name, "qty": int(o.qty), "filled": int(o.filled_qty),
             "status": o.status.name}
            for o in router.book.orders() if not o.is_terminal],
    }


def _kill(engine: Engine, request: KillRequest) -> dict[str, Any]:
    reached = engine.kill(flatten=request.flatten, account=request.account,
                          source=request.source)
    accounts = sorted({s.account for s in engine.sessions.values() if s.name in reached})
    return {"ok": True, "flatten": request.flatten, "account": request.account,
            "shims": reached, "accounts": accounts,
            "trading_state": engine.trading_state(request.account).name}


def _audit_kill(engine: Engine, request: AuditKillRequest) -> dict[str, Any]:
    """The kill CLI's direct-path results (the shims' own endpoints), into the chain."""
    engine.audit("kill_direct", flatten=request.flatten, account=request.account,
                 outcomes=request.outcomes, source=request.source)
    return {"ok": True}


def _set_state(engine: Engine, request: SetStateRequest) -> dict[str, Any]:
    account = request.account
    engine.set_trading_state(TradingState[request.state_name], account, source=request.source)
    return {"ok": True, "trading_state": engine.trading_state(account).name, "account": account}


def _submit(engine: Engine, request: SubmitRequest) -> dict[str, Any]:
    result = engine.router.submit(
        strategy=request.source, symbol=request.symbol, side=Side[request.side],
        quantity=request.quantity, order_type=OrderType[request.order_type],
        price=math.nan if request.price is None else request.price,
        stop_price=math.nan if request.stop_price is None else request.stop_price,
        tif=TimeInForce[request.tif])
    if isinstance(result, str):
        return {"ok": False, "error": result}
    return {"ok": True, "client_order_id": result,
            "client_order_id_text": f"TB{result:016X}"}


def _replace(engine: Engine, request: ReplaceRequest) -> dict[str, Any]:
    coid = request.coid
    error = engine.router.replace(coid, request.quantity, request.price)
    return {"ok": error is None, "error": error, "client_order_id": coid}


def _order(engine: Engine, request: OrderRequest) -> dict[str, Any]:
    """One order as the engine knows it: state, quantities, its fills."""
    coid = request.coid
    try:
        order = engine.router.book.order(coid)
    except (KeyError, ValueError) as e:
        return {"ok": False, "error": f"client_order_id: unknown order: {e}"}
    fills = engine.router.book.fills(coid)
    return {"ok": True, "client_order_id": coid, "instrument": order.instrument,
            "side": order.side.name, "qty": int(order.qty), "filled": int(order.filled_qty),
            "leaves": int(order.leaves_qty), "price": order.price, "status": order.status.name,
            "fills": [{"execution_id": f.exec_id, "qty": int(f.qty), "price": f.price}
                      for f in fills]}


def _market(engine: Engine, request: SymbolRequest) -> dict[str, Any]:
    """The compiled core's market state of one instrument (last trade, quote, counts)."""
    symbol = request.symbol
    if symbol not in engine.router.symbols():
        return {"ok": False, "error": f"symbol: unknown symbol {symbol!r}; known: "
                                      f"{', '.join(engine.router.symbols()) or 'none'}"}
    market = engine.router.market(symbol)
    return {"ok": True, "symbol": symbol,
            "market": {k: (None if isinstance(v, float) and math.isnan(v) else v)
                       for k, v in market.items()}}


def _reload_risk(engine: Engine, request: ReloadRiskRequest) -> dict[str, Any]:
    if engine.risk is None:
        return {"ok": False, "error": "this engine runs without a risk configuration"}
    from tickbridge.config import ConfigError, reload_risk_limits

    try:
        limits, diff = reload_risk_limits(engine.risk.gate.limits, request.toml, engine.config)
    except ConfigError as e:  # validated first: nothing applied, the refusal audited
        engine.audit("config_change_refused", what="risk limits", errors=str(e),
                     source=request.source)
        return {"ok": False, "error": str(e)}
    engine.risk.gate.replace_limits(limits)
    engine.audit("config_change", what="risk limits", diff=diff, source=request.source)
    return {"ok": True, "changes": diff}


def _symbols(engine: Engine, _: Any) -> dict[str, Any]:
    return {"ok": True, "symbols": engine.router.symbols()}


def _position(engine: Engine, request: SymbolRequest) -> dict[str, Any]:
    symbol = request.symbol
    if symbol not in engine.router.symbols():
        known = ", ".join(engine.router.symbols()) or "none yet"
        return {"ok": False, "error": f"symbol: unknown instrument {symbol!r} (the shims "
                                      f"define: {known})"}
    return {"ok": True, "symbol": symbol, "position": engine.router.position(symbol),
            "working_orders": len(engine.router.working_orders(symbol))}


def _cancel(engine: Engine, request: CancelRequest) -> dict[str, Any]:
    """Cancels the working orders a source placed (a webhook strategy's), on one symbol or
    all; a client_order_id cancels that order only."""
    symbol = request.symbol
    if symbol is not None and symbol not in engine.router.symbols():
        return {"ok": False, "error": f"symbol: unknown instrument {symbol!r}"}
    if request.client_order_id is not None:
        targets = [int(request.client_order_id)]
    else:
        targets = engine.router.working_orders_of(request.source, symbol)
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


def _copier_status(engine: Engine) -> dict[str, Any]:
    copier = getattr(engine, "copier", None)
    if copier is None:
        return {"ok": False, "error": "no [copier] section in the engine's config"}
    return {"ok": True, **copier.status()}


def _copier_sync(engine: Engine, request: CopierSyncRequest) -> dict[str, Any]:
    copier = getattr(engine, "copier", None)
    if copier is None:
        return {"ok": False, "error": "no [copier] section in the engine's config"}
    if request.account is not None and request.account not in copier.followers:
        return {"ok": False, "error": f"account: {request.account!r} is not a follower "
                                      f"({', '.join(copier.followers)})"}
    policy = request.policy or copier.config.policy
    engine.audit("copier_sync", account=request.account, policy=policy, source=request.source)
    return copier.sync.run(policy=policy, account=request.account,
                           source=f"demand ({request.source})")


_HANDLERS: dict[str, Callable[[Engine, Any], dict[str, Any]]] = {
    "status": lambda engine, _: _status(engine, {}),
    "dashboard": lambda engine, _: engine.view.snapshot(),
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
    "copier_status": lambda engine, _: _copier_status(engine),
    "copier_sync": lambda engine, request: _copier_sync(engine, request),
}
