"""The Venue conformance suite: the same behaviour from every venue implementation."""

from __future__ import annotations

import itertools
import threading

import pytest

from actors.messages import make_cloid
from actors.venues.base import (
    Candle,
    OrderRejected,
    OrderRequest,
    PlaceResult,
    Side,
    Venue,
    VenueFunding,
    VenueUnavailable,
)
from tests.venues.conftest import Harness


def cloid(tag: str) -> str:
    return make_cloid("conformance", "X", tag, "entry")


def mid(v: Venue, symbol: str) -> float:
    closes = v.candles(symbol, "1m", v.now_ms() - 3_600_000, v.now_ms() + 60_000)
    if closes:
        return closes[-1].close
    closes = v.candles(symbol, "5m", v.now_ms() - 6 * 3_600_000, v.now_ms() + 300_000)
    return closes[-1].close


def test_venue_satisfies_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.venue, Venue)
    assert harness.venue.equity() > 0


def test_funding_history_reads_as_records(harness: Harness) -> None:
    """Every venue answers its funding history as VenueFunding rows at or after the start,
    oldest first (a fresh account holds none: the settlement itself is in tests/live)."""
    v = harness.venue
    rows = v.funding_since(v.now_ms() - 7 * 86_400_000)
    assert isinstance(rows, list) and all(isinstance(r, VenueFunding) for r in rows)
    assert [r.time_ms for r in rows] == sorted(r.time_ms for r in rows)


def test_limit_order_rests_and_cancels_by_cloid(harness: Harness) -> None:
    v, sym = harness.venue, harness.symbol
    px = mid(v, sym) * 0.9
    c = cloid("rest")
    res = v.place(OrderRequest(cloid=c, symbol=sym, side="buy", size=0.001, kind="limit", price=px))
    assert res.status == "resting" and res.cloid == c
    assert [o.cloid for o in v.open_orders()] == [c]
    found = v.order_by_cloid(sym, c)
    assert found is not None and found.status == "open" and found.kind == "limit"
    assert v.cancel(sym, c) is True
    assert v.cancel(sym, c) is False
    gone = v.order_by_cloid(sym, c)
    assert gone is not None and gone.status == "canceled"
    assert v.open_orders() == []


def test_cancel_many_answers_each_order_in_one_request(harness: Harness) -> None:
    """A venue that takes a batch of cancels (``cancel_many``: the entries expiring together at
    a bar close) answers for each order what ``cancel`` would."""
    v, sym = harness.venue, harness.symbol
    if not hasattr(v, "cancel_many"):
        pytest.skip(f"{v.name} cancels one order per request (the Executor loops over cancel)")
    px = mid(v, sym) * 0.9
    placed = [cloid(f"batch{k}") for k in range(2)]
    for c in placed:
        v.place(OrderRequest(cloid=c, symbol=sym, side="buy", size=0.001, kind="limit", price=px))
    assert v.cancel_many([]) == []
    assert v.cancel_many([(sym, placed[0]), (sym, cloid("batch-never")), (sym, placed[1])]) == [
        True, False, True,
    ]  # fmt: skip
    assert v.open_orders() == []
    assert all(getattr(v.order_by_cloid(sym, c), "status", None) == "canceled" for c in placed)


def test_place_many_answers_each_order_in_one_request(harness: Harness) -> None:
    """A venue that takes a batch of orders (``place_many``: the entries of one bar close)
    answers for each what ``place`` would; an order refused before sending (its size rounds to
    zero) is that order's answer alone, and the others rest."""
    v, sym = harness.venue, harness.symbol
    if not hasattr(v, "place_many"):
        pytest.skip(f"{v.name} places one order per request (the Executor loops over place)")
    px = mid(v, sym) * 0.9
    ids = [cloid(f"many{k}") for k in range(3)]
    sizes = [0.001, 1e-12, 0.002]  # the middle one rounds to zero
    out = v.place_many([OrderRequest(cloid=c, symbol=sym, side="buy", size=z, kind="limit",
                                     price=px) for c, z in zip(ids, sizes, strict=True)])  # fmt: skip
    assert [type(r).__name__ for r in out] == ["PlaceResult", "OrderRejected", "PlaceResult"]
    assert [r.status for r in (out[0], out[2])] == ["resting", "resting"]  # type: ignore[union-attr]
    assert v.place_many([]) == []
    assert sorted(o.cloid for o in v.open_orders()) == sorted((ids[0], ids[2]))
    assert v.order_by_cloid(sym, ids[1]) is None  # never sent
    assert v.order_by_cloid(sym, ids[2]).size == pytest.approx(0.002)  # type: ignore[union-attr]


def test_order_never_sent_is_none(harness: Harness) -> None:
    assert harness.venue.order_by_cloid(harness.symbol, cloid("never")) is None


