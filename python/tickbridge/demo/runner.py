"""Runs the platform simulator (a separate process, over ZeroMQ) against an in-process
engine built from the embedded default config (paper mode, risk gate, SQLite state store,
the EMA-cross strategy), and records what a person wants to see."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tickbridge.audit import verify_chain
from tickbridge.config import default_config
from tickbridge.config.models import TickbridgeConfig
from tickbridge.engine import Context, Engine
from tickbridge.engine.build import build_engine
from tickbridge.engine.events import Bar, FillEvent
from tickbridge.store.connection import open_reader
from tickbridge.strategies import EmaCross


@dataclass
class InstrumentSummary:
    symbol: str
    bars: int = 0
    orders: int = 0
    fills: int = 0
    position: int = 0
    platform_position: int | None = None
    realized: float = 0.0
    unrealized: float = 0.0


@dataclass
class DemoResult:
    ticks: int
    frames: int
    seconds: float
    sim_exit_code: int | None
    protocol_errors: int
    anomalies: list[str]
    refusals: int
    audit_problem: str | None
    audit_records: int
    store: Path
    instruments: dict[str, InstrumentSummary]
    prices: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    fills: list[FillEvent] = field(default_factory=list)
    equity: list[tuple[int, float]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.sim_exit_code != 0:
            found.append(f"the simulator exited with code {self.sim_exit_code}")
        if self.protocol_errors:
            found.append(f"{self.protocol_errors} malformed frames")
        found += [f"state machine: {a}" for a in self.anomalies]
        if self.audit_problem:
            found.append(f"audit chain: {self.audit_problem}")
        for s in self.instruments.values():
            if s.platform_position is not None and s.platform_position != s.position:
                found.append(f"{s.symbol}: engine position {s.position} but the platform "
                             f"reports {s.platform_position}")
        return found

    @property
    def clean(self) -> bool:
        return not self.problems


class _RecordingEmaCross(EmaCross):
    """The built-in strategy, plus what the chart needs."""

    def __init__(self, result_prices: dict, result_fills: list, equity: list,
                 **params: object) -> None:
        super().__init__(**params)
        self._prices = result_prices
        self._fills = result_fills
        self._equity = equity

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self._prices.setdefault(bar.symbol, []).append((bar.time_ns, bar.close))
        super().on_bar(ctx, bar)
        total = sum(sum(ctx.pnl(s)) for s in self._prices)
        self._equity.append((bar.time_ns, total))

    def on_fill(self, ctx: Context, fill: FillEvent) -> None:
        self._fills.append(fill)
        super().on_fill(ctx, fill)


def run_demo(
    *,
    store: Path,
    config: TickbridgeConfig | None = None,
    ticks: int = 1_000_000,
    seed: int = 1,
    bar_seconds: float = 60.0,
    progress: Callable[[Engine, float], None] | None = None,
    timeout: float = 300.0,
) -> DemoResult:
    """``store`` is replaced: each demo starts from an empty state store."""
    config = config or default_config()
    prices: dict[str, list[tuple[int, float]]] = {}
    fills: list[FillEvent] = []
    equity: list[tuple[int, float]] = []
    spec = config.strategies[0]
    strategy = _RecordingEmaCross(prices, fills, equity, **spec.params)
    strategy.name, strategy.instruments = spec.name, tuple(spec.instruments)
    for stale in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), Path(f"{store}.witness")):
        stale.unlink(missing_ok=True)
    # Ephemeral loopback ports: the demo never collides with a running engine. The risk
    # gate's clock is the tape's (the bundled session is a past Wednesday's cash open).
    engine = build_engine(config, clock="market", shim_endpoint="tcp://127.0.0.1:*",
                          control_endpoint="tcp://127.0.0.1:*", state_store=store,
                          strategies=[strategy], bar_interval_s=bar_seconds)
    sim = subprocess.Popen(
        [sys.executable, "-m", "tickbridge", "sim", "--engine", engine.endpoint,
         "--kill-endpoint", "none", "--ticks", str(ticks), "--seed", str(seed), "--speed", "0",
         "--keep-time", "--account", config.accounts[0].name, "--exit-after-end", "1.5",
         "--status-interval", "0", "--log-level", "WARNING"],
        stdin=subprocess.DEVNULL,
    )
    started = time.monotonic()
    last_progress = 0.0

    def tick() -> None:
        nonlocal last_progress
        now = time.monotonic()
        if progress is not None and now - last_progress >= 0.25:
            last_progress = now
            progress(engine, now - started)

    try:
        engine.run(until=lambda: sim.poll() is not None, seconds=timeout, on_idle=tick)
        engine.poll(timeout_ms=100)  # what the simulator said last
    finally:
        if sim.poll() is None:
            sim.terminate()
        sim_exit = sim.wait(timeout=10)
        if progress is not None:
            progress(engine, time.monotonic() - started)
        summary = _summarize(engine, prices)
        engine.close()
        with open_reader(store) as conn:
            chain = verify_chain(conn)
        result = DemoResult(
            ticks=engine.ticks, frames=engine.frames, seconds=time.monotonic() - started,
            sim_exit_code=sim_exit, protocol_errors=engine.protocol_errors,
            anomalies=list(engine.router.events.anomalies), refusals=engine.router.refusals,
            audit_problem=None if chain.broken is None else
            f"broken at record {chain.broken.record_id}: {chain.broken.problem}",
            audit_records=chain.records,
            store=store, instruments=summary, prices=prices, fills=fills, equity=equity,
        )
    return result


def _summarize(engine: Engine, prices: dict) -> dict[str, InstrumentSummary]:
    out: dict[str, InstrumentSummary] = {}
    orders = engine.router.book.orders()
    platform = {}
    for session in engine.sessions.values():
        platform.update(session.platform_positions)
    for symbol in engine.router.symbols():
        realized, unrealized = engine.router.pnl(symbol)
        mine = [o for o in orders if o.instrument == symbol]
        out[symbol] = InstrumentSummary(
            symbol=symbol, bars=len(prices.get(symbol, [])), orders=len(mine),
            fills=sum(len(engine.router.book.fills(o.client_order_id)) for o in mine),
            position=engine.router.position(symbol), platform_position=platform.get(symbol),
            realized=realized, unrealized=unrealized,
        )
    return out
