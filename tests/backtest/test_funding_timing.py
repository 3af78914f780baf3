"""Funding prints are paid by the position held at their settlement time (issue #14 point 4).

Bars are 1h, 4h or 1d; prints are hourly with distinct rates (so WHICH prints a position pays
shows in the total). Prices are flat at 100 unless a stop must fill, so a print costs
qty x 100 x rate. Every expected figure is the sum over the prints settled while the position
was held: (entry fill instant, exit fill instant], a print at a fill's instant belonging to the
position before the fill (the fill is the first trade at or after the settlement).
"""

from __future__ import annotations

import numpy as np
import pytest

from research.backtest.bars import Bars
from research.backtest.funding import FundingAlignment, align_funding
from research.backtest.runner import run_backtest
from strategies.signals import Signals
from tests.backtest.helpers import config

HOUR = 3_600_000
QTY = 100.0  # fraction-1 sizing at 100 on 10,000 of cash
TF_HOURS = {"1h": 1, "4h": 4, "1d": 24}


def _bars(tf: str, rows: list[tuple[float, float, float, float]]) -> Bars:
    a = np.array(rows, dtype=float)
    ts = np.arange(len(rows), dtype=np.int64) * TF_HOURS[tf] * HOUR
    return Bars.from_arrays(a[:, 0], a[:, 1], a[:, 2], a[:, 3], timeframe=tf, ts=ts)


