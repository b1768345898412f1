"""``tickbridge audit``: verify the hash chain, show an order's timeline, export, tail."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

from tickbridge.audit import (
    format_timeline,
    order_timeline,
    read_records,
    verify_store,
    witness_path,
)
from tickbridge.audit.copier_links import followers_of, leader_of
from tickbridge.store import StateStore, StoreFailed
from tickbridge.store.connection import open_reader

DEFAULT_DB = "tickbridge-state.sqlite"  # engine.state_store of the default config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit", help="verify, show, export or tail the audit log",
        description="Read the audit log of a state store file. Exit codes: 0 ok, 1 the chain "
                    "is broken, a witness or a table disagrees (verify) or the order is "
                    "unknown (show), 2 bad usage or no such file.")
    db_help = f"state store file (default: $TICKBRIDGE_DB or ./{DEFAULT_DB})"
    p.add_argument("--db", default=os.environ.get("TICKBRIDGE_DB", DEFAULT_DB), help=db_help)
    actions = p.add_subparsers(dest="audit_command", metavar="ACTION")
    # --db is accepted after the action too ('audit verify --db FILE'); SUPPRESS keeps the
    # value given before the action when it is not repeated after it.
    db_after = argparse.ArgumentParser(add_help=False)
    db_after.add_argument("--db", default=argparse.SUPPRESS, help=db_help)

    v = actions.add_parser(
        "verify", parents=[db_after],
        help="check the hash chain, its head against the witness, the tables against it",
        description="Checks the whole hash chain (names the first break), the chain's head "
                    "against the witness file(s) (records cut from the end, a lost WAL, a "
                    "chain re-hashed to its end), and the fills, orders, order_transitions "
                    "and positions tables against the chain. Exit 0 all agree, 1 not.")
    v.add_argument("--witness", action="append", default=[], metavar="FILE",
                   help="another witness to check (engine.witness_copy); repeatable")
    v.add_argument("--no-witness", action="store_true",
                   help="do not require the witness beside the database (a copy of it)")
    v.add_argument("--chain-only", action="store_true",
                   help="skip the tables (the chain and the witness only)")
    v.set_defaults(handler=_verify)

    r = actions.add_parser(
        "reanchor", parents=[db_after],
        help="accept a store that disagrees with its witness (engine stopped)",
        description="For a store the engine refuses because it is behind or different from "
                    "its witness: writes what the witness said and the reason into the "
                    "chain, then anchors the database's head. Run it with the engine "
                    "stopped, after `verify` has shown what is missing.")
    r.add_argument("--reason", required=True, help="why (recorded in the chain)")
    r.add_argument("--witness-copy", metavar="FILE", help="the engine's witness_copy, if any")
    r.set_defaults(handler=_reanchor)

    s = actions.add_parser(
        "show", parents=[db_after], help="an order's whole timeline as a table",
        description="An order's audit records and transitions. A copier follower order "
                    "names the leader order and fill it copied; --leader lists every "
                    "follower order a leader order or fill caused, with their timelines. "
                    "Exit codes: 0 shown, 1 nothing found, 2 bad usage.")
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", type=int, metavar="ID", help="client order id")
    which.add_argument("--leader", metavar="ID", help="a copier leader's order id (the "
                       "platform's) or fill (execution id)")
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
    paths = ([] if args.no_witness else [witness_path(args.db)]) + \
        [Path(w) for w in args.witness]
    with conn:
        verdict = verify_store(conn, paths, tables=not args.chain_only)
    conn.close()
    result = verdict.chain
    if result.ok:
        print(f"audit chain intact: {result.records} records, head #{result.head_id} "
              f"{result.head_hash}")
    else:
        b = result.broken
        assert b is not None
        print(f"audit chain BROKEN at record {b.record_id}: {b.problem}\n"
              f"({result.records} records verified before it, up to #{result.head_id})")
    for w in verdict.witnesses:
        if w.problem is not None:
            print(f"witness DISAGREES: {w.problem}")
        elif w.head is not None:
            ahead = verdict.store_head - w.head.id
            print(f"witness {w.path}: {w.head.describe()} agrees" +
                  (f" ({ahead} record(s) after it, written after its last update)"
                   if ahead else ""))
    if not paths:
        print("witness not checked (--no-witness): records cut from the end would not show")
    tables = verdict.tables
    if tables is not None:
        if tables.ok:
            print(f"tables agree with the chain: {tables.fills} fills, {tables.orders} "
                  f"orders, {tables.positions} positions")
        else:
            print(f"tables DISAGREE with the chain ({len(tables.problems) + tables.more} "
                  "problem(s)):")
            for problem in tables.problems:
                print(f"  {problem}")
            if tables.more:
                print(f"  ... and {tables.more} more")
    return 0 if verdict.ok else 1


def _reanchor(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"tickbridge audit: {args.db}: no state store here", file=sys.stderr)
        return 2
    try:
        store = StateStore(args.db, reanchor=args.reason, witness_copy=args.witness_copy)
    except StoreFailed as exc:
        print(f"tickbridge audit reanchor: {exc}", file=sys.stderr)
        return 1
    store.close()
    conn = open_reader(args.db)
    head = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"
                        ).fetchone() or (0, "")
    conn.close()
    print(f"anchored at head #{head[0]} {head[1]}")
    return 0


def _show(args: argparse.Namespace) -> int:
    conn = _open(args)
    if conn is None:
        return 2
    try:
        if args.leader is not None:
            return _show_leader(conn, args.leader)
        rows = order_timeline(conn, args.order)
        link = leader_of(conn, args.order)
    finally:
        conn.close()
    if not rows:
        print(f"no audit records or transitions for client order id {args.order}",
              file=sys.stderr)
        return 1
    print(f"order {args.order}: {len(rows)} entries")
    if link is not None:
        print(f"copied: {link.describe()}")
    print(format_timeline(rows))
    return 0


def _show_leader(conn: sqlite3.Connection, leader_id: str) -> int:
    links = followers_of(conn, leader_id)
    if not links:
        print(f"no copier follower orders for leader order or fill {leader_id!r}",
              file=sys.stderr)
        return 1
    print(f"leader {leader_id}: {len(links)} follower orders")
    for link in links:
        print(f"  {link.describe()}")
    for link in links:
        print(f"\norder {link.client_order_id} ({link.account}):")
        print(format_timeline(order_timeline(conn, link.client_order_id)))
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
