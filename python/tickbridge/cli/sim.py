"""``tickbridge sim``: the platform simulator, as a platform shim would connect."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from pathlib import Path

from tickbridge.protocol import ConnectionState, Platform
from tickbridge.sim.feed import (
    FeedError,
    MarketTape,
    generated_tape,
    tape_from_file,
    truncated,
)
from tickbridge.sim.generator import BUILTIN
from tickbridge.sim.matching import SessionOpen, always_open
from tickbridge.sim.persist import StateError
from tickbridge.sim.process import (
    SimConfig,
    Simulator,
    curve_client_keys,
    kill_secret_from_env,
)
from tickbridge.sim.quirks import QUIRK_NAMES, QuirkConfig

DEFAULT_TICKS_PER_INSTRUMENT = 100_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="run the platform simulator (ticks, paper fills) against an engine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "A simulated Sierra Chart / NinjaTrader platform speaking the shim protocol.\n"
            "It connects a DEALER to the engine's ROUTER, sends Hello and instrument\n"
            "definitions, replays ticks (a seeded ES/NQ generator, or a history file),\n"
            "executes the engine's commands with a matching engine for paper fills and\n"
            "reports order updates, fills, positions and account like a platform does.\n"
            "It also binds a kill endpoint that cancels (and optionally flattens) with no\n"
            "engine at all. Stop it with Ctrl-C or SIGTERM (exit code 0)."
        ),
        epilog=(
            "Exit codes: 0 clean shutdown, 1 runtime failure (e.g. an endpoint in use),\n"
            "2 bad usage.\n"
            "Example: tickbridge sim --speed 10 --quirks all --kill-secret s3cret"
        ),
    )
    net = p.add_argument_group("connections")
    net.add_argument("--engine", default="tcp://127.0.0.1:5555", metavar="ENDPOINT",
                     help="the engine's ROUTER endpoint to connect to "
                          "(default %(default)s); the engine may start later")
    net.add_argument("--kill-endpoint", default="tcp://127.0.0.1:5557", metavar="ENDPOINT",
                     help="endpoint to bind for Kill frames, or 'none' (default %(default)s)")
    net.add_argument("--kill-secret", default=None, metavar="SECRET",
                     help="secret a Kill must carry, at most 32 bytes (default: "
                          "$TICKBRIDGE_KILL_SECRET, preferred: a command line is visible to "
                          "other users; without a secret every Kill is refused BAD_SECRET)")
    net.add_argument("--curve-server-key", type=Path, default=None, metavar="FILE",
                     help="connect as a ZeroMQ CURVE client: the engine's public key file "
                          "(its NAME.key from tickbridge keys); needs --curve-key")
    net.add_argument("--curve-key", type=Path, default=None, metavar="FILE",
                     help="this simulator's key pair (its NAME.key_secret); the engine "
                          "must list NAME.key in curve_authorized_keys_dir")
    net.add_argument("--heartbeat-ms", type=_positive_int, default=500, metavar="MS",
                     help="heartbeat interval announced in Hello and used (default 500)")
    net.add_argument("--silence-intervals", type=_positive_int, default=3, metavar="N",
                     help="engine silent for N heartbeat intervals counts as gone (default 3)")
    net.add_argument("--no-cancel-on-disconnect", action="store_true",
                     help="keep working orders when the engine goes silent (default: cancel)")
    net.add_argument("--batch", type=_positive_int, default=1000, metavar="N",
                     help="at most N records per frame (default 1000)")
    net.add_argument("--no-wait-engine", action="store_true",
                     help="start the tape at once instead of when the engine is first heard")

    data = p.add_argument_group("market data")
    data.add_argument("--symbols", default="ES,NQ", metavar="LIST",
                      help=f"generated instruments, from {','.join(BUILTIN)} "
                           "(default %(default)s); instrument ids 1..n in this order")
    data.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    data.add_argument("--ticks", type=_positive_int, default=None, metavar="N",
                      help="replay at most N trades in all (default: "
                           f"{DEFAULT_TICKS_PER_INSTRUMENT:,} per generated instrument, "
                           "or the whole file)")
    data.add_argument("--file", type=Path, default=None, metavar="PATH",
                      help="replay a history file instead (.scid, NinjaTrader .txt export, "
                           ".csv; read by tickbridge.research)")
    data.add_argument("--file-symbol", default=None, choices=sorted(BUILTIN),
                      help="contract of --file (tick size, point value); default: guessed "
                           "from the file name")
    data.add_argument("--tz", default=None, metavar="ZONE",
                      help="time zone of a NinjaTrader export, e.g. America/New_York")
    data.add_argument("--speed", type=_non_negative_float, default=1.0, metavar="X",
                      help="replay speed: 0 as fast as possible, 1 real time, N N-times "
                           "real time (default 1)")
    data.add_argument("--keep-time", action="store_true",
                      help="keep the tape's timestamps (default: shift the first tick to now)")
    data.add_argument("--exit-after-end", type=_non_negative_float, default=None,
                      metavar="SECONDS", help="exit this long after the tape ends "
                      "(default: keep serving commands until stopped)")

    trade = p.add_argument_group("platform")
    trade.add_argument("--account", default="Sim101", help="account name (default Sim101)")
    trade.add_argument("--platform", choices=tuple(PLATFORMS), default="simulator",
                       help="what the simulator reports itself as in Hello: sierra (Sierra "
                            "Chart), ninjatrader (NinjaTrader 8) or simulator (default)")
    trade.add_argument("--live-account", action="store_true",
                       help="report the account as live in Hello (simulated=0), to test that "
                            "a paper engine refuses it; fills stay simulated")
    trade.add_argument("--queue", choices=("displayed", "front"), default="displayed",
                       help="where a resting limit joins its price level: behind the "
                            "displayed size (default, conservative) or at the front "
                            "(optimistic; fills by the volume traded at the price)")
    trade.add_argument("--latency-ms", type=_non_negative_float, default=5.0, metavar="MS",
                       help="simulated time between a command and its effect; a fill in "
                            "this window beats a cancel (default 5)")
    trade.add_argument("--quirks", action="append", default=[], metavar="LIST",
                       help="awkward event orders to produce: "
                            f"{', '.join(QUIRK_NAMES)}, all or none (default none); "
                            "repeatable or comma-separated")
    trade.add_argument("--session-hours", default=None, metavar="HH:MM-HH:MM",
                       help="UTC hours the session is open (orders outside are rejected "
                            "SESSION_CLOSED, DAY orders expire); default always open")
    trade.add_argument("--state", default=None, metavar="FILE",
                       help="keep orders, positions and fills in FILE (JSON) and restore "
                            "them at start, so a restarted simulator still has them, like a "
                            "platform's broker account (default: start empty)")
    trade.add_argument("--starting-cash", type=float, default=50_000.0, metavar="USD",
                       help="account cash at start (default 50000)")

    out = p.add_argument_group("output")
    out.add_argument("--status-interval", type=_non_negative_float, default=1.0,
                     metavar="SECONDS", help="status line to stderr every SECONDS; 0 off "
                     "(default 1)")
    out.add_argument("--log-level", default="INFO",
                     choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                     help="log level on stderr (default INFO)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="sim %(levelname)s: %(message)s")
    try:
        config, tape, is_open = build(args)
    except (FeedError, ValueError) as exc:
        print(f"tickbridge sim: {exc}", file=sys.stderr)
        return 2
    try:
        simulator = Simulator(tape, config, is_open=is_open)
    except StateError as exc:
        print(f"tickbridge sim: {exc}", file=sys.stderr)
        return 2

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger("tickbridge.sim").info("%s: shutting down",
                                                 signal.Signals(signum).name)
        simulator.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGUSR1"):  # POSIX: a broker outage on demand (docs/simulator.md)
        signal.signal(signal.SIGUSR1, lambda *_: simulator.set_connection(
            ConnectionState.CONNECTION_LOST, text="SIGUSR1: simulated broker outage"))
        signal.signal(signal.SIGUSR2, lambda *_: simulator.set_connection(
            ConnectionState.CONNECTED, text="SIGUSR2: simulated broker back"))
    return simulator.run()


PLATFORMS = {"sierra": Platform.SIERRA_CHART, "ninjatrader": Platform.NINJATRADER,
             "simulator": Platform.SIMULATOR}


def build(args: argparse.Namespace) -> tuple[SimConfig, MarketTape, SessionOpen]:
    """Options to (config, tape, session calendar); ValueError/FeedError on bad usage."""
    quirks = QuirkConfig.parse(args.quirks)
    secret = args.kill_secret or kill_secret_from_env()
    # Both travel in fixed-size protocol fields (Hello.account, Kill.secret: 32 bytes).
    if len(args.account.encode()) > 32:
        raise ValueError(f"--account {args.account!r} is longer than 32 bytes")
    if secret is not None and len(secret.encode()) > 32:
        raise ValueError("the kill secret is longer than the 32 bytes a Kill record carries")
    if args.file is not None:
        symbol = args.file_symbol or _guess_symbol(args.file)
        tape = tape_from_file(args.file, BUILTIN[symbol], tz=args.tz)
        if args.ticks:
            tape = truncated(tape, args.ticks)
    else:
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        if not symbols:
            raise ValueError("--symbols is empty")
        per = (math.ceil(args.ticks / len(symbols)) if args.ticks
               else DEFAULT_TICKS_PER_INSTRUMENT)
        tape = generated_tape(symbols, seed=args.seed, ticks_per_instrument=per)
        if args.ticks:
            tape = truncated(tape, args.ticks)
    kill = None if args.kill_endpoint.lower() == "none" else args.kill_endpoint
    if (args.curve_server_key is None) != (args.curve_key is None):
        raise ValueError("--curve-server-key and --curve-key go together")
    curve = (curve_client_keys(args.curve_server_key, args.curve_key)
             if args.curve_key is not None else {})
    config = SimConfig(
        engine=args.engine, kill_endpoint=kill,
        kill_secret=secret, account=args.account, live_account=args.live_account,
        queue_front=args.queue == "front",
        heartbeat_ms=args.heartbeat_ms, silence_intervals=args.silence_intervals,
        cancel_on_disconnect=not args.no_cancel_on_disconnect, speed=args.speed,
        max_batch=args.batch, latency_ms=args.latency_ms, quirks=quirks,
        wait_for_engine=not args.no_wait_engine, rebase_time=not args.keep_time,
        exit_after_end=args.exit_after_end, status_interval=args.status_interval,
        starting_cash=args.starting_cash, state_path=args.state,
        platform=PLATFORMS[args.platform], **curve,
    )
    is_open = session_hours(args.session_hours) if args.session_hours else always_open
    return config, tape, is_open


def session_hours(spec: str) -> SessionOpen:
    """'HH:MM-HH:MM' in UTC; a window past midnight (e.g. 23:00-22:00) wraps."""
    try:
        start_text, end_text = spec.split("-")
        start, end = (_minutes(start_text), _minutes(end_text))
    except ValueError:
        raise ValueError(f"--session-hours {spec!r}: expected HH:MM-HH:MM (UTC)") from None
    day = 24 * 60

    def is_open(time_ns: int) -> bool:
        minute = (time_ns // 60_000_000_000) % day
        return start <= minute < end if start <= end else (minute >= start or minute < end)

    return is_open


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60):
        raise ValueError(text)
    return h * 60 + m


def _guess_symbol(path: Path) -> str:
    for symbol in BUILTIN:
        if path.name.upper().startswith(symbol):
            return symbol
    raise ValueError(f"{path.name}: cannot tell the contract from the name; pass --file-symbol")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a non-negative number")
    return value
