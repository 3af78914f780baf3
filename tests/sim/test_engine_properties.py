"""Property: whatever orders arrive, each account's position and cash equal what its fills say."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.venues.simulator.engine import COIN_META, Venue
from actors.venues.simulator.numbers import fmt, round_px
from actors.venues.simulator.ticks import set_book
from tests.sim.helpers import OTHER, USER, order_spec, scripted_venue

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
                order_spec(
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


@settings(max_examples=80)
@given(
    st.sampled_from(
        sorted(__import__("actors.venues.simulator.engine", fromlist=["COIN_META"]).COIN_META)
    ),
    st.floats(min_value=0.05, max_value=150_000),
    st.floats(min_value=0.5, max_value=1.5),
)
def test_sdk_rounded_prices_are_accepted_on_every_coin(
    coin: str, mid: float, factor: float
) -> None:
    """F23: prices rounded the SDK way never hit the price rules, whatever the coin."""
    szd = COIN_META[coin][0]
    mid = round_px(mid, szd)
    if mid <= 0:
        return
    v = Venue(None, [coin], 0, {USER: 1e9})
    set_book(v, coin, [(mid, 1e9)], [(round_px(mid * 1.001, szd) or mid, 1e9)])
    px = round_px(mid * factor, szd)
    sz = max(10.0**-szd, round(20 / px, szd)) if px > 0 else 1
    st_ = v.place_orders(USER, [order_spec(px=fmt(px), sz=fmt(sz), tif="Alo")], "na")[0]
    if isinstance(st_, dict) and "error" in st_:
        assert not st_["error"].startswith(
            ("Order has invalid price", "Price must be divisible")
        ), (px, st_)
