"""``tickbridge audit verify|show|export|tail`` as a user runs them: subprocesses, exit codes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys


def _audit(db, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickbridge", "audit", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=60)


def test_verify_ok_then_broken(filled_db) -> None:
    after = subprocess.run([sys.executable, "-m", "tickbridge", "audit", "verify", "--db",
                            str(filled_db)], capture_output=True, text=True, timeout=60)
    assert after.returncode == 0 and "intact" in after.stdout  # --db after the action too
    ok = _audit(filled_db, "verify")
    assert ok.returncode == 0 and "intact: 7 records" in ok.stdout
    conn = sqlite3.connect(filled_db)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET account = 'Live1' WHERE id = 4")
    conn.commit()
    conn.close()
    broken = _audit(filled_db, "verify")
    assert broken.returncode == 1
    assert "BROKEN at record 4" in broken.stdout and "changed" in broken.stdout


def test_verify_missing_file_is_usage_error(tmp_path) -> None:
    r = _audit(tmp_path / "nope.db", "verify")
    assert r.returncode == 2 and "no state store" in r.stderr


def test_show_order_timeline(filled_db) -> None:
    r = _audit(filled_db, "show", "--order", "42")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "order 42: 8 entries"  # 6 audit records, 2 transitions
    text = r.stdout
    for expected in ("request", "risk_decision", "command", "fill",
                     "NEW_REQUESTED --submit--> SUBMITTED", "SUBMITTED --ack--> WORKING"):
        assert expected in text
    assert _audit(filled_db, "show", "--order", "999").returncode == 1


def test_export_jsonl_filters(filled_db, tmp_path) -> None:
    r = _audit(filled_db, "export")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 0 and [x["id"] for x in records] == [1, 2, 3, 4, 5, 6, 7]
    assert records[4]["payload"]["execution_id"] == "X1"
    fills = _audit(filled_db, "export", "--kind", "fill").stdout.splitlines()
    assert [json.loads(x)["payload"]["booked"] for x in fills] == [True, False]
    assert _audit(filled_db, "export", "--since", "2999-01-01").stdout == ""
    assert _audit(filled_db, "export", "--since", "yesterday").returncode == 2


def test_tail_once(filled_db) -> None:
    r = _audit(filled_db, "tail", "-n", "2", "--once")
    assert r.returncode == 0 and [x.split()[0] for x in r.stdout.splitlines()] == ["#6", "#7"]


def test_audit_without_action_is_usage_error(filled_db) -> None:
    assert _audit(filled_db).returncode == 2


def test_help_lists_audit() -> None:
    out = subprocess.run([sys.executable, "-m", "tickbridge", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "audit" in out
