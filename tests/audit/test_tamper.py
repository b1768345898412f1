"""`tickbridge audit verify` against each tampering of issue 17 item 7, on a real SQLite
file written by the real store: rows cut from the end of the chain, a chain re-hashed from
an edit to its end, edited fills, orders and positions, and a WAL lost or cut short after
acknowledged records. Each must exit 1 with a message that names the row or the record."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tickbridge.audit.anchor import SLOT, read_witness, witness_path
from tickbridge.audit.chain import canonical_bytes
from tickbridge.store import (
    FillRecord,
    OrderRecord,
    StateStore,
    StoreFailed,
    Transition,
)

ACCOUNT = "Sim101"


def _order(coid: int, state: str, qty: int = 2) -> OrderRecord:
    return OrderRecord(coid, ACCOUNT, "ESZ6", "BUY", "LIMIT", "DAY", qty, 6000.0, 0.0, state,
                       created_ns=coid, updated_ns=coid)


def write_session(store: StateStore) -> None:
    """What the engine writes for one filled and one canceled order."""
    for coid in (7, 8):
        store.audit("request", {"intent": "buy"}, client_order_id=coid, account=ACCOUNT)
        store.save_order(_order(coid, "SUBMITTED"),
                         Transition(coid, 0, "NEW_REQUESTED", "SUBMIT_SENT", "SUBMITTED", 1))
        store.save_order(_order(coid, "WORKING"),
                         Transition(coid, 0, "SUBMITTED", "ACCEPTED", "WORKING", 2))
    store.book_fills([FillRecord(ACCOUNT, "E1", 7, "ESZ6", "BUY", 1, 6000.0, 10)],
                     order_states={7: "PARTIALLY_FILLED"})
    store.book_fills([FillRecord(ACCOUNT, "E2", 7, "ESZ6", "BUY", 1, 6001.0, 11)],
                     order_states={7: "FILLED"})
    store.save_order(_order(8, "CANCELED"),
                     Transition(8, 0, "WORKING", "CANCELED", "CANCELED", 12))
    store.audit("config_change", {"max_order_size": 5}, account=ACCOUNT)
    store.sync().result(timeout=10)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "state.sqlite"
    with StateStore(path) as store:
        write_session(store)
    return path


def verify(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickbridge", "audit", "--db", str(db),
                           "verify", *args], capture_output=True, text=True, timeout=120)


def tamper(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def head(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT MAX(id) FROM audit_log").fetchone()[0])


def test_an_untampered_store_passes(db: Path) -> None:
    r = verify(db)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "tables agree with the chain: 2 fills, 2 orders, 1 positions" in r.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT state, filled_quantity FROM orders WHERE "
                            "client_order_id = 7").fetchone() == ("FILLED", 2)


def test_deleting_the_last_rows_is_caught(db: Path) -> None:
    last = head(db)
    tamper(db, f"DELETE FROM audit_log WHERE id > {last - 3}")
    r = verify(db)
    assert r.returncode == 1, r.stdout
    assert f"ends at #{last - 3}" in r.stdout
    assert f"record(s) #{last - 2}..#{last} are missing" in r.stdout


def test_rehashing_from_an_edit_to_the_end_is_caught(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_log_no_update")
    rows = conn.execute("SELECT id, wall_ns, mono_ns, kind, client_order_id, account, payload,"
                        " prev_hash FROM audit_log ORDER BY id").fetchall()
    edited = rows[2][0]  # the first order record: its row says SUBMITTED
    prev = rows[edited - 1][7]  # the edited record's prev_hash: the chain up to it holds
    for rid, wall, mono, kind, coid, account, payload, _ in rows[edited - 1:]:
        if rid == edited:
            payload = payload.replace('"quantity":2', '"quantity":200')
        digest = hashlib.sha256(bytes.fromhex(prev) + canonical_bytes(
            rid, wall, mono, kind, coid, account, payload)).hexdigest()
        conn.execute("UPDATE audit_log SET payload = ?, prev_hash = ?, hash = ? WHERE id = ?",
                     (payload, prev, digest, rid))
        prev = digest
    conn.commit()
    conn.close()
    chain_only = verify(db, "--no-witness", "--chain-only")
    assert chain_only.returncode == 0  # the forgery is a valid chain: only the anchor shows it
    r = verify(db)
    assert r.returncode == 1, r.stdout
    assert f"record #{head(db)} has hash" in r.stdout and "re-hashed" in r.stdout


def test_editing_a_fill_is_caught(db: Path) -> None:
    tamper(db, "UPDATE fills SET quantity = 5 WHERE execution_id = 'E2'")
    r = verify(db)
    assert r.returncode == 1, r.stdout
    assert "fills row (account='Sim101', execution_id='E2'): quantity is 5 but audit " \
           "record #" in r.stdout
    assert "orders row 7: filled_quantity is 2 but its fills in the fills table add up " \
           "to 6" in r.stdout
    assert "positions row (account='Sim101', instrument='ESZ6'): quantity 2" in r.stdout


def test_deleting_or_adding_a_fill_is_caught(db: Path) -> None:
    tamper(db, "DELETE FROM fills WHERE execution_id = 'E1'",
           "INSERT INTO fills (account, execution_id, client_order_id, instrument, side,"
           " quantity, price, ts_ns, booked_ns) VALUES"
           " ('Sim101', 'FAKE', 8, 'ESZ6', 'BUY', 1, 5000.0, 13, 13)")
    r = verify(db)
    assert r.returncode == 1, r.stdout
    assert "booked fill (account='Sim101', execution_id='E1'" in r.stdout and \
        "no such row (deleted)" in r.stdout
    assert "fills row (account='Sim101', execution_id='FAKE') (order 8, BUY 1 @ 5000.0) " \
           "has no audit record" in r.stdout


def test_editing_a_position_is_caught(db: Path) -> None:
    tamper(db, "UPDATE positions SET quantity = 7")
    r = verify(db)
    assert r.returncode == 1, r.stdout
    assert "positions row (account='Sim101', instrument='ESZ6'): quantity 7, average price " \
           "6000.5, realized PnL 0.0, but its fills make quantity 2" in r.stdout
    tamper(db, "DELETE FROM positions")
    assert "no positions row for (account='Sim101', instrument='ESZ6') but its fills make " \
           "quantity 2 (deleted)" in verify(db).stdout


def test_editing_an_order_or_its_history_is_caught(db: Path) -> None:
    tamper(db, "UPDATE orders SET state = 'WORKING' WHERE client_order_id = 7",
           "UPDATE order_transitions SET to_state = 'FILLED' WHERE client_order_id = 8"
           " AND seq = 3", "DELETE FROM orders WHERE client_order_id = 8")
    r = verify(db)
    assert r.returncode == 1, r.stdout
    assert "orders row 7: state is 'WORKING' but audit record #" in r.stdout and \
        "stored 'FILLED'" in r.stdout
    assert "stored order 8 (CANCELED) but the orders table has no row 8 (deleted)" in r.stdout
    assert "order_transitions row (order 8, seq 3) is ['WORKING', 'CANCELED', 'FILLED'" \
        in r.stdout


def test_a_deleted_witness_is_reported_then_restarted_from_with_a_record(db: Path) -> None:
    witness_path(db).unlink()
    r = verify(db)
    assert r.returncode == 1 and f"witness {witness_path(db)} not found" in r.stdout
    assert verify(db, "--no-witness").returncode == 0
    StateStore(db).close()  # the store anchors again and says so in the chain
    with sqlite3.connect(db) as conn:
        (payload,) = conn.execute("SELECT payload FROM audit_log ORDER BY id DESC LIMIT 1"
                                  ).fetchone()
    assert '"event":"witness_missing"' in payload
    assert verify(db).returncode == 0


def test_a_second_witness_catches_what_deleting_the_first_hides(tmp_path: Path) -> None:
    path, copy = tmp_path / "state.sqlite", tmp_path / "elsewhere" / "copy.witness"
    with StateStore(path, witness_copy=copy) as store:
        write_session(store)
    assert read_witness(copy) == read_witness(witness_path(path)).__class__(
        head(path), read_witness(copy).hash, read_witness(copy).wall_ns, copy)
    last = head(path)
    tamper(path, f"DELETE FROM audit_log WHERE id = {last}")
    witness_path(path).unlink()
    r = verify(path, "--no-witness", "--witness", str(copy))
    assert r.returncode == 1 and f"record(s) #{last} are missing" in r.stdout


def test_a_torn_witness_slot_leaves_the_previous_head(db: Path) -> None:
    w = witness_path(db)
    before = read_witness(w)
    assert before is not None and before.id == head(db)
    raw = bytearray(w.read_bytes())
    newest = 0 if raw[:SLOT].split()[1] == f"{before.id:020d}".encode() else 1
    raw[newest * SLOT + 30] ^= 0x01  # a power cut in the middle of writing it
    w.write_bytes(bytes(raw))
    after = read_witness(w)
    assert after is not None and after.id < before.id  # the older slot, still valid


# -- the WAL lost or cut short after acknowledged records ----------------------------------

WRITER = textwrap.dedent("""
    import os, sqlite3, sys
    from tickbridge.store import StateStore
    store = StateStore(sys.argv[1])
    for i in range(500):
        store.audit("request", {"n": i})
    store.sync().result(timeout=60)
    # Checkpoints stop here (a checkpoint that lags, as under load): the next 500 records
    # are committed and acknowledged, and live only in the WAL.
    store._checkpointer.close()
    conn = sqlite3.connect(sys.argv[1])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for i in range(500, 1000):
        store.audit("request", {"n": i})
    store.sync().result(timeout=60)
    print("acknowledged", flush=True)
    os._exit(0)  # dies like a killed engine: no close, no final checkpoint
