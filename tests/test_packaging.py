"""Test and benchmark code stays out of the installed package (issue 15): the oracles, the
webhook's test bed and load generator and the benchmarks live in the repository's
``tickbridge_dev``, and ``tickbridge bench`` says what to do when it cannot find them."""

from __future__ import annotations

import argparse
import importlib
import sys

import pytest

from tickbridge.cli import bench as bench_cli

DEVELOPMENT_ONLY = ["tickbridge.bench", "tickbridge.risk.oracle", "tickbridge.orders.reference",
                    "tickbridge.webhook.testbed", "tickbridge.webhook.loadgen"]


@pytest.mark.parametrize("name", DEVELOPMENT_ONLY)
def test_development_code_is_not_in_the_package(name):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(name)


def test_the_risk_gate_has_no_pure_python_branch():
    from tickbridge.risk import RiskGateHandle

    assert not hasattr(RiskGateHandle, "pure_python")
    assert "pure_python" not in RiskGateHandle.__init__.__code__.co_varnames


def test_bench_without_a_checkout_says_where_the_benchmarks_are(monkeypatch, capsys):
    # As from an installed wheel: the development package cannot be imported (nor its
    # modules that earlier tests imported), and no checkout is found.
    for name in [n for n in sys.modules if n.split(".")[0] == "tickbridge_dev"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tickbridge_dev", None)
    monkeypatch.setattr(bench_cli, "_checkouts", lambda: [])
    args = argparse.Namespace(name="", list=True, json=False, quick=True, check=False)
    assert bench_cli.run(args) == 2
    err = capsys.readouterr().err
    assert "not part of the installed package" in err and "source checkout" in err


def test_bench_finds_the_checkout():
    args = argparse.Namespace(name="risk_checks", list=True, json=False, quick=True,
                              check=False)
    assert bench_cli.run(args) == 0
