"""Market movement applied to the venue: replayed bars, scripted books, triggers, funding,
liquidation and the scheduleCancel dead-man switch (pure logic over engine.Venue).

Why bar by bar: a resting order or a stop inside a bar's low..high range would have been hit
during that bar, so each closed bar is applied in time order across all coins, with funding
settled at every hour boundary in between.
"""

from __future__ import annotations

from actors.venues.simulator import accounts as acc
from actors.venues.simulator.engine import OrderRejected, Venue
from actors.venues.simulator.numbers import fmt
from actors.venues.simulator.orders import OPEN, Order

HOUR = 3_600_000


def advance_to(v: Venue, now: int) -> None:
    """Apply everything that happened in (v.now, now]."""
    if now <= v.now:
        return
    events: list[tuple[int, int, str, tuple]] = []
    if v.market is not None:
        for coin in v.coins:
            if coin in v.market.coins and not v.books[coin].scripted:
                for t, low, high, close in v.market.closed_bars(coin, v.now, now):
                    events.append((t, 1, coin, (low, high, close)))
    first_hour = (v.now // HOUR + 1) * HOUR
    for h in range(first_hour, now + 1, HOUR):
        events.append((h, 0, "", ()))
    for user, when in v.scheduled_cancel.items():
        if v.now < when <= now:
            events.append((when, 2, user, ()))
    events.sort(key=lambda e: (e[0], e[1]))
    moved: set[str] = set()
    for t, kind, key, data in events:
        v.now = t
        if kind == 0:
            settle_funding(v, t)
        elif kind == 1:
            low, high, close = data
            on_price(v, key, low, high, close)
            moved.add(key)
        else:
            v.scheduled_cancel.pop(key, None)
            v.cancel_all(key)
    v.now = now
    for coin in moved:
        v.events.append(("market", coin, None))


def on_price(v: Venue, coin: str, low: float, high: float, close: float) -> None:
    """The price of `coin` ranged over [low, high] and settled at `close`."""
    v.marks[coin] = close
    v.books[coin].reprice(close)
    fill_resting(v, coin, low, high)
    fire_triggers(v, coin, low, high)
    check_liquidations(v)


def set_book(
    v: Venue, coin: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> None:
    """Replace the outside liquidity of `coin` with a scripted ladder; the mark follows its mid."""
    book = v.books[coin]
    book.set_script(bids, asks)
    mid = book.mid()
    if mid is None:
        v.events.append(("market", coin, None))
        return
    low = book.bids[0][0] if book.bids else mid
    high = book.asks[0][0] if book.asks else mid
    v.marks[coin] = mid
    fill_resting(v, coin, low, high)
    fire_triggers(v, coin, mid, mid)
    check_liquidations(v)
    v.events.append(("market", coin, None))


def clear_book(v: Venue, coin: str) -> None:
    """Back to the synthetic ladder around the replayed price."""
    v.books[coin].clear_script()
    if v.market is not None and coin in v.market.coins:
        price = v.market.price(coin, v.now)
        on_price(v, coin, price, price, price)
    v.events.append(("market", coin, None))


def fill_resting(v: Venue, coin: str, low: float, high: float) -> None:
    """Resting limit orders the price traded through fill at their limit, as makers."""
    for o in sorted(v.open_orders_of(None, coin), key=lambda o: o.timestamp):
        if o.is_trigger or o.status != OPEN:
            continue
        hit = low <= o.limit_px if o.is_buy else high >= o.limit_px
        if not hit:
            continue
        sz = o.sz
        if o.reduce_only:
            szi = v.accounts[o.user].szi(coin)
            if szi == 0 or (szi > 0) == o.is_buy:
                v._set_status(o, "reduceOnlyCanceled")
                continue
            sz = min(sz, abs(szi))
        if v.partial_fill_fraction is not None:
            q = 10.0 ** -v.sz_decimals[coin]
            sz = max(q, round(sz * v.partial_fill_fraction / q) * q)
            v.partial_fill_fraction = None
        v._fill(o, o.limit_px, sz, crossed=False)
        if o.sz <= 1e-12:
            o.sz = 0.0
            v._set_status(o, "filled")
        else:
            v._emit_update(o)
        v._after_fills(o.user, coin)
        v.events.append(("l2Book", coin, None))


def _fires(o: Order, low: float, high: float) -> bool:
    fires_above = (o.tpsl == "sl") == o.is_buy
    tp = o.trigger_px or 0.0
    return high >= tp if fires_above else low <= tp


def fire_triggers(v: Venue, coin: str, low: float, high: float) -> None:
    """Stops and take-profits fire on the mark; market ones fill at the trigger price."""
    for o in sorted(v.open_orders_of(None, coin), key=lambda o: o.timestamp):
        if not o.is_trigger or o.status != OPEN or not _fires(o, low, high):
            continue
        v._set_status(o, "triggered")
        trig_px = o.trigger_px or 0.0
        o.trigger_px, o.tif = None, ("Ioc" if o.is_market else "Gtc")
        o.status = OPEN
        book = v.books[coin]
        scripted = book.scripted
        if not scripted:
            book.reprice(trig_px)
        try:
            v._check_reduce_only(o)
            v._execute(o)
        except OrderRejected as rej:
            status = "reduceOnlyCanceled" if "Reduce only" in rej.msg else "canceled"
            v.orders[o.oid] = o
            v._set_status(o, status)
        finally:
            if o.status != OPEN:  # a resting triggered limit order is a plain limit from now on
                o.trigger_px = trig_px
            if not scripted:
                book.reprice(v.marks[coin])


def settle_funding(v: Venue, hour_ms: int) -> None:
    """Hourly funding on every position at the oracle (= replayed) price."""
    if v.market is None:
        return
    for user, a in v.accounts.items():
        for coin in list(a.positions):
            if coin not in v.market.coins:
                continue
            rate = v.market.funding_rate(coin, hour_ms)
            szi = a.positions[coin].szi
            pay = acc.apply_funding(a, coin, v.marks[coin], rate)
            delta = {
                "type": "funding",
                "coin": coin,
                "usdc": fmt(pay, 6),
                "szi": fmt(szi),
                "fundingRate": fmt(rate, 10),
                "nSamples": None,
            }
            entry = {"time": hour_ms, "hash": "0x" + "0" * 64, "delta": delta}
            v.fundings.setdefault(user, []).append(entry)
            v.events.append(("user", user, {"funding": {**delta, "time": hour_ms}}))


def check_liquidations(v: Venue) -> None:
    """Positions below maintenance margin are closed at the mark (market liquidation): all
    cross positions of an account together, isolated ones one by one."""
    for user, a in v.accounts.items():
        coins = acc.liquidatable_coins(a, v.marks, v.max_lev)
        if not coins:
            continue
        for o in v.open_orders_of(user):
            if o.coin in coins:
                v._set_status(o, "marginCanceled")
        for coin in coins:
            pos = a.positions[coin]
            mark = v.marks[coin]
            closer = Order(
                oid=v._new_oid(),
                user=user,
                coin=coin,
                asset=v.asset_of[coin],
                is_buy=pos.szi < 0,
                limit_px=mark,
                orig_sz=abs(pos.szi),
                sz=abs(pos.szi),
                tif="Ioc",
                reduce_only=True,
                cloid=None,
                timestamp=v.now,
                status_ts=v.now,
            )
            v._store(closer)
            liq = {"liquidatedUser": user, "markPx": fmt(mark), "method": "market"}
            v._fill(closer, mark, abs(pos.szi), crossed=True, liquidation=liq)
            v._set_status(closer, "filled")
            v.events.append(
                (
                    "user",
                    user,
                    {
                        "liquidation": {
                            "lid": closer.oid,
                            "liquidator": "0x" + "0" * 40,
                            "liquidated_user": user,
                            "liquidated_ntl_pos": fmt(abs(pos.szi) * mark),
                            "liquidated_account_value": fmt(a.usdc),
                        }
                    },
                )
            )