def _prints(b: Bars, signs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hourly prints over the bars' span, rate of print h = (h + 1) x 1e-5 (x sign)."""
    ts = np.arange(0, int(b.ts[-1]) + b.timeframe_ms, HOUR, dtype=np.int64)
    rates = (np.arange(ts.size) + 1) * 1e-5
    if signs is not None:
        rates = rates * signs[: ts.size]
    return ts, rates


def _held(ts: np.ndarray, rates: np.ndarray, start: int, end: int) -> np.ndarray:
    return rates[(ts > start) & (ts <= end)]


@pytest.mark.parametrize("tf", ["1h", "4h", "1d"])
@pytest.mark.parametrize("side", [1, -1])
def test_a_position_pays_exactly_the_prints_settled_while_it_is_held(tf: str, side: int) -> None:
    # signal at bar 0 -> fill at bar 1's open; exit signal at bar 2 -> fill at bar 3's open
    b = _bars(tf, [(100, 100, 100, 100)] * 5)
    ts, rates = _prints(b)
    fund = align_funding(b.ts, b.timeframe_ms, ts, rates)
    exit_field = "exit_long" if side > 0 else "exit_short"
    sig = Signals.build(5, entry=np.array([side, 0, 0, 0, 0]),
                        **{exit_field: np.array([False, False, True, False, False])})  # fmt: skip
    r = run_backtest(b, sig, config(), fund)
    (t,) = r.trades.itertuples()
    paid = _held(ts, rates, int(b.ts[1]), int(b.ts[3])).sum()
    # 2 x bar-length hours of prints: (open of bar 1, open of bar 3]
    assert _held(ts, rates, int(b.ts[1]), int(b.ts[3])).size == 2 * TF_HOURS[tf]
    assert t.funding == pytest.approx(-side * QTY * 100 * paid, rel=1e-12)
    assert r.metrics["funding_paid"] == pytest.approx(side * QTY * 100 * paid, rel=1e-12)
    assert r.metrics["final_equity"] == pytest.approx(10_000 - side * QTY * 100 * paid)


def test_bars_up_to_the_print_interval_keep_every_print_at_the_open() -> None:
    """1m/15m/1h bars aligned to the hour: each print settles at some bar's open instant, so
    nothing changes against the previous rule (charged at the open on the carried position)."""
    for minutes in (1, 15, 60):
        n = 600 // minutes + 3
        bt = np.arange(n, dtype=np.int64) * minutes * 60_000
        ft = np.arange(0, int(bt[-1]) + 1, HOUR, dtype=np.int64)
        fund = align_funding(bt, minutes * 60_000, ft, np.linspace(-1e-4, 2e-4, ft.size) + 1e-6)
        assert not fund.has_inside and fund.kernel_rows().shape == (1, n)
        assert fund.rates.sum() == pytest.approx(fund.total().sum())
        assert np.count_nonzero(fund.rates) == ft.size


def test_alignment_splits_prints_at_the_open_from_prints_inside() -> None:
    bt = np.arange(3, dtype=np.int64) * 4 * HOUR
    ft = np.arange(12, dtype=np.int64) * HOUR
    rates = np.array([1, -2, 3, 4, 5, 6, -7, -8, 9, 10, 11, 12]) * 1e-4
    f = align_funding(bt, 4 * HOUR, ft, rates)
    assert f.rates == pytest.approx([1e-4, 5e-4, 9e-4])
    assert f.inside_up == pytest.approx([7e-4, 6e-4, 33e-4])
    assert f.inside_down == pytest.approx([-2e-4, -15e-4, 0.0])
    assert f.total() == pytest.approx([6e-4, -4e-4, 42e-4])
    assert f.kernel_rows().shape == (3, 3)


@pytest.mark.parametrize("tf", ["4h", "1d"])
def test_an_intrabar_stop_exit_pays_the_costly_inside_prints_and_earns_none(tf: str) -> None:
    # long at bar 1's open (stop 90); bar 2 trades down to 89: the stop fills inside bar 2 at
    # an instant the bar does not reveal. Inside bar 2, the long pays every positive print
    # (whenever the stop filled, it may have been after them) and earns no negative one.
    b = _bars(tf, [(100, 100, 100, 100)] * 2 + [(100, 100, 89, 95)] + [(95, 95, 95, 95)])
    ts, rates = _prints(b, signs=np.tile([1.0, -1.0], 200))
    fund = align_funding(b.ts, b.timeframe_ms, ts, rates)
    sig = Signals.build(4, entry=np.array([1, 0, 0, 0]), stop=np.array([90.0, np.nan, np.nan,
                                                                        np.nan]))  # fmt: skip
    r = run_backtest(b, sig, config(), fund)
    (t,) = r.trades.itertuples()
    assert (t.exit_bar, t.exit_reason, t.exit_price) == (2, "stop_loss", 90.0)
    held = _held(ts, rates, int(b.ts[1]), int(b.ts[2]))  # bar 1 inside + bar 2's open print
    inside2 = rates[(ts > b.ts[2]) & (ts < b.ts[3])]
    want = held.sum() + inside2[inside2 > 0].sum()
    assert t.funding == pytest.approx(-QTY * 100 * want, rel=1e-12)
    assert t.pnl == pytest.approx(QTY * (90 - 100) - QTY * 100 * want, rel=1e-12)


@pytest.mark.parametrize("side", [1, -1])
def test_an_intrabar_limit_entry_pays_the_costly_inside_prints_and_earns_none(side: int) -> None:
    # a limit entry at 99 (long) / 101 (short) rests on bar 1 and fills inside it; held to the
    # exit at bar 3's open. Inside bar 1 only the prints that cost this side are charged.
    rows = [(100, 100, 100, 100), (100, 101.5, 98.5, 100), (100, 100, 100, 100),
            (100, 100, 100, 100), (100, 100, 100, 100)]  # fmt: skip
    b = _bars("4h", rows)
    ts, rates = _prints(b, signs=np.tile([1.0, -1.0, -1.0], 200))
    fund = align_funding(b.ts, b.timeframe_ms, ts, rates)
    limit = 99.0 if side > 0 else 101.0
    exit_field = "exit_long" if side > 0 else "exit_short"
    sig = Signals.build(
        5, entry=np.array([side, 0, 0, 0, 0]), entry_kind=np.array([1, 0, 0, 0, 0]),
        entry_price=np.array([limit, np.nan, np.nan, np.nan, np.nan]),
        **{exit_field: np.array([False, False, True, False, False])},
    )  # fmt: skip
    r = run_backtest(b, sig, config(), fund)
    (t,) = r.trades.itertuples()
    assert (t.entry_bar, t.entry_price, t.exit_bar) == (1, limit, 3)
    qty = 10_000 / limit
    inside1 = rates[(ts > b.ts[1]) & (ts < b.ts[2])]
    costly = inside1[side * inside1 > 0].sum()
    rest = _held(ts, rates, int(b.ts[2]) - 1, int(b.ts[3]))  # bar 2's open .. bar 3's open
    want = -side * qty * 100 * (costly + rest.sum())
    assert t.funding == pytest.approx(want, rel=1e-12)


def test_the_costly_inside_prints_count_before_the_liquidation_check() -> None:
    # 10x long, max leverage 10: maintenance 5 %. The bar-2 low sits just above the
    # liquidation price without funding; the positive prints settled inside bar 2 lower the
    # equity first and the long is liquidated in that bar (a print paid at the close instead
    # would let it survive the bar).
    cfg = config(fraction=10.0, leverage=10.0, max_leverage=10.0)
    liq_no_funding = 100 * (1 - 1 / 10) / (1 - 0.05)  # (q*e - cash)/(q*(1-mm)), q=1000, cash=0
    low = liq_no_funding + 0.02
    b = _bars("4h", [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, low, 100),
                     (100, 100, 100, 100)])  # fmt: skip
    bt = b.ts
    f = FundingAlignment(np.zeros(4), 3, 0, HOUR, np.array([0.0, 0.0, 3e-4, 0.0]), np.zeros(4))
    sig = Signals.build(4, entry=np.array([1, 0, 0, 0]))
    r = run_backtest(b, sig, cfg, f)
    (t,) = r.trades.itertuples()
    assert (t.exit_bar, t.exit_reason) == (2, "liquidation")
    r0 = run_backtest(b, sig, cfg, FundingAlignment(np.zeros(4), 0, 0, HOUR))
    assert r0.metrics["liquidations"] == 0.0 and bt.size == 4
