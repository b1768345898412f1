"""The trading state (active, reducing-only, halted; per account or all) and the kill.

One owner: a person (control), a kill, the daily loss limit, reconciliation, a lost shim
and a failed store all change it here. A change is on disk before it is reported (a halt
a crash forgets is no halt); a halt made by a person or a kill outlives the trading day.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tickbridge.engine.recovery import restore_trading_states, trading_day_start_ns
from tickbridge.risk.reasons import TradingState

if TYPE_CHECKING:
    from tickbridge.config.models import TickbridgeConfig
    from tickbridge.engine.orders import OrderRouter
    from tickbridge.engine.peers import Peers
    from tickbridge.engine.risk import RiskAdapter
    from tickbridge.engine.session import ShimSession
    from tickbridge.store import StateStore

log = logging.getLogger("tickbridge.engine")


class TradingControl:
    def __init__(self, *, risk: RiskAdapter | None, store: StateStore | None,
                 config: TickbridgeConfig | None, audit: Callable[..., None]) -> None:
        self._risk = risk
        self._store = store
        self._config = config
        self._audit = audit
        self._states: dict[str | None, TradingState] = {}  # without a risk gate
        self.kills = 0
        self.store_failed = ""  # why, once the store failed: the halt then holds
        self._kill_results: deque[Any] = deque()  # from kill-on-shim-lost threads
        self._trading_day = 0  # start (UTC ns) of the trading day the gate's PnL is of
        # Wired by the coordinator once the parts exist.
        self.peers: Peers | None = None
        self.router: OrderRouter | None = None
        self.market: Callable[[int], Any] = lambda slot: {}
        # Told why each state is set (the shims are sent it with their account's state).
        self.note_reason: Callable[[str | None, TradingState, str], None] = \
            lambda account, state, reason: None

    # -- the state -------------------------------------------------------------------
    def state(self, account: str | None = None) -> TradingState:
        if self._risk is not None:
            known = account is None or account in self._risk.gate.account_ids
            return self._risk.gate.trading_state(account if known else None)
        return self._states.get(account, self._states.get(None, TradingState.ACTIVE))

    def set(self, state: TradingState, account: str | None = None, *,
            source: str = "engine", durable: bool = True) -> None:
        """`durable`: written to the store and waited for (False: the store is what
        failed; the state holds in memory)."""
        before = self.state(account)
        if self.store_failed and state != TradingState.HALTED:
            # The store-failure halt holds until a restart: nothing could book the fills.
            log.error("trading state %s for %s refused: the state store failed (%s); "
                      "restart the engine", state.name, account or "all accounts",
                      self.store_failed)
            self._audit("trading_state_refused", account=account, state=state.name,
                        source=source, why=f"state store failed: {self.store_failed}")
            return
        self.note_reason(account, state, f"{state.name} by {source}")
        self.apply(state, account)
        if self.peers is not None:
            self.peers.sync_all()
        log.warning("trading state %s -> %s (%s, by %s)", before.name, state.name,
                    account or "all accounts", source)
        self._audit("trading_state", account=account, before=before.name, after=state.name,
                    source=source)
        if self._store is not None and durable:
            # On disk before anyone is told it is in force. A disk flush (rare: a person,
            # a kill or a limit changes it).
            try:
                self._store.save_trading_state(account, state.name, source).result(timeout=10)
            except Exception as error:  # the halt holds in memory; say it may not survive
                log.error("trading state %s for %s NOT saved (%s): a restart would not "
                          "restore it", state.name, account or "all accounts", error)

    def halt(self, account: str, source: str) -> None:
        """Halted, unless it is already (reconciliation's drift policy)."""
        if self.state(account) != TradingState.HALTED:
            self.set(TradingState.HALTED, account, source=source)

    def apply(self, state: TradingState, account: str | None) -> None:
        if self._risk is None:
            self._states[account] = state
        elif account is None or account in self._risk.gate.account_ids:
            self._risk.gate.set_trading_state(state, account)
        else:
            log.warning("trading state %s for account %s ignored: not a configured account",
                        state.name, account)

    def halt_for_store(self, why: str) -> None:
        """The state store failed (store_failure.py): every account halts, in memory."""
        self._audit("store_failed", error=why, action="trading halted for every account")
        self.store_failed = why
        self.set(TradingState.HALTED, None, source=f"state store failed: {why}",
                 durable=False)

    def restore(self) -> dict[str, str]:
        return restore_trading_states(self._store, self.apply) if self._store else {}

    # -- the kill switch -------------------------------------------------------------
    def kill(self, *, flatten: bool, account: str | None = None, source: str = "engine"
             ) -> list[str]:
        """Halts trading, then cancels every working order (and flattens) at every shim of
        the account; returns the shims reached. The shims' own kill endpoints are the
        other path, for when this engine is the problem (see tickbridge kill)."""
        assert self.peers is not None and self.router is not None
        self.kills += 1
        self.set(TradingState.HALTED, account, source=source)
        reached = []
        for session in self.peers:
            if account is not None and session.account != account:
                continue
            self.router.cancel_all(session)
            if flatten:
                self.router.flatten_session(session)
            reached.append(session.name)
        log.error("KILL (%s): %s%s", source, ", ".join(reached) or "no shims connected",
                  " with flatten" if flatten else "")
        self._audit("kill", source=source, flatten=flatten, account=account, shims=reached)
        return reached

    def audit_kill_journal(self) -> None:
        """Kill actions taken while this engine was down go into the audit chain now, and
        their halts are in force."""
        from tickbridge.risk.kill_switch import clear_kill_journal, read_kill_journal

        if self._store is None:
            return
        entries = read_kill_journal(self._store.path)
        for entry in entries:
            log.warning("kill switch used while the engine was down: %s", entry)
            # The journal names who asked when it was not the kill CLI (the dashboard).
            self._audit("kill", **{"source": "kill cli (engine not answering)", **entry})
            if "unreadable" in entry or entry.get("account") is None:
                account = None  # a torn line: the widest halt is the safe reading
            else:
                account = str(entry["account"])
            self.set(TradingState.HALTED, account, source="kill cli (engine not answering)")
        if entries:
            self._store.sync().result(timeout=30)
            clear_kill_journal(self._store.path)

    def on_shim_lost(self, session: ShimSession) -> None:
        """The automatic kill of a lost shim: its account halts, and its working orders
        are canceled through the shim's own kill endpoint (this engine's commands cannot
        reach it), from a thread so the loop never waits; the result is audited."""
        if (self._config is None or not self._config.engine.kill_on_shim_lost
                or not session.accepted or not session.account):
            return
        from tickbridge.risk.kill_switch import kill_at_shim, shim_targets

        targets = shim_targets(self._config, session.account)
        self.set(TradingState.HALTED, session.account, source="shim lost")

        def run() -> None:
            for target in targets:
                self._kill_results.append(kill_at_shim(target, flatten=False, timeout_s=3.0))

        threading.Thread(target=run, name="kill-on-shim-lost", daemon=True).start()

    def drain_kill_results(self) -> None:
        while self._kill_results:
            outcome = self._kill_results.popleft()
            log.error("kill on shim lost: %s %s: %s", outcome.target,
                      "ok" if outcome.ok else "FAILED", outcome.detail)
            self._audit("kill", source="shim lost", flatten=False, shim=outcome.target,
                        ok=outcome.ok, detail=outcome.detail)

    # -- the daily loss limit --------------------------------------------------------
    def start_day(self, now_ns: int) -> None:
        self._trading_day = trading_day_start_ns(now_ns)

    def evaluate_loss(self) -> None:
        risk = self._risk
        assert risk is not None and self.router is not None and self.peers is not None
        self._roll_day(trading_day_start_ns(risk.wall_clock()))
        for symbol in self.router.symbols():
            configured = risk.map_symbol(symbol)
            if configured is not None:
                risk.sync_market(configured, self.market(self.router.instrument(symbol).slot))
        for account, state in risk.evaluate_loss():
            log.error("daily loss limit: %s is now %s", account, state.name)
            self.note_reason(account, state, f"{state.name}: daily loss limit")
            self._audit("daily_loss_limit", account=account, trading_state=state.name,
                        pnl=risk.gate.account_pnl(account))
            if state == TradingState.HALTED:
                self.kill(flatten=False, account=account, source="daily loss limit")
        self.peers.sync_all()  # the gate's states move with the loss limit too

    def _roll_day(self, day: int) -> None:
        if day == self._trading_day:
            return
        if self._trading_day:  # a new trading day: realized PnL and loss states reset
            assert self._risk is not None
            self._risk.gate.start_new_day()
            self.restore()  # ...but a halt a person or a kill made stays
            log.info("new trading day: daily PnL and loss-limit states reset")
            self._audit("new_trading_day", day_start_ns=day)
        self._trading_day = day
