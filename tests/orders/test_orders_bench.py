"""The state_machine benchmark runs (quick inputs; no timing is asserted)."""

from __future__ import annotations

from tickbridge.bench import discover
from tickbridge.bench.state_machine import make_workload, run
from tickbridge.orders import OrderBook, Outcome


def test_state_machine_benchmark_runs_quick():
    result = run(quick=True)
    assert result.name == "state_machine" and result.unit == "events/s"
    assert result.value > 0 and result.baseline_value > 0
    assert result.ratio == result.value / result.baseline_value
    assert result.targets == {"ratio": 30, "value": 5e6}
    assert "state_machine" in [b.name for b in discover()]


def test_workload_exercises_every_outcome():
    orders, cols = make_workload(300)
    book = OrderBook(42)
    for symbol, pv in (("ESZ6", 50.0), ("NQZ6", 20.0)):
        book.register_instrument(symbol, pv, 0.25)
    for account, symbol, side, qty in orders:
        book.new_order(account, symbol, side, qty, 5000.0)
    out = book.apply_events(cols["event"], cols["client_order_id"], cols["qty"], cols["price"],
                            cols["exec_id"], cols["ts"])
    assert {Outcome(int(o)) for o in out} == set(Outcome.__members__.values())
