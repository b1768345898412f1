"""`tickbridge simulate` as a command: its help, a clean run's table and exit code 0, a
failing replay's exit code 1 with the replay command and the trace; `bench simulate`."""

from __future__ import annotations

import pytest

from tickbridge.cli import main

pytestmark = pytest.mark.e2e


def test_help_names_the_faults_and_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    assert "kill_flatten" in out and "Exit codes" in out and "--schedule" in out


def test_a_clean_run_prints_the_table_and_exits_0(capsys) -> None:
    assert main(["simulate", "--seeds", "3", "--faults", "drop,dup"]) == 0
    out = capsys.readouterr().out
    assert "3 sessions, 0 failing" in out and "fill-once" in out and "fault drop" in out


def test_a_failing_seed_prints_its_replay_command_and_trace_and_exits_1(capsys,
                                                                      monkeypatch) -> None:
    """A deliberately broken build (a restart forgets the trading state: halt-survives
    breaks at seed 1 under engine crashes); the command's contract is what is checked."""
    from tickbridge.engine import trading_control

    monkeypatch.setattr(trading_control.TradingControl, "restore", lambda self: {})
    code = main(["simulate", "--seed", "1", "--seeds", "1", "--faults", "engine_crash"])
    out = capsys.readouterr().out
    assert code == 1
    assert "halt-survives" in out
    assert "replay: tickbridge simulate --seed 1 --schedule '" in out
    assert "trace (last events before the failure):" in out


def test_a_bad_schedule_is_bad_usage(capsys) -> None:
    assert main(["simulate", "--schedule", "3:boom"]) == 2
    assert "'3:boom'" in capsys.readouterr().err


def test_the_bench_runs_quick() -> None:
    from tickbridge_dev.bench.simulate import run

    result = run(True)
    assert result.extra["sessions"] == 4 and result.ratio > 0
