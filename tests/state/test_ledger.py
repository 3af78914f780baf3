"""Positions and trades derived from fills: order- and duplicate-independent (F5, F13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.messages import Fill
from actors.state.ledger import derive, metrics
from tests.state.helpers import fill


def test_round_trip_pnl_includes_fees() -> None:
    fills = [fill("a", size=2.0, price=100.0, fee=0.2, t=1),
             fill("b", side="sell", size=1.0, price=110.0, fee=0.1, t=2),
             fill("c", side="sell", size=1.0, price=90.0, fee=0.1, t=3)]  # fmt: skip
    positions, trades = derive(fills)
    assert positions == {}
    [t] = trades
    assert t.side == "long" and t.size == 2.0
    assert t.entry_price == 100.0 and t.exit_price == 100.0
    assert t.pnl == pytest.approx(10.0 - 10.0 - 0.4)
    assert t.fees == pytest.approx(0.4)


def test_partial_reduction_keeps_entry_and_realises() -> None:
    positions, trades = derive([fill("a", size=1.0, price=100.0, t=1),
                                fill("b", size=1.0, price=110.0, t=2),
                                fill("c", side="sell", size=0.5, price=120.0, t=3)])  # fmt: skip
    p = positions["BTC"]
    assert trades == []
    assert p.size == pytest.approx(1.5) and p.entry_price == pytest.approx(105.0)
    assert p.realized_pnl == pytest.approx(7.5) and p.last_trade_id == "c"


def test_flip_closes_the_trade_and_opens_the_rest_short() -> None:
    positions, trades = derive(
        [
            fill("a", size=1.0, price=100.0, fee=0.0, t=1),
            fill("b", side="sell", size=3.0, price=90.0, fee=0.3, t=2),
        ]
    )
    [t] = trades
    assert t.side == "long" and t.pnl == pytest.approx(-10.0 - 0.1)
    p = positions["BTC"]
    assert p.size == pytest.approx(-2.0) and p.entry_price == 90.0 and p.side == "short"
    assert p.fees == pytest.approx(0.2) and p.opened_ms == 2


def test_short_trade_profits_when_price_falls() -> None:
    _, [t] = derive([fill("a", side="sell", size=1.0, price=100.0, t=1),
                     fill("b", side="buy", size=1.0, price=80.0, t=2)])  # fmt: skip
    assert t.side == "short" and t.pnl == pytest.approx(20.0) and t.return_pct == pytest.approx(0.2)


def test_metrics() -> None:
    _, trades = derive(
        [
            fill("a", price=100.0, t=1),
            fill("b", side="sell", price=110.0, t=2),
            fill("c", price=100.0, t=3),
            fill("d", side="sell", price=95.0, t=4),
            fill("e", price=100.0, t=5),
            fill("f", side="sell", price=120.0, t=6),
        ]
    )
    m = metrics(trades)
    assert m["trades"] == 3 and m["total_pnl"] == pytest.approx(25.0)
    assert m["win_rate"] == pytest.approx(2 / 3)
    rets = [0.1, -0.05, 0.2]
    mean = sum(rets) / 3
    sd = (sum((r - mean) ** 2 for r in rets) / 2) ** 0.5
    assert m["sharpe"] == pytest.approx(mean / sd)
    assert metrics([]) == {"trades": 0, "total_pnl": 0.0, "fees": 0.0, "win_rate": 0.0,
                           "sharpe": 0.0}  # fmt: skip


_fill_streams = st.lists(
    st.tuples(st.sampled_from(["BTC", "ETH"]), st.sampled_from(["buy", "sell"]),
              st.integers(1, 5), st.integers(90, 110), st.integers(0, 50)),
    min_size=1, max_size=30,
)  # fmt: skip


@given(_fill_streams, st.randoms(use_true_random=False), st.data())
def test_duplicates_and_reordering_give_the_same_ledger(raw, rnd, data) -> None:  # type: ignore[no-untyped-def]
    fills = [fill(f"t{i}", symbol=s, side=side, size=q / 4, price=float(px), fee=q / 100, t=t)
             for i, (s, side, q, px, t) in enumerate(raw)]  # fmt: skip
    dups: list[Fill] = data.draw(st.lists(st.sampled_from(fills), max_size=10))
    # a duplicate is redelivered with another (source, seq): only the trade id identifies it
    replayed = fills + [d.model_copy(update={"seq": d.seq + 1000}) for d in dups]
    rnd.shuffle(replayed)
    assert derive(replayed) == derive(fills)
    # and the net size is the plain signed sum, whatever the order
    positions, _ = derive(replayed)
    for sym in ("BTC", "ETH"):
        net = sum((f.size if f.side == "buy" else -f.size) for f in fills if f.symbol == sym)
        got = positions[sym].size if sym in positions else 0.0
        assert got == pytest.approx(net, abs=1e-9)
