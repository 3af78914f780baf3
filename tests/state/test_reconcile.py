"""Reconciliation journal vs venue: every difference found, settled idempotently (F4-F6, F17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.messages import Fill, OrderIntent
from actors.state.journal import Journal
from actors.state.ledger import derive
from actors.state.reconcile import ReconciliationReport, cloids_to_look_up, reconcile
from actors.venues.base import VenueFill, VenueOrder, VenuePosition
from tests.state.helpers import fill, intent


def vpos(symbol: str, size: float, entry: float = 100.0) -> VenuePosition:
    return VenuePosition(symbol=symbol, size=size, entry_price=entry)


def vorder(cloid: str | None, *, symbol: str = "BTC", side: str = "sell", size: float = 1.0,
           kind: str = "stop_loss", reduce_only: bool = True, oid: str = "7") -> VenueOrder:  # fmt: skip
    return VenueOrder.model_validate({
        "cloid": cloid, "venue_order_id": oid, "symbol": symbol, "side": side, "size": size,
        "remaining": size, "kind": kind, "price": None, "trigger_price": 90.0,
        "reduce_only": reduce_only, "status": "open", "time_ms": 0,
    })  # fmt: skip


def vfill(tid: str, *, symbol: str = "BTC", side: str = "buy", size: float = 1.0,
          price: float = 100.0, cloid: str | None = None, t: int = 0) -> VenueFill:  # fmt: skip
    return VenueFill.model_validate({
        "trade_id": tid, "cloid": cloid, "venue_order_id": "1", "symbol": symbol, "side": side,
        "size": size, "price": price, "fee": 0.01, "closed_pnl": 0.0, "time_ms": t,
    })  # fmt: skip


def kinds(report: ReconciliationReport) -> list[str]:
    return [d.kind for d in report.differences]


STOP = intent(50, side="sell", purpose="stop", kind="stop_loss", trigger=90.0, reduce_only=True,
              stop=None, target=None)  # fmt: skip


def test_agreeing_views_are_clean() -> None:
    positions, _ = derive([fill("t1")])
    r = reconcile(positions, [STOP], [vpos("BTC", 1.0)], [vorder(STOP.cloid)], [vfill("t1")],
                  known_trade_ids={"t1"})  # fmt: skip
    assert r.clean and r.differences == [] and r.fills == [] and r.blocked_symbols == []


def test_missing_fill_is_recorded_and_explains_the_position() -> None:
    r = reconcile({}, [STOP], [vpos("BTC", 1.0)], [vorder(STOP.cloid)], [vfill("t1")])
    assert kinds(r) == ["missing_fill"] and not r.clean
    assert [f.trade_id for f in r.fills] == ["t1"]


def test_unknown_venue_position_is_adopted_and_must_be_protected() -> None:
    r = reconcile({}, [], [vpos("ETH", -2.0, entry=50.0)], [], [], time_ms=9)
    assert kinds(r) == ["adopt_position", "unprotected_position"]
    [f] = r.fills
    assert (f.symbol, f.side, f.size, f.price, f.time_ms) == ("ETH", "sell", 2.0, 50.0, 9)
    protect = r.differences[1]
    assert protect.action == "protect" and protect.venue_size == -2.0
    assert r.blocked_symbols == ["ETH"]


def test_position_gone_from_venue_is_marked_closed_at_entry() -> None:
    positions, _ = derive([fill("t1", price=100.0)])
    r = reconcile(positions, [], [], [], [], known_trade_ids={"t1"})
    assert kinds(r) == ["mark_closed"]
    after, trades = derive([fill("t1", price=100.0), *r.fills])
    assert after == {} and trades[0].pnl == 0.0


def test_size_mismatch_is_adjusted_to_the_venue() -> None:
    positions, _ = derive([fill("t1", size=1.0, price=100.0)])
    r = reconcile(positions, [STOP], [vpos("BTC", 1.5, entry=101.0)],
                  [vorder(STOP.cloid, size=1.5)], [], known_trade_ids={"t1"})  # fmt: skip
    assert kinds(r) == ["position_mismatch"]
    after, _ = derive([fill("t1"), *r.fills])
    assert after["BTC"].size == pytest.approx(1.5)


def test_stop_too_small_for_the_position_is_unprotected() -> None:
    positions, _ = derive([fill("t1", size=2.0)])
    r = reconcile(positions, [STOP], [vpos("BTC", 2.0)], [vorder(STOP.cloid, size=1.0)], [],
                  known_trade_ids={"t1"})  # fmt: skip
    assert kinds(r) == ["unprotected_position"] and "only 1.0" in r.differences[0].detail
    wrong_side = reconcile(positions, [STOP], [vpos("BTC", 2.0)],
                           [vorder(STOP.cloid, size=2.0, side="buy")], [],
                           known_trade_ids={"t1"})  # fmt: skip
    assert "unprotected_position" in kinds(wrong_side)


def test_orphan_orders() -> None:
    entry = vorder(None, kind="limit", side="buy", reduce_only=False, oid="8", symbol="SOL")
    stop = vorder("0x" + "a" * 32, oid="9", symbol="SOL")
    r = reconcile({}, [], [], [entry, stop], [])
    assert kinds(r) == ["orphan_order", "orphan_order"]
    by_oid = {d.venue_order_id: d for d in r.differences}
    assert by_oid["8"].action == "operator" and by_oid["8"].blocking
    assert by_oid["9"].action == "none" and not by_oid["9"].blocking
    assert not r.clean and r.blocked_symbols == ["SOL"]
    assert reconcile({}, [], [], [stop], []).clean  # a reduce-only orphan cannot add risk


def test_absent_journal_order_resolved_by_fills_or_lookup_never_guessed() -> None:
    e = intent(1, size=1.0)
    filled = reconcile({}, [e], [vpos("BTC", 1.0)], [vorder(None, oid="s")],
                       [vfill("t1", cloid=e.cloid)])  # fmt: skip
    assert [u.status for u in filled.order_updates] == ["filled"]
    assert cloids_to_look_up([e], []) == [e]
    unknown = reconcile({}, [e], [], [], [])
    assert kinds(unknown) == ["order_unresolved"] and unknown.order_updates == []
    assert unknown.differences[0].action == "lookup" and not unknown.clean
    never = reconcile({}, [e], [], [], [], lookups={e.cloid: None})
    assert [(u.status, u.cloid) for u in never.order_updates] == [("canceled", e.cloid)]
    expired = vorder(e.cloid, kind="limit").model_copy(update={"status": "expired"})
    gone = reconcile({}, [e], [], [], [], lookups={e.cloid: expired})
    assert [u.status for u in gone.order_updates] == ["canceled"]
    still_open = vorder(e.cloid, kind="limit")  # lookup says open: not resolved by a guess
    assert kinds(reconcile({}, [e], [], [], [], lookups={e.cloid: still_open})) == [
        "order_unresolved"
    ]


def test_applied_report_leaves_nothing_new_the_second_time(tmp_path: Path) -> None:
    """F6 on the real journal: reconcile, apply, reconcile again -> clean, and applying the
    first report again writes nothing."""
    with Journal(tmp_path / "j.sqlite") as j:
        e = intent(1)
        j.record_intent(e)
        j.record_fill(fill("t0", symbol="XRP", price=1.0))
        venue = dict(venue_positions=[vpos("BTC", 1.0), vpos("ETH", 3.0, entry=20.0)],
                     venue_open_orders=[vorder("0x" + "b" * 32, size=1.0, oid="1"),
                                        vorder("0x" + "c" * 32, symbol="ETH", size=3.0, oid="2")],
                     venue_fills=[vfill("t1", cloid=e.cloid)])  # fmt: skip

        def run() -> ReconciliationReport:
            return reconcile(j.positions(), j.open_intents(), known_trade_ids=j.known_trade_ids(),
                             time_ms=5, **venue)  # type: ignore[arg-type]  # fmt: skip

        first = run()
        assert {"missing_fill", "adopt_position", "mark_closed"} <= set(kinds(first))
        assert j.apply_reconciliation(first) == len(first.fills) + len(first.order_updates)
        second = run()
        assert second.clean, second.differences
        assert j.apply_reconciliation(first) == 0  # replaying the first report: no new record
        assert {s: p.size for s, p in j.positions().items()} == {"BTC": 1.0, "ETH": 3.0}
        assert j.open_intents() == []
        assert j.last_reconciliation() == first  # the replay is logged too
        assert j.counts()["reconciliations"] == 2


_sizes = st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])


@given(st.dictionaries(st.sampled_from(["BTC", "ETH", "SOL"]), _sizes),
       st.dictionaries(st.sampled_from(["BTC", "ETH", "SOL"]), _sizes),
       st.lists(st.tuples(st.sampled_from(["BTC", "ETH"]), st.sampled_from(["buy", "sell"]),
                          st.sampled_from([0.5, 1.0])), max_size=4))  # fmt: skip
def test_reconcile_converges_in_one_pass_and_is_deterministic(journal_sizes, venue_sizes,
                                                             new_fills) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    journal_fills: list[Fill] = [
        fill(f"j{s}", symbol=s, side="buy" if q > 0 else "sell", size=abs(q), price=100.0)
        for s, q in journal_sizes.items() if q != 0
    ]  # fmt: skip
    venue_fills = [vfill(f"v{i}", symbol=s, side=side, size=q, t=i + 1)
                   for i, (s, side, q) in enumerate(new_fills)]  # fmt: skip
    positions, _ = derive(journal_fills)
    vp = [vpos(s, q) for s, q in venue_sizes.items() if q != 0]
    stops = [vorder(None, symbol=p.symbol, side="sell" if p.size > 0 else "buy", size=abs(p.size),
                    oid=p.symbol) for p in vp]  # fmt: skip
    known = {f.trade_id for f in journal_fills}
    args = (positions, list[OrderIntent](), vp, stops, venue_fills)
    first = reconcile(*args, known_trade_ids=known)
    assert reconcile(*args, known_trade_ids=known) == first  # deterministic ids
    after, _ = derive([*journal_fills, *first.fills])
    assert {s: p.size for s, p in after.items()} == pytest.approx({p.symbol: p.size for p in vp})
    second = reconcile(after, [], vp, stops, venue_fills,
                       known_trade_ids=known | {f.trade_id for f in first.fills})  # fmt: skip
    assert second.fills == [] and second.order_updates == []
    assert [d.kind for d in second.differences] == ["orphan_order"] * len(stops)
    assert second.clean


def test_flipped_position_closes_at_journal_entry_and_opens_at_venue_entry() -> None:
    positions, _ = derive([fill("t1", size=1.0, price=100.0, t=50)])
    r = reconcile(positions, [], [vpos("BTC", -2.0, entry=95.0)],
                  [vorder(None, side="buy", size=2.0)], [], known_trade_ids={"t1"}, time_ms=10)  # fmt: skip
    assert [(f.side, f.size, f.price, f.time_ms) for f in r.fills] == [
        ("sell", 1.0, 100.0, 51), ("sell", 2.0, 95.0, 51)
    ]  # fmt: skip
    after, [trade] = derive([fill("t1", size=1.0, price=100.0, t=50), *r.fills])
    assert after["BTC"].size == -2.0 and after["BTC"].entry_price == 95.0 and trade.pnl == 0.0


def test_while_trading_a_fill_racing_the_snapshot_books_no_phantom_adjustment() -> None:
    """Positions were read just before a fill, fills just after: one pass sees a difference
    that the next pass does not. With ``previous`` nothing synthetic is booked."""
    fills = [fill("t1", size=1.0)]
    positions, _ = derive(fills)
    protected = [vorder(STOP.cloid, size=2.0)]
    start = reconcile(positions, [STOP], [vpos("BTC", 1.0)], protected, [],
                      known_trade_ids={"t1"})  # fmt: skip
    assert start.clean
    racing = vfill("t2", size=1.0, t=5)
    p1 = reconcile(positions, [STOP], [vpos("BTC", 1.0)], protected, [racing],
                   known_trade_ids={"t1"}, previous=start)  # fmt: skip
    assert kinds(p1) == ["missing_fill", "position_mismatch"] and not p1.clean
    assert p1.differences[1].action == "confirm"
    assert [f.trade_id for f in p1.fills] == ["t2"]  # the real fill only
    fills.append(fill("t2", size=1.0, t=5))
    positions, _ = derive(fills)
    p2 = reconcile(positions, [STOP], [vpos("BTC", 2.0)], protected, [racing],
                   known_trade_ids={"t1", "t2"}, previous=p1)  # fmt: skip
    assert p2.clean and p2.fills == []


def test_while_trading_a_persistent_difference_is_settled_on_the_second_pass() -> None:
    positions, _ = derive([fill("t1", size=1.0)])
    venue: tuple[list[VenuePosition], list[VenueOrder], list[VenueFill]] = (
        [vpos("BTC", 3.0, entry=105.0)],
        [vorder(STOP.cloid, size=3.0)],
        [],
    )
    p1 = reconcile(positions, [STOP], *venue, known_trade_ids={"t1"}, previous=None)
    assert p1.fills  # at start-up: settled at once
    first = reconcile(positions, [STOP], *venue, known_trade_ids={"t1"}, previous=p1.model_copy(
        update={"differences": []}))  # fmt: skip
    assert first.fills == [] and first.differences[0].action == "confirm"
    second = reconcile(positions, [STOP], *venue, known_trade_ids={"t1"}, previous=first)
    assert second.differences[0].action == "adopt" and len(second.fills) == 1
    assert second.differences[0].diff_id == first.differences[0].diff_id
    after, _ = derive([fill("t1"), *second.fills])
    assert after["BTC"].size == 3.0


def test_while_trading_a_persistent_gap_is_settled_even_as_new_fills_arrive() -> None:
    """The venue holds 1 more than the journal; each pass also brings a new real fill."""
    journal = [fill("t1", size=1.0)]
    prev = reconcile(*(derive(journal)[0], [STOP]), [vpos("BTC", 3.0)],
                     [vorder(STOP.cloid, size=10.0)], [vfill("v1", size=1.0, t=5)],
                     known_trade_ids={"t1"}, previous=ReconciliationReport(
                         report_id="x", time_ms=0, clean=True))  # fmt: skip
    gap = [d for d in prev.differences if d.kind == "position_mismatch"]
    assert [d.action for d in gap] == ["confirm"] and prev.fills[0].trade_id == "v1"
    journal.append(fill("v1", size=1.0, t=5))
    second = reconcile(derive(journal)[0], [STOP], [vpos("BTC", 4.0)],
                       [vorder(STOP.cloid, size=10.0)], [vfill("v2", size=1.0, t=6)],
                       known_trade_ids={"t1", "v1"}, previous=prev)  # fmt: skip
    settled = [d for d in second.differences if d.kind == "position_mismatch"]
    assert [d.action for d in settled] == ["adopt"]
    after, _ = derive([*journal, *second.fills])
    assert after["BTC"].size == pytest.approx(4.0)


def test_no_usable_price_escalates_to_the_operator_and_writes_nothing() -> None:
    r = reconcile({}, [], [vpos("BTC", 1.0, entry=0.0)], [vorder(None, size=1.0)], [])
    [d] = [d for d in r.differences if d.kind == "adopt_position"]
    assert d.action == "operator" and d.blocking and r.fills == [] and not r.clean
