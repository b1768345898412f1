"""The state_machine benchmark runs (quick inputs; no timing is asserted)."""

from __future__ import annotations

from tickbridge.orders import OrderBook, Outcome
from tickbridge_dev.bench import discover
from tickbridge_dev.bench.state_machine import make_workload, run
from tickbridge_dev.oracles.orders import ReferenceOrderBook


def test_state_machine_benchmark_runs_quick():
    result = run(quick=True)
    assert result.name == "state_machine" and result.unit == "events/s"
    assert result.value > 0 and result.baseline_value > 0
    assert result.ratio == result.value / result.baseline_value
    assert result.targets == {"ratio": 30, "value": 5e6}
    assert "state_machine" in [b.name for b in discover()]


def test_workload_exercises_every_outcome_and_both_books_agree():
    orders, cols = make_workload(300)
    book, ref = OrderBook(42), ReferenceOrderBook(42)
    for b in (book, ref):
        for symbol, pv in (("ESZ6", 50.0), ("NQZ6", 20.0)):
            b.register_instrument(symbol, pv, 0.25)
        for account, symbol, side, qty in orders:
            b.new_order(account, symbol, side, qty, 5000.0)
    out = book.apply_events(cols["event"], cols["client_order_id"], cols["qty"], cols["price"],
                            cols["exec_id"], cols["ts"])
    ref_out = ref.apply_events(*(cols[k].tolist() for k in (
        "event", "client_order_id", "qty", "price", "exec_id", "ts")))
    assert {Outcome(int(o)) for o in out} == set(Outcome.__members__.values())
    assert out.tolist() == ref_out
    for order in book.orders():
        r = ref.orders[order.client_order_id]
        assert (int(order.status), order.filled_qty, order.qty) == (r.status, r.filled_qty, r.qty)
    for p in book.positions():
        r = ref.position(p.account, p.instrument)
        assert (p.net_qty, p.realized_pnl) == (r.net_qty, r.realized_pnl)