def test_reject_fault_is_order_rejected_with_venue_text(harness: Harness) -> None:
    inject = harness.need("inject")
    inject("reject", message="Insufficient margin to place order.")
    v, sym = harness.venue, harness.symbol
    c = cloid("rejected")
    with pytest.raises(OrderRejected) as err:
        v.place(OrderRequest(cloid=c, symbol=sym, side="buy", size=0.001, kind="market"))
    assert err.value.reason.startswith("Insufficient margin to place order.")
    assert err.value.cloid == c
    assert v.positions() == []


def test_timeout_after_accept_is_unavailable_then_found_once(harness: Harness) -> None:
    inject = harness.need("inject")
    v = harness.make(timeout_s=1.0)
    inject("timeout_after_accept", count=1, hang_seconds=5)
    c = cloid("timeout")
    px = mid(v, harness.symbol) * 0.9
    with pytest.raises(VenueUnavailable):
        v.place(
            OrderRequest(
                cloid=c, symbol=harness.symbol, side="buy", size=0.001, kind="limit", price=px
            )
        )
    found = v.order_by_cloid(harness.symbol, c)
    assert found is not None and found.status == "open"
    assert [o.cloid for o in v.open_orders()].count(c) == 1


def ref_price(v: Venue, symbol: str) -> float:
    now = v.now_ms()
    return v.candles(symbol, "5m", now - 86_400_000, now)[-1].close


def market(
    v: Venue, symbol: str, side: Side, size: float, tag: str, reduce_only: bool = False
) -> PlaceResult:
    return v.place(
        OrderRequest(
            cloid=cloid(tag),
            symbol=symbol,
            side=side,
            size=size,
            kind="market",
            reduce_only=reduce_only,
        )
    )


def test_market_orders_fill_into_positions_fills_and_equity(harness: Harness) -> None:
    v, sym = harness.venue, harness.symbol
    t0 = v.now_ms()
    start_equity = v.equity()
    buy = market(v, sym, "buy", 0.003, "m1")
    assert buy.status == "filled" and buy.filled_size == pytest.approx(0.003)
    assert buy.avg_price is not None and buy.avg_price > 0
    (pos,) = v.positions()
    assert (pos.symbol, pos.size) == (sym, pytest.approx(0.003))
    assert pos.entry_price == pytest.approx(buy.avg_price)
    market(v, sym, "sell", 0.001, "m2")
    assert v.positions()[0].size == pytest.approx(0.002)
    found = v.order_by_cloid(sym, cloid("m1"))
    assert found is not None and found.status == "filled" and found.remaining == 0.0
    fills = v.fills_since(t0)
    assert [f.cloid for f in fills] == [cloid("m1"), cloid("m2")]
    assert [f.side for f in fills] == ["buy", "sell"]
    assert len({f.trade_id for f in fills}) == len(fills)
    assert [f.time_ms for f in fills] == sorted(f.time_ms for f in fills)
    assert all(f.fee > 0 for f in fills)  # taker fees are charged
    assert v.fills_since(fills[-1].time_ms + 1) == []
    assert v.equity() < start_equity  # fees paid (the price has not moved on a slow clock)
    positions, equity = v.positions_and_equity()  # one read: the same as the two
    assert positions == v.positions() and equity == pytest.approx(v.equity())


def test_reduce_only_close_is_clamped_to_the_live_size(harness: Harness) -> None:
    v, sym = harness.venue, harness.symbol
    market(v, sym, "buy", 0.002, "open")
    close = market(v, sym, "sell", 0.0057, "close", reduce_only=True)
    assert close.filled_size == pytest.approx(0.002)
    assert v.positions() == []


def _protect(harness: Harness) -> tuple[float, str, str]:
    v, sym = harness.venue, harness.symbol
    entry = market(v, sym, "buy", 0.002, "entry").avg_price
    assert entry is not None
    sl, tp = cloid("sl"), cloid("tp")
    for c, kind, trig in ((sl, "stop_loss", entry * 0.99), (tp, "take_profit", entry * 1.01)):
        res = v.place(
            OrderRequest(
                cloid=c,
                symbol=sym,
                side="sell",
                size=0.002,
                kind=kind,  # type: ignore[arg-type]
                trigger_price=trig,
            )
        )
        assert res.status in ("resting", "triggered_pending")
    return entry, sl, tp


def test_stop_and_target_rest_as_reduce_only_triggers(harness: Harness) -> None:
    v = harness.venue
    entry, sl, tp = _protect(harness)
    orders = {o.cloid: o for o in v.open_orders()}
    assert set(orders) == {sl, tp}
    assert orders[sl].kind == "stop_loss" and orders[tp].kind == "take_profit"
    assert all(o.reduce_only and o.side == "sell" and o.status == "open" for o in orders.values())
    assert orders[sl].trigger_price == pytest.approx(entry * 0.99, rel=1e-4)
    assert orders[tp].trigger_price == pytest.approx(entry * 1.01, rel=1e-4)
    assert v.cancel(harness.symbol, sl) and v.cancel(harness.symbol, tp)
    assert v.open_orders() == []


