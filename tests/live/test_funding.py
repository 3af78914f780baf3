"""Funding reaches the journal: a position held across funding hours on the paper venue (the
simulator settles hourly funding at the replayed price); the Executor copies every settlement
from the venue, and the daily report's funding and P&L include them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors.reports.daily import build
from actors.reports.render import render_html
from actors.state import journal_path
from actors.state.schema import connect
from tests.live.graph import order_graph
from tests.live.helpers import entry_intent, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")
H = 3_600_000


def _journal_funding(data: Path) -> list[tuple[str, int, float]]:
    conn = connect(journal_path(data), readonly=True)
    try:
        return [(s, int(t), float(a)) for s, t, a in
                conn.execute("SELECT symbol, time_ms, amount FROM funding ORDER BY time_ms")]  # fmt: skip
    finally:
        conn.close()


def test_funding_settlements_are_journaled_and_reported(tmp_path: Path) -> None:
    import ray

    data = tmp_path / "data"
    with order_graph(tmp_path, speed=3600.0, reconcile_s=1.0) as g:
        mid = g.mid()
        intent = entry_intent("BTC", "buy", 0.01, mid, "funding")
        intent = intent.model_copy(update={"stop": round(mid * 0.7), "target": round(mid * 1.5)})
        ray.get(g.executor.submit.remote(intent))
        wait_for(lambda: len(_journal_funding(data)) >= 2, 120, "two funding settlements")
        journal = _journal_funding(data)  # read first: the replay settles one more every second
        venue_rows = g.venue.funding_since(0)
        # the journal holds exactly what the venue settled up to its newest row (none skipped,
        # none invented, none twice): the venue is the truth
        settled = [(f.symbol, f.time_ms, f.amount) for f in venue_rows]
        assert journal == [r for r in settled if r[1] <= journal[-1][1]]
        for f in venue_rows:  # each one = -size * price * rate, the price within that hour
            assert f.time_ms % H == 0 and f.size == pytest.approx(0.01)
            rate = float(
                g.venue.info.funding_history("BTC", f.time_ms, f.time_ms)[0]["fundingRate"]
            )
            bars = g.venue.candles("BTC", "1h", f.time_ms - H, f.time_ms + H)
            lo, hi = min(b.low for b in bars), max(b.high for b in bars)
            assert f.rate == pytest.approx(rate)
            if rate != 0.0:
                implied = -f.amount / (f.size * rate)  # the price it was settled at
                assert lo * 0.999 <= implied <= hi * 1.001, (implied, lo, hi)
    day = datetime.fromtimestamp(journal[0][1] / 1000, UTC).date()
    rep = build(data, day)
    on_day = [a for _, t, a in journal if datetime.fromtimestamp(t / 1000, UTC).date() == day]
    assert rep.funding == pytest.approx(sum(on_day))
    assert rep.net_pnl == pytest.approx(rep.realized_pnl + sum(on_day))
    html = render_html(rep)
    assert "funding (received + / paid -)" in html and "not recorded" not in html.split(
        "funding (received")[1][:80]  # fmt: skip
