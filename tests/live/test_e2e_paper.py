"""End to end on the simulator: data -> signal -> size -> order -> fill -> stop resting on the
venue -> close -> P&L, through every actor, on shipped BTC data replayed at 7200x."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors import system
from actors.state.snapshot import read_state_json
from strategies.risk import Limits
from tests.live.helpers import paper, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


def _run_until_a_trade_closes(tmp_path: Path, px: object, prefix: str) -> dict[str, object]:
    import ray

    cfg = system.LiveConfig(
        spec=px.spec, data_dir=tmp_path / "data",  # type: ignore[attr-defined]
        symbols=(system.SymbolPlan("BTC", "liquidity_sweep"),), timeframe="15m",
        limits=Limits(risk_fraction=0.01, max_open_positions=3, max_leverage=2.0),
        warmup_bars=600, snapshot_s=2.0, reconcile_s=5.0, poll_s=0.1,
    )  # fmt: skip
    live = system.start(cfg, namespace_prefix=prefix)
    try:

        def protected_then_closed() -> bool:
            # at 7200x the price can cross a tight stop before it is placed (the Executor then
            # closes the position): wait for a trade whose stop did rest on the venue
            kinds = [e.kind for e in ray.get(live.alerter.since.remote(0))[0]]
            return (
                "stop_resting" in kinds
                and "position_closed" in kinds[kinds.index("stop_resting") :]
            )

        wait_for(protected_then_closed, 240, "a protected trade to close", every_s=0.5)
        out = {
            "events": ray.get(live.alerter.since.remote(0))[0],
            "positions": {
                s: p.size for s, p in ray.get(live.keeper.positions.remote()).items() if p.size != 0
            },  # fmt: skip
        }
    finally:
        live.stop()
    return out


def test_paper_trade_round_trip(tmp_path: Path) -> None:
    from actors.state.journal import Journal
    from actors.venues.factory import make_venue

    with paper(tmp_path, speed=7200.0) as px:
        out = _run_until_a_trade_closes(tmp_path, px, f"e2e{os.getpid()}")
        venue = make_venue(px.spec)
        try:
            venue_pos = {p.symbol: p.size for p in venue.positions()}
            venue_fills = venue.fills_since(0)
            open_orders = venue.open_orders()
        finally:
            venue.close()
    kinds = [e.kind for e in out["events"]]  # type: ignore[attr-defined]
    for k in ("signal", "order_filled", "fill", "stop_resting", "position_closed"):
        assert k in kinds, f"no {k} event: {kinds}"
    # the stop goes on once the entry's fill is seen; the entry's own "filled" status may be
    # journaled later (at 7200x it can fill before its place reply is journaled): the order the
    # money depends on is signal -> entry fill -> stop resting
    events = out["events"]  # type: ignore[attr-defined]
    entry_fill = next(i for i, e in enumerate(events) if e.kind == "fill" and "(entry)" in e.text)
    assert kinds.index("signal") < entry_fill < kinds.index("stop_resting")
    # journal: every venue fill journaled once; P&L from the same fills as the venue's
    j = Journal.open_readonly(tmp_path / "data" / "state" / "journal.sqlite")
    try:
        jf = {f.trade_id: f for f in j.fills()}
        assert set(jf) == {f.trade_id for f in venue_fills}
        for vf in venue_fills:
            assert (jf[vf.trade_id].size, jf[vf.trade_id].price) == (vf.size, vf.price)
        trades = j.trades()
        assert trades
        venue_net = sum(f.closed_pnl - f.fee for f in venue_fills)
        open_fees = sum(f.fee for f in venue_fills) - sum(t.fees for t in trades)
        assert sum(t.pnl for t in trades) == pytest.approx(venue_net + open_fees, abs=1e-6)
        jpos = {s: p.size for s, p in j.positions().items() if p.size != 0}
        assert jpos == pytest.approx(venue_pos)
        counts = j.counts()
        assert counts["orders"] >= 3 and counts["fills"] >= 2  # entry, stop, target / in, out
    finally:
        j.close()
    # every open position is protected by a reduce-only stop resting on the venue
    for sym, size in venue_pos.items():
        assert any(o.symbol == sym and o.kind == "stop_loss" and o.reduce_only
                   and o.remaining >= abs(size) - 1e-9 for o in open_orders)  # fmt: skip
    state = read_state_json(tmp_path / "data" / "state.json")
    assert state
