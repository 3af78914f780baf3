"""F23 against the venue: random prices and sizes on every market, rounded by the adapter, are
accepted (limit orders rest, market orders and reduce-only closes fill)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.messages import make_cloid
from actors.venues.base import OrderRequest
from tests.venues.conftest import Harness

_ids = itertools.count()


def _cloid() -> str:
    return make_cloid("rounding", "X", str(next(_ids)), "entry")


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_limit_orders_are_accepted_on_every_market(
    all_markets: Harness, data: st.DataObject
) -> None:
    v = all_markets.venue
    sym = data.draw(st.sampled_from(all_markets.symbols), label="symbol")
    now = v.now_ms()
    ref = v.candles(sym, "5m", now - 86_400_000, now)[-1].close
    side = data.draw(st.sampled_from(["buy", "sell"]), label="side")
    # the reference is the last closed 5m bar while the replay clock runs on: stay 5 % away so
    # the market cannot reach the order before it is cancelled (this test is about rounding)
    offset = data.draw(st.floats(min_value=0.05, max_value=0.6), label="offset")
    px = ref * (1 - offset) if side == "buy" else ref * (1 + offset)
    notional = data.draw(st.floats(min_value=12.0, max_value=3_000.0), label="notional")
    c = _cloid()
    res = v.place(
        OrderRequest(
            cloid=c,
            symbol=sym,
            side=side,  # type: ignore[arg-type]
            size=max(notional / px, all_markets.min_size(sym)),
            kind="limit",
            price=px,
        )
    )
    assert res.status == "resting", res
    assert v.cancel(sym, c) is True


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_market_orders_and_closes_are_accepted_on_every_market(
    all_markets: Harness, data: st.DataObject
) -> None:
    v = all_markets.venue
    sym = data.draw(st.sampled_from(all_markets.symbols), label="symbol")
    now = v.now_ms()
    ref = v.candles(sym, "5m", now - 86_400_000, now)[-1].close
    side = data.draw(st.sampled_from(["buy", "sell"]), label="side")
    notional = data.draw(st.floats(min_value=12.0, max_value=3_000.0), label="notional")
    opened = v.place(
        OrderRequest(
            cloid=_cloid(),
            symbol=sym,
            side=side,  # type: ignore[arg-type]
            size=max(notional / ref, all_markets.min_size(sym)),
            kind="market",
        )
    )
    assert opened.status == "filled", opened
    live = next(p.size for p in v.positions() if p.symbol == sym)
    extra = data.draw(st.floats(min_value=1.0, max_value=1.5), label="close_factor")
    closed = v.place(
        OrderRequest(
            cloid=_cloid(),
            symbol=sym,
            side="sell" if side == "buy" else "buy",
            size=abs(live) * extra,
            kind="market",
            reduce_only=True,
        )
    )
    assert closed.filled_size == abs(live)
    assert all(p.symbol != sym for p in v.positions())
