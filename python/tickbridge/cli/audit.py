"""``tickbridge audit``: verify the hash chain, show an order's timeline, export, tail."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import sys
import time

from tickbridge.audit import format_timeline, order_timeline, read_records, verify_chain
from tickbridge.store.connection import open_reader

DEFAULT_DB = "tickbridge-state.sqlite"  # engine.state_store of the default config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="verify, show, export or tail the audit log",
        description="Read the audit log of a state store file. Exit codes: 0 ok, 1 the chain "
                    "is broken (verify) or the order is unknown (show), 2 bad usage or no "
                    "such file.")
    db_help = f"state store file (default: $TICKBRIDGE_DB or ./{DEFAULT_DB})"
    p.add_argument("--db", default=os.environ.get("TICKBRIDGE_DB", DEFAULT_DB), help=db_help)
    actions = p.add_subparsers(dest="audit_command", metavar="ACTION")
    # --db is accepted after the action too ('audit verify --db FILE'); SUPPRESS keeps the
    # value given before the action when it is not repeated after it.
    db_after = argparse.ArgumentParser(add_help=False)
    db_after.add_argument("--db", default=argparse.SUPPRESS, help=db_help)

    v = actions.add_parser("verify", parents=[db_after],
                           help="check the whole hash chain; name the first break")
    v.set_defaults(handler=_verify)

    s = actions.add_parser("show", parents=[db_after], help="an order's whole timeline as a table")
    s.add_argument("--order", type=int, required=True, metavar="ID", help="client order id")
    s.set_defaults(handler=_show)

    e = actions.add_parser("export", parents=[db_after], help="records as JSON lines on stdout")
    e.add_argument("--since", help="ISO time (UTC unless an offset is given) or ns since epoch")
    e.add_argument("--kind", action="append", help="only this kind (repeatable)")
    e.add_argument("--order", type=int, metavar="ID", help="only this client order id")
    e.set_defaults(handler=_export)

    t = actions.add_parser("tail", parents=[db_after],
                           help="print records as they are appended (Ctrl-C stops)")
    t.add_argument("-n", type=int, default=10, help="start with the last N records")
    t.add_argument("--interval", type=float, default=0.5, help="poll interval, seconds")
    t.add_argument("--once", action="store_true", help="print the last N and exit")
    t.set_defaults(handler=_tail)

    p.set_defaults(handler=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _open(args: argparse.Namespace) -> sqlite3.Connection | None:
    try:
        conn = open_reader(args.db)
        conn.execute("SELECT 1 FROM audit_log LIMIT 1")
        return conn
    except FileNotFoundError as exc:
        print(f"tickbridge audit: {exc}", file=sys.stderr)
        return None
    except sqlite3.DatabaseError as exc:
        print(f"tickbridge audit: {args.db}: {exc} (not a tickbridge state store?)",
              file=sys.stderr)
        return None


def _verify(args: argparse.Namespace) -> int:
    conn = _open(args)
    if conn is None:
        return 2
    with conn:
        result = verify_chain(conn)
    if result.ok:
        print(f"audit chain intact: {result.records} records, head #{result.head_id} "
              f"{result.head_hash}")
        return 0
    b = result.broken
    assert b is not None
    print(f"audit chain BROKEN at record {b.record_id}: {b.problem}\n"
          f"({result.records} records verified before it, up to #{result.head_id})")
    return 1


def _show(args: argparse.Namespace) -> int:
    conn = _open(args)
    if conn is None:
        return 2
    rows = order_timeline(conn, args.order)
    conn.close()
    if not rows:
        print(f"no audit records or transitions for client order id {args.order}",
              file=sys.stderr)
        return 1
    print(f"order {args.order}: {len(rows)} entries")
    print(format_timeline(rows))
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        since = _parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"tickbridge audit export: --since {args.since!r}: {exc}", file=sys.stderr)
        return 2
    conn = _open(args)
    if conn is None:
        return 2
    out = sys.stdout
    for record in read_records(conn, kinds=args.kind, since_ns=since,
                               client_order_id=args.order):
        out.write(json.dumps(record.as_json(), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
    conn.close()
    return 0


def _tail(args: argparse.Namespace) -> int:
    conn = _open(args)
    if conn is None:
        return 2
    (last,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM audit_log").fetchone()
    after = max(0, last - args.n)
    try:
        while True:
            for r in read_records(conn, after_id=after):
                print(f"#{r.id} {r.wall_ns} {r.kind:<16} order={r.client_order_id} "
                      f"{r.account} {r.payload}", flush=True)
                after = r.id
            if args.once:
                return 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        conn.close()


def _parse_since(text: str) -> int:
    if text.isdigit():
        return int(text)
    stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