""")


@pytest.mark.parametrize("damage", ["delete", "quarter"])
def test_a_lost_or_cut_wal_is_caught_and_the_store_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "state.sqlite"
    done = subprocess.run([sys.executable, "-c", WRITER, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "acknowledged", done.stderr
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 0
    if damage == "delete":
        wal.unlink()
    else:
        os.truncate(wal, wal.stat().st_size // 4)
    Path(f"{path}-shm").unlink(missing_ok=True)
    left = head(path)
    assert 500 <= left < 1000
    r = verify(path)
    assert r.returncode == 1, r.stdout
    assert f"the audit log ends at #{left} but the witness" in r.stdout
    assert "head #1000" in r.stdout and f"record(s) #{left + 1}..#1000 are missing" in r.stdout

    # The engine's store refuses it, naming the records, until an operator accepts it.
    with pytest.raises(StoreFailed, match=rf"ends at #{left} .*#{left + 1}..#1000"):
        StateStore(path)
    assert head(path) == left  # nothing written: record #{left + 1} is not reused
    reanchor = subprocess.run([sys.executable, "-m", "tickbridge", "audit", "--db", str(path),
                               "reanchor", "--reason", "WAL lost in test"],
                              capture_output=True, text=True, timeout=120)
    assert reanchor.returncode == 0, reanchor.stderr
    with sqlite3.connect(path) as conn:
        (payload,) = conn.execute("SELECT payload FROM audit_log WHERE id = ?",
                                  (left + 1,)).fetchone()
    assert '"event":"witness_reanchored"' in payload and '"witness_head":1000' in payload
    assert verify(path).returncode == 0
