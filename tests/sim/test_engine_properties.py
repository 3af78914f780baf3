"""Property: whatever orders arrive, each account's position and cash equal what its fills say."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.venues.simulator.ticks import set_book
from tests.sim.helpers import OTHER, USER, order_wire, scripted_venue

orders = st.lists(
    st.tuples(
        st.sampled_from([USER, OTHER]),
        st.booleans(),
        st.integers(min_value=99_950, max_value=100_060),
        st.integers(min_value=1, max_value=30),
        st.sampled_from(["Gtc", "Ioc", "Alo"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)
moves = st.lists(st.integers(min_value=99_900, max_value=100_100), max_size=4)


@settings(max_examples=60)
@given(orders, moves)
def test_positions_and_cash_follow_fills(seq: list, book_moves: list[int]) -> None:
    v = scripted_venue(usdc=50_000.0)
    for i, (user, is_buy, px, lots, tif, ro) in enumerate(seq):
        v.place_orders(
            user,
            [
                order_wire(
                    is_buy=is_buy, px=str(px), sz=f"{lots / 1000:.3f}", tif=tif, reduce_only=ro
                )
            ],
            "na",
        )
        if book_moves and i % 7 == 3:
            mid = book_moves[(i // 7) % len(book_moves)]
            set_book(v, "BTC", [(mid - 5, 1.0)], [(mid + 5, 1.0)])
    for user in (USER, OTHER):
        fills = v.fills.get(user, [])
        signed = sum(float(f["sz"]) * (1 if f["side"] == "B" else -1) for f in fills)
        assert v.accounts[user].szi("BTC") == pytest.approx(signed, abs=1e-9)
        cash = 50_000.0 + sum(float(f["closedPnl"]) - float(f["fee"]) for f in fills)
        assert v.accounts[user].usdc == pytest.approx(cash, abs=1e-4)
        tids = [f["tid"] for f in fills]
        assert len(tids) == len(set(tids))
        for o in v.open_orders_of(user):
            assert 0 < o.sz <= o.orig_sz
