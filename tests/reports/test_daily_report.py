"""The daily report: figures equal independently computed ones; empty day, missing store and a
bad date are clear, not errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actors.messages import Event, Level, OrderIntent, Signal, make_cloid
from actors.reports.daily import build
from actors.reports.render import render_html, report_path, telegram_summary, write_report
from actors.state import journal_path
from actors.state.journal import Journal
from cluster.cli import app
from tests.state.helpers import fill

runner = CliRunner()
DAY = date(2025, 7, 2)
D0 = int(datetime(2025, 7, 2, tzinfo=UTC).timestamp() * 1000)
H = 3_600_000
DAY_H = 24 * H


def _entry(j: Journal, n: int, strategy: str, symbol: str, side: str) -> str:
    sid = f"{strategy}:{symbol}:15m:{n}"
    j.record_signal(Signal(source="strat", seq=n, signal_id=sid, strategy=strategy, symbol=symbol,
                           bar_time_ms=n, side=side, kind="market", price=None, stop=1.0), None)  # type: ignore[arg-type]  # fmt: skip
    cloid = make_cloid(strategy, symbol, sid, "entry")
    j.record_intent(OrderIntent.model_validate({
        "source": "executor", "seq": n, "intent_id": f"i{n}", "cloid": cloid, "signal_id": sid,
        "symbol": symbol, "side": side, "size": 1.0, "kind": "market", "purpose": "entry",
    }))  # fmt: skip
    return cloid


def _journal(data_dir: Path) -> None:
    """Three trades closed on DAY (one opened the day before), one fill the day after."""
    with Journal(journal_path(data_dir)) as j:
        a = _entry(j, 1, "alpha", "BTC", "buy")
        b = _entry(j, 2, "beta", "ETH", "sell")
        c = _entry(j, 3, "alpha", "SOL", "buy")
        fills = [
            fill("c1", symbol="SOL", cloid=c, price=100.0, fee=0.1, t=D0 - H),  # day before
            fill("a1", cloid=a, price=100.0, fee=0.1, t=D0 + H),
            fill("a2", side="sell", price=110.0, fee=0.1, t=D0 + 2 * H),
            fill("b1", symbol="ETH", side="sell", size=2.0, cloid=b, price=50.0, fee=0.05,
                 t=D0 + 3 * H),
            fill("b2", symbol="ETH", size=2.0, price=55.0, fee=0.05, t=D0 + 4 * H),
            fill("c2", symbol="SOL", side="sell", price=104.0, fee=0.1, t=D0 + 5 * H),
            fill("x1", price=120.0, fee=9.0, t=D0 + 25 * H),  # the next day
        ]  # fmt: skip
        for i, f in enumerate(fills):
            j.record_fill(f.model_copy(update={"seq": i}))
        j.record_equity(D0 - 2 * H, 2000.0)  # in the 30-day window, not in the day
        for k, e in enumerate([1000.0, 1100.0, 990.0, 1045.0]):
            j.record_equity(D0 + k * H, e)
        j.record_event(Event(source="risk", seq=1, level=Level.CRITICAL, kind="kill_switch",
                             text="kill switch: daily loss", time_ms=D0 + 6 * H))  # fmt: skip
        j.record_event(Event(source="risk", seq=2, level=Level.INFO, kind="fill", text="later",
                             time_ms=D0 + 30 * H))  # fmt: skip
    (data_dir / "circuit_breaker_events.log").write_text(
        "2025-07-02T06:00:00Z TRIPPED daily_loss\n2025-07-05T00:00:00Z RESUMED daily_loss\n"
    )


def test_figures_equal_independent_computation(_isolated_data_dir: Path) -> None:
    _journal(_isolated_data_dir)
    rep = build(_isolated_data_dir, DAY)
    pnl = {"a": (110 - 100) * 1 - 0.2, "b": (50 - 55) * 2 - 0.1, "c": (104 - 100) - 0.2}
    assert len(rep.trades) == 3 and rep.fills == 5
    assert rep.realized_pnl == pytest.approx(sum(pnl.values()))
    assert rep.fees == pytest.approx(0.1 + 0.1 + 0.05 + 0.05 + 0.1)
    assert rep.win_rate == pytest.approx(2 / 3)
    assert rep.top_strategy == ("alpha", pytest.approx(pnl["a"] + pnl["c"]))
    assert rep.worst_trade is not None and rep.worst_trade.symbol == "ETH"
    assert rep.worst_trade.pnl == pytest.approx(pnl["b"])
    assert rep.max_drawdown == pytest.approx((1100 - 990) / 1100)
    assert rep.critical_events == 1
    assert any("kill_switch" in b for b in rep.breaker_events)
    assert any("TRIPPED" in b for b in rep.breaker_events)
    assert not any("RESUMED" in b for b in rep.breaker_events)
    seed = {c.name.split(" (")[0]: c for c in rep.seed}
    assert seed["max drawdown"].passed is False  # 2000 -> 990 within the 30-day window
    assert seed["max drawdown"].value == f"{(2000 - 990) / 2000 * 100:.1f}%"
    rets = np.array([pnl["c"] / 100, pnl["a"] / 100, pnl["b"] / 100])
    want_sharpe = rets.mean() / rets.std(ddof=1)
    assert seed["Sharpe, per trade"].value == f"{want_sharpe:,.2f}"
    assert seed["Sharpe, per trade"].passed is bool(want_sharpe > 1)
    assert seed["critical errors"].passed is False
    assert seed["uptime"].passed is None  # no run recorded: unknown, never a guess

    path = write_report(rep)
    assert path == _isolated_data_dir / "reports" / "daily-2025-07-02.html"
    page = path.read_text()
    assert "Plotly.newPlot" in page and page.count("Plotly.newPlot") == 3
    assert f"+${sum(pnl.values()):,.2f}" in page and "66.7%" in page and "10.00%" in page
    assert "FAIL" in page and "alpha" in page
    text = telegram_summary(rep)
    assert f"+${sum(pnl.values()):,.2f}" in text and "3 trade(s)" in text and "FAIL" in text


def test_uptime_runs_and_funding_of_the_day(_isolated_data_dir: Path) -> None:
    """Wall-clock runs: a crash covered to its last heartbeat, the gap counted down; the day's
    funding (venue clock) in the P&L, the page and the summary."""
    import sqlite3

    from actors.messages import Funding

    _journal(_isolated_data_dir)
    with Journal(journal_path(_isolated_data_dir)) as j:
        j.record_funding([Funding(source="f", seq=k + 1, symbol="SOL", time_ms=D0 + k * H,
                                  amount=a, rate=1e-4, size=1.0)
                          for k, a in ((-1, 5.0), (1, -0.25), (2, -0.5), (30, 9.0))])  # fmt: skip
    conn = sqlite3.connect(journal_path(_isolated_data_dir))
    conn.executemany(
        "INSERT INTO runs(network, start_ms, end_ms, clean, last_seen_ms, venue_first_ms,"
        " venue_last_ms) VALUES (?,?,?,?,?,?,?)",
        [("paper", D0, None, 0, D0 + 10 * H, D0 - H, D0 + 3 * H),  # crashed after 10 h
         ("paper", D0 + 12 * H, D0 + 20 * H, 1, D0 + 20 * H, None, None)],
    )  # fmt: skip
    conn.commit()
    conn.close()
    rep = build(_isolated_data_dir, DAY, now_ms=D0 + 40 * DAY_H)
    assert rep.funding == pytest.approx(-0.75)  # the day's two settlements only
    assert rep.net_pnl == pytest.approx(rep.realized_pnl - 0.75)
    assert rep.uptime_day is not None and rep.uptime_day.up_ms == 18 * H
    assert rep.uptime_day.span_ms == 24 * H  # from the first run's start to the day's end
    health = dict(rep.health)
    assert health["uptime that day (wall clock)"].startswith("75.00% (18h")
    assert "#1 paper" in health["live runs that day"] and "no end recorded" in health[
        "live runs that day"] and "clean stop" in health["live runs that day"]  # fmt: skip
    assert health["runs that traded this day (venue clock)"].startswith("#1 paper")
    assert "stopped cleanly" in health["live system now"]
    seed = {c.name.split(" (")[0]: c for c in rep.seed}
    assert seed["uptime"].passed is None  # 6 h down < 1 % of 30 days: one day cannot judge it
    assert "only 1d 0h of history" in seed["uptime"].value
    page = render_html(rep)
    assert "-$0.75" in page and "75.00%" in page
    assert "funding -$0.75" in telegram_summary(rep)


def test_cli_replayed_day_and_empty_day(_isolated_data_dir: Path) -> None:
    _journal(_isolated_data_dir)
    res = runner.invoke(app, ["report", "--date", "2025-07-02"])
    assert res.exit_code == 0, res.output
    assert (_isolated_data_dir / "reports" / "daily-2025-07-02.html").exists()
    res = runner.invoke(app, ["report", "--date", "2024-01-01", "--summary"])
    assert res.exit_code == 0, res.output
    page = (_isolated_data_dir / "reports" / "daily-2024-01-01.html").read_text()
    assert "no trades and no data on 2024-01-01" in page
    assert "no trades and no data" in res.stdout


def test_missing_store_is_a_report_not_an_error(_isolated_data_dir: Path) -> None:
    res = runner.invoke(app, ["report", "--date", "2025-07-02"])
    assert res.exit_code == 0, res.output
    rep = build(_isolated_data_dir, DAY)
    page = report_path(_isolated_data_dir, rep).read_text()
    assert "no state store" in page
    assert not journal_path(_isolated_data_dir).exists()  # reading never creates the store


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday", "2025-02-30"])
def test_bad_date_exits_2_with_one_line(_isolated_data_dir: Path, bad: str) -> None:
    res = runner.invoke(app, ["report", "--date", bad])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--date" in lines[0] and bad in lines[0]
    assert not (_isolated_data_dir / "reports").exists()


def test_unreadable_store_exits_2_and_is_left_alone(_isolated_data_dir: Path) -> None:
    path = journal_path(_isolated_data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 100)
    res = runner.invoke(app, ["report", "--date", "2025-07-02"])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "journal.sqlite" in lines[0]
    assert path.read_bytes() == b"not a database at all" * 100
