"""``tickbridge run --config FILE``: the engine process."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from tickbridge.config import ConfigError, default_config, load_config
from tickbridge.config.loader import engine_problems
from tickbridge.config.models import TickbridgeConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the engine with a config file",
        description=(
            "Runs the engine: binds the shims' ROUTER endpoint and the control endpoint "
            "(status, kill, trading state), loads the strategies, the risk gate and the "
            "SQLite state store of the config, and serves until SIGINT or SIGTERM. The mode "
            "(PAPER or LIVE) is printed at start and on every status line; a LIVE config "
            "starts only when confirmed (--confirm-live naming its accounts, or typed at a "
            "terminal). Exit codes: 0 a "
            "clean stop, 1 a runtime failure (an endpoint in use, a store that cannot be "
            "opened), 2 a bad config or bad usage."
        ),
    )
    p.add_argument("--config", type=Path,
                   help="TOML config (default: the embedded paper config for the simulator)")
    p.add_argument("--clock", choices=("wall", "market"), default="wall",
                   help="session hours and data staleness by the wall clock (live, default) "
                        "or by the last trade's time (replays, a simulator on old data)")
    p.add_argument("--shim-endpoint", help="override engine.shim_endpoint")
    p.add_argument("--control-endpoint", help="override engine.control_endpoint")
    p.add_argument("--state-store", type=Path, help="override engine.state_store")
    p.add_argument("--capture", type=Path, metavar="FILE",
                   help="record every frame in and out to FILE, for `tickbridge replay`")
    p.add_argument("--seconds", type=float, help="stop after this long (default: run until "
                                                 "stopped)")
    p.add_argument("--status-interval", type=float, default=10.0,
                   help="seconds between status lines on stderr; 0 for none (default 10)")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.add_argument("--confirm-live", metavar="ACCOUNTS",
                   help="live mode only: the config's live_accounts, comma-separated, as "
                        "the confirmation that real orders may go to them (without it, an "
                        "interactive terminal is asked to type them; anything else exits 2)")
    p.add_argument("--dashboard", action="store_true",
                   help="also serve the live dashboard (tickbridge dashboard --help); its "
                        "URLs with their tokens are printed at start")
    from tickbridge.cli.dashboard import add_serving_arguments

    add_serving_arguments(p, prefix="dashboard-")
    p.set_defaults(handler=run)


def confirm_live(config: TickbridgeConfig, given: str | None) -> str | None:
    """None when a live config may start: ``given`` (--confirm-live) names exactly its
    live accounts, or a person at a terminal typed them. Otherwise why not."""
    wanted = sorted(config.live_accounts)
    if given is not None:
        named = sorted(a.strip() for a in given.split(",") if a.strip())
        if named == wanted:
            return None
        return (f"--confirm-live {given!r} does not name this config's live accounts "
                f"exactly ({','.join(wanted)}): nothing started")
    if not sys.stdin.isatty():
        return ("a LIVE config sends real orders: confirm with --confirm-live "
                f"{','.join(wanted)} (or start it from a terminal and type them)")
    print(f"LIVE MODE: real orders to {', '.join(wanted)}. Type the account names "
          "(comma-separated) to start: ", end="", file=sys.stderr, flush=True)
    typed = sorted(a.strip() for a in sys.stdin.readline().split(",") if a.strip())
    return None if typed == wanted else "not confirmed: nothing started"


def status_line(engine: object) -> str:
    from tickbridge.engine import Engine

    assert isinstance(engine, Engine)
    router = engine.router
    shims = ", ".join(f"{s.name}{' LOST' if s.lost else ''}{' REFUSED' if s.refused else ''}"
                      for s in engine.sessions.values()) or "no shims"
    positions = " ".join(f"{s} {router.position(s):+d}" for s in router.symbols())
    working = sum(1 for o in router.book.orders() if not o.is_terminal)
    pnl = sum(sum(router.pnl(s)) for s in router.symbols())
    return (f"[{engine.mode_banner().split(' - ')[0]}] {engine.trading_state().name} | "
            f"{shims} | ticks {engine.ticks:,} | working {working} | {positions or 'flat'} | "
            f"PnL {pnl:+,.2f}")


def run(args: argparse.Namespace) -> int:
    from tickbridge.engine.build import StrategyLoadError, build_engine

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("tickbridge.run")
    try:
        config = load_config(args.config) if args.config else default_config()
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    problems = engine_problems(config)
    if problems:
        print(ConfigError(str(args.config or "default config"), problems), file=sys.stderr)
        return 2
    if config.mode == "live":
        refusal = confirm_live(config, args.confirm_live)
        if refusal is not None:
            print(f"tickbridge run: {refusal}", file=sys.stderr)
            return 2
        log.warning("live mode confirmed for %s", ", ".join(config.live_accounts))
    elif args.confirm_live is not None:
        print("tickbridge run: --confirm-live given for a paper config", file=sys.stderr)
        return 2
    try:
        engine = build_engine(config, clock=args.clock, shim_endpoint=args.shim_endpoint,
                              control_endpoint=args.control_endpoint,
                              state_store=args.state_store, capture=args.capture)
    except StrategyLoadError as e:
        print(f"tickbridge run: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a port in use, an unreadable store: say which and stop
        print(f"tickbridge run: cannot start: {e}", file=sys.stderr)
        return 1
    log.warning("%s", engine.mode_banner())
    log.info("shims connect to %s; control at %s; state store %s", engine.endpoint,
             engine.control.endpoint if engine.control else "none",
             engine.store.path if engine.store else "none")

    served = None
    if args.dashboard:
        served = _serve_dashboard(args, config, engine)
        if isinstance(served, int):  # refused (2) or could not serve (1): said why
            engine.close()
            return served

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        engine.running = False

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    last_status = time.monotonic()

    def on_idle() -> None:
        nonlocal last_status
        now = time.monotonic()
        if args.status_interval and now - last_status >= args.status_interval:
            last_status = now
            log.info("%s", status_line(engine))

    try:
        engine.run(seconds=args.seconds, on_idle=on_idle)
    finally:
        log.info("%s", status_line(engine))
        if served is not None:
            served.stop()
        engine.close()
    return 0


def _serve_dashboard(args: argparse.Namespace, config: TickbridgeConfig,
                     engine: object) -> object | int:
    """The dashboard on its own threads, asking this engine's control socket with its
    owner token; or the exit code, said why: 2 the bind rule refused, 1 it could not
    serve (its port in use)."""
    from tickbridge.cli.dashboard import print_urls, serve
    from tickbridge.dashboard.server import BindError
    from tickbridge.engine import Engine

    assert isinstance(engine, Engine)
    if engine.control is None:
        print("tickbridge run: --dashboard needs the control endpoint", file=sys.stderr)
        return 2
    owner = engine.control.auth.owner_token
    try:
        served = serve(config, control_endpoint=engine.control.endpoint,
                       token=lambda: owner,
                       state_store=Path(engine.store.path) if engine.store else None,
                       host=args.dashboard_host, port=args.dashboard_port,
                       tls_cert=args.dashboard_tls_cert, tls_key=args.dashboard_tls_key)
    except BindError as e:
        print(f"tickbridge run: {str(e).replace('--', '--dashboard-')}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as e:
        print(f"tickbridge run: the dashboard cannot serve: {e}", file=sys.stderr)
        return 1
    print_urls(served, sys.stderr)
    return served
