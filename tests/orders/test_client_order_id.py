"""Client order ids: unique across restarts, a text form for the platforms, a parser back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from orders_support import ACCOUNT, ES, new_book

from tickbridge.orders import (
    Side,
    format_client_order_id,
    make_client_order_id,
    parse_client_order_id,
)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_text_form_round_trips(coid):
    text = format_client_order_id(coid)
    assert len(text) == 18 and text.startswith("TB")
    assert parse_client_order_id(text) == coid
    assert parse_client_order_id(text.lower().replace("tb", "TB", 1)) == coid


def test_layout_and_example():
    assert make_client_order_id(7, 1) == (7 << 32) | 1
    assert format_client_order_id(make_client_order_id(7, 1)) == "TB0000000700000001"


@pytest.mark.parametrize("bad", ["", "TB", "TB000000070000000", "TB00000007000000011",
                                 "XX0000000700000001", "TB000000070000000G", "tb0000000700000001"])
def test_parser_refuses_anything_else(bad):
    with pytest.raises(ValueError):
        parse_client_order_id(bad)


def test_ids_are_unique_across_restarts_and_increase_within_a_session():
    seen: set[int] = set()
    for epoch in (1, 2, 3):  # three engine starts
        book = new_book(epoch)
        ids = [book.new_order(ACCOUNT, ES[0], Side.BUY, 1).client_order_id for _ in range(50)]
        assert ids == sorted(ids)
        assert not seen & set(ids)
        seen |= set(ids)
