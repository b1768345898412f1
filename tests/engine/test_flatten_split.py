"""A flatten's closing fills (platform-made ids) are the engine's but for the part that
closes what others hold there (orders placed by hand): the account nets the two, and a
flatten closes both (defect 13 of docs/simulation-testing.md)."""

from __future__ import annotations

from types import SimpleNamespace

from tickbridge import orders as ob
from tickbridge.engine.flatten_orders import PLATFORM_MADE, FlattenOrders
from tickbridge.protocol import RecordType, Side, make_record


class Book:
    """The order book's positions, as FlattenOrders reads and moves them."""

    def __init__(self) -> None:
        self.net = 0

    def position(self, account: str, symbol: str) -> SimpleNamespace:
        return SimpleNamespace(net_qty=self.net)

    def book_fill(self, account: str, symbol: str, side: ob.Side, quantity: int,
                  price: float) -> None:
        self.net += quantity if side == ob.Side.BUY else -quantity


SESSION = SimpleNamespace(name="sim", account="Sim101",
                          instruments={1: SimpleNamespace(symbol="ESZ6")})


def fill(coid: int, side: Side, quantity: int, execution_id: str):
    return make_record(RecordType.FILL, instrument_id=1, client_order_id=coid, time_ns=1,
                       price=6000.0, quantity=quantity, side=int(side),
                       execution_id=execution_id, platform_order_id="p")[0]


def flatten_orders() -> tuple[FlattenOrders, Book, list]:
    book, audit = Book(), []
    return (FlattenOrders(book=book, store=None, guard=lambda f, *a: f(*a),
                          audit=lambda kind, **p: audit.append((kind, p))), book, audit)


def test_a_flatten_of_a_trader_short_is_not_the_engines() -> None:
    orders, book, audit = flatten_orders()
    orders.on_external_fill(SESSION, fill(0, Side.SELL, 5, "hand-1"))
    orders.on_external_fill(SESSION, fill(0, Side.SELL, 5, "hand-1"))  # a resend: once
    assert orders.on_fill(SESSION, fill(PLATFORM_MADE | 1, Side.BUY, 5, "flat-1"))
    assert book.net == 0
    (kind, payload), = audit
    assert kind == "flatten_fill" and (payload["quantity"], payload["external"]) == (0, 5)


def test_a_flatten_closes_the_traders_part_first_and_the_rest_is_the_engines() -> None:
    orders, book, audit = flatten_orders()
    book.net = 2  # the engine long 2, the trader long 3: the account long 5
    orders.on_external_fill(SESSION, fill(0, Side.BUY, 3, "hand-1"))
    orders.on_fill(SESSION, fill(PLATFORM_MADE | 1, Side.SELL, 4, "flat-1"))
    orders.on_fill(SESSION, fill(PLATFORM_MADE | 1, Side.SELL, 1, "flat-2"))
    assert book.net == 0
    assert [(p["quantity"], p["external"]) for _, p in audit] == [(1, 3), (1, 0)]


def test_with_nothing_held_by_others_the_whole_fill_is_the_engines() -> None:
    """Whatever order fills arrive in: the engine's own sell 3 booked after the closing
    buy 3 (seed 40: lost on the link, booked from a snapshot) still nets to flat."""
    orders, book, _ = flatten_orders()
    orders.on_fill(SESSION, fill(PLATFORM_MADE | 1, Side.BUY, 3, "flat-1"))
    assert book.net == 3
    book.book_fill("Sim101", "ESZ6", ob.Side.SELL, 3, 6000.0)
    assert book.net == 0


class Store:
    """What a restarted engine reads back: no stored fill, the audit records."""

    def __init__(self, audit: list) -> None:
        self.audit, self.fills = audit, []

    def load_execution_ids(self) -> set:
        return set()

    def load_audit(self, kinds: tuple[str, ...]) -> list:
        return [(k, p) for k, p in self.audit if k in kinds]

    def book_fills(self, fills: list) -> None:
        self.fills += fills


def test_a_restart_keeps_what_others_hold_and_the_split_decided() -> None:
    """Seed 118: a closing fill all of which closed the trader's position has no stored
    fill; resent to a restarted engine before the trader's fills came again, it was
    booked whole. The split and what others hold are rebuilt from the audit log."""
    orders, book, audit = flatten_orders()
    ext = fill(0, Side.BUY, 2, "hand-1")
    audit.append(("external_fill", {"account": "Sim101", "symbol": "ESZ6", "side": int(Side.BUY),
                                    "quantity": 2, "execution_id": "hand-1"}))
    orders.on_external_fill(SESSION, ext)
    orders.on_fill(SESSION, fill(PLATFORM_MADE | 1, Side.SELL, 1, "flat-1"))
    assert book.net == 0 and audit[-1][1]["external"] == 1

    restarted_book = Book()
    restarted = FlattenOrders(book=restarted_book, store=Store(audit),
                              guard=lambda f, *a: f(*a), audit=lambda kind, **p: None)
    assert restarted.on_fill(SESSION, fill(PLATFORM_MADE | 1, Side.SELL, 1, "flat-1"))
    assert restarted_book.net == 0  # the resend: decided before, nothing booked again
    restarted.on_external_fill(SESSION, ext)  # seen before the restart: counted once
    restarted.on_fill(SESSION, fill(PLATFORM_MADE | 2, Side.SELL, 2, "flat-2"))
    assert restarted_book.net == -1  # the trader had 1 left to close, the rest the engine's