@pytest.mark.parametrize(("which", "move"), [("sl", 0.98), ("tp", 1.02)])
def test_stop_and_target_fire_reduce_only(harness: Harness, which: str, move: float) -> None:
    move_price = harness.need("move_price")
    v, sym = harness.venue, harness.symbol
    entry, sl, tp = _protect(harness)
    t0 = max(f.time_ms for f in v.fills_since(0))  # the entry's fill: cursors are fill times
    move_price(sym, entry * move)
    fired, other = (sl, tp) if which == "sl" else (tp, sl)
    order = v.order_by_cloid(sym, fired)
    assert order is not None and order.status == "filled"
    assert v.positions() == []
    (fill,) = [f for f in v.fills_since(t0) if f.cloid == fired]
    assert fill.side == "sell" and fill.size == pytest.approx(0.002)
    # the sibling is reduce-only: whatever it does next, it can never open a position
    harness.need("reset_price")(sym)
    if v.order_by_cloid(sym, other) is not None and v.cancel(sym, other):
        pass
    assert v.positions() == []


def test_candle_backfill_is_closed_ordered_and_unique(harness: Harness) -> None:
    v, sym = harness.venue, harness.symbol
    now = v.now_ms()
    step = 300_000
    start = now - 12 * 3_600_000 + 7  # not on the grid: the bucket holding start is left out
    candles = v.candles(sym, "5m", start, now)
    times = [c.time_ms for c in candles]
    assert len(times) >= 12 * 12 - 2
    assert times == sorted(set(times))
    assert all(start <= t < now and t + step <= now and t % step == 0 for t in times)
    assert all(c.closed and c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
               for c in candles)  # fmt: skip
    assert v.candles(sym, "5m", times[3], times[6]) == candles[3:6]  # [start, end)


def test_subscribe_candles_delivers_each_closed_bar_once(fast_harness: Harness) -> None:
    v, sym = fast_harness.venue, fast_harness.symbol
    got: list[Candle] = []
    enough = threading.Event()

    def on_candle(c: Candle) -> None:
        got.append(c)
        if sum(x.closed for x in got) >= 4:
            enough.set()

    sub = v.subscribe_candles(sym, "5m", on_candle)
    try:
        assert enough.wait(timeout=60), f"only {sum(x.closed for x in got)} closed bars in 60 s"
    finally:
        sub.close()
    closed = [c for c in got if c.closed]
    times = [c.time_ms for c in closed]
    assert times == sorted(set(times)) and all(
        b - a == 300_000 for a, b in itertools.pairwise(times)
    )
    for i, c in enumerate(got):  # never a forming update for a bar already delivered closed
        if not c.closed:
            assert all(c.time_ms > d.time_ms for d in got[:i] if d.closed)
    rest = v.candles(sym, "5m", times[0], times[-1] + 300_000)
    assert [c.model_dump() for c in rest[: len(closed)]] == [c.model_dump() for c in closed]


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("http_5xx", {"count": 1, "path": "/exchange"}),
        ("rate_limit", {"weight_per_min": 0}),
        ("malformed_reply", {"count": 1, "body": b"<html>bad gateway</html>"}),
        ("malformed_reply", {"count": 1, "body": b'{"status": "ok", "response": {}}'}),
    ],
)
def test_transport_faults_are_unavailable_never_rejected(
    harness: Harness, fault: str, params: dict[str, object]
) -> None:
    inject = harness.need("inject")
    v, sym = harness.venue, harness.symbol
    px = ref_price(v, sym) * 0.9
    inject(fault, **params)
    c = cloid(f"fault-{fault}")
    try:
        with pytest.raises(VenueUnavailable):
            v.place(OrderRequest(cloid=c, symbol=sym, side="buy", size=0.001, kind="limit",
                                 price=px))  # fmt: skip
    finally:
        if fault == "rate_limit":
            inject("rate_limit", weight_per_min=10**9)  # lift the limit again
    # the lookup is what tells the caller the outcome; here it is consistent with open orders
    found = v.order_by_cloid(sym, c)
    assert (found is not None) == (c in {o.cloid for o in v.open_orders()})


def test_reads_fail_unavailable_on_5xx(harness: Harness) -> None:
    inject = harness.need("inject")
    inject("http_5xx", count=1, path="/info")
    with pytest.raises(VenueUnavailable):
        harness.venue.positions()
    assert harness.venue.positions() == []  # and the next read works
