"""An Engine made from a validated configuration: settings, risk gate, state store,
strategies by name, control socket. What `tickbridge run` and `tickbridge demo` start."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tickbridge.capture import FrameRecorder
from tickbridge.config.models import StrategyConfig, TickbridgeConfig
from tickbridge.engine.engine import Engine
from tickbridge.engine.risk import RiskAdapter
from tickbridge.engine.settings import EngineSettings
from tickbridge.engine.strategy import Strategy
from tickbridge.store import StateStore
from tickbridge.store.thread_placement import Placement
from tickbridge.strategies import BUILTIN


class StrategyLoadError(ValueError):
    pass


def strategy_class(entry: str) -> type[Strategy]:
    """A built-in name (``ema_cross``) or ``package.module:Class``."""
    if entry in BUILTIN:
        return BUILTIN[entry]
    module_name, _, class_name = entry.partition(":")
    if not class_name:
        raise StrategyLoadError(f"strategy entry {entry!r} is neither a built-in "
                                f"({', '.join(BUILTIN)}) nor 'package.module:Class'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise StrategyLoadError(f"strategy entry {entry!r}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StrategyLoadError(f"strategy entry {entry!r} is not a tickbridge Strategy")
    return cls


def load_strategy(spec: StrategyConfig) -> Strategy:
    cls = strategy_class(spec.entry)
    try:
        strategy = cls(**spec.params)
    except (TypeError, ValueError) as e:
        raise StrategyLoadError(f"strategies.{spec.name}.params: {e}") from e
    strategy.name = spec.name
    # Configured symbols (roots); the engine maps each platform symbol to one of these.
    strategy.instruments = tuple(spec.instruments)
    return strategy


def build_engine(
    config: TickbridgeConfig,
    *,
    clock: str = "wall",
    shim_endpoint: str | None = None,
    control_endpoint: str | None = None,
    state_store: Path | None = None,
    strategies: list[Strategy] | None = None,
    audit: Callable[..., None] | None = None,
    capture: Path | None = None,
    order_id_epoch: int | None = None,
    **settings: Any,
) -> Engine:
    """Every argument but ``config`` overrides what the config says (tests and the demo
    bind ephemeral ports and keep their store in a temporary folder)."""
    engine_cfg = config.engine
    engine_settings = EngineSettings(
        endpoint=shim_endpoint or engine_cfg.shim_endpoint,
        heartbeat_ms=engine_cfg.heartbeat_ms,
        insecure_bind=engine_cfg.insecure_bind,
        curve_secret_key_file=engine_cfg.curve_secret_key_file,
        curve_authorized_keys_dir=engine_cfg.curve_authorized_keys_dir,
        **{"snapshot_interval_s": engine_cfg.snapshot_interval_s,
           "busy_poll_us": engine_cfg.busy_poll_us, "cpu": engine_cfg.cpu,
           "compiled_receive": engine_cfg.compiled_receive, **settings},
    )
    loaded = strategies if strategies is not None else [load_strategy(s)
                                                         for s in config.strategies]
    store = StateStore(state_store or engine_cfg.state_store,
                       witness_copy=engine_cfg.witness_copy,
                       background=Placement(engine_cfg.store_priority, engine_cfg.cpu))
    recorder = FrameRecorder(capture) if capture is not None else None
    try:
        return Engine(engine_settings, loaded, audit=audit, risk=RiskAdapter(config, clock=clock),
                      store=store, config=config,
                      control_endpoint=control_endpoint or engine_cfg.control_endpoint,
                      capture=recorder, order_id_epoch=order_id_epoch)
    except Exception:
        store.close()
        if recorder is not None:
            recorder.close()
        raise
