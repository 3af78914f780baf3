"""The portfolio rules inside :func:`strategies.risk.evaluate` and the market view they read:
drawdown on marked equity, correlation and VaR gates, exposure/leverage caps, fail-closed
histories, and the bar bucketing shared by live and the portfolio backtest."""

from __future__ import annotations

import numpy as np
import pytest

from strategies import risk
from strategies.breakers import Thresholds, loss_streak_since
from strategies.portfolio_risk import PortfolioLimits
from strategies.portfolio_view import (
    BarHistory,
    bucket_closes,
    marked_equity,
    return_grid,
    volatility,
    with_market,
)

TF = 900_000
RNG = np.random.default_rng(11)


def _history(closes: np.ndarray, start: int = 0) -> BarHistory:
    t = start + TF * np.arange(closes.size, dtype=np.int64)
    return BarHistory(t, closes * 1.001, closes * 0.999, closes.astype(np.float64))


def _walk(rets: np.ndarray, p0: float = 100.0) -> np.ndarray:
    return p0 * np.cumprod(1.0 + rets)


BASE = RNG.normal(0, 0.004, 700)
HIST = {
    "BTC": _history(_walk(BASE, 60_000.0)),
    "ETH": _history(_walk(0.97 * BASE + 0.0008 * RNG.normal(0, 1, 700), 3_000.0)),
    "DOGE": _history(_walk(RNG.normal(0, 0.004, 700), 0.2)),
}
END = int(HIST["BTC"].time_ms[-1])
PLIM = PortfolioLimits(correlation_window=200, var_horizon_bars=16, var_limit_pct=50.0)
LIM = risk.Limits(risk_fraction=0.01, max_open_positions=5, max_leverage=5.0, portfolio=PLIM)


def _state(**kw: object) -> risk.PortfolioState:
    base: dict[str, object] = {"equity": 10_000.0, "reconciled": True}
    base.update(kw)
    return risk.PortfolioState(**base)  # type: ignore[arg-type]


def _decide(symbol: str, side: str, s: risk.PortfolioState, lim: risk.Limits = LIM,
            peak: float = 0.0, hist: dict[str, BarHistory] = HIST) -> risk.Decision:  # fmt: skip
    px = float(hist[symbol].close[-1]) if symbol in hist else 1.0
    g = 1 if side == "buy" else -1
    p = risk.Proposal(symbol, side, px, px * (1 - 0.02 * g))  # type: ignore[arg-type]
    view = with_market(s, symbol, hist, END, TF, TF, PLIM.correlation_window, peak)
    return risk.evaluate(p, view, lim)


def test_correlated_same_direction_rejected_independent_and_hedge_pass() -> None:
    s = _state(positions={"BTC": 0.05}, entries={"BTC": float(HIST["BTC"].close[-1])})
    d = _decide("ETH", "buy", s)
    assert (d.approved, d.rule) == (False, "correlation") and "BTC" in d.detail
    assert _decide("DOGE", "buy", s).approved
    assert _decide("ETH", "sell", s).approved  # a hedge is not the same bet


def test_pending_entry_counts_for_correlation() -> None:
    d = _decide("ETH", "buy", _state(pending=frozenset({"BTC"})))
    assert (d.approved, d.rule) == (False, "correlation")


def test_missing_or_gappy_history_fails_closed() -> None:
    s = _state(positions={"BTC": 0.05}, entries={"BTC": 60_000.0})
    no_sol = _decide("SOL", "buy", s)
    assert (no_sol.approved, no_sol.rule) == (False, "correlation")
    gappy = dict(HIST)
    h = HIST["ETH"]
    keep = np.ones(len(h), bool)
    keep[-50] = False  # one bar missing inside the window
    gappy["ETH"] = BarHistory(h.time_ms[keep], h.high[keep], h.low[keep], h.close[keep])
    d = _decide("ETH", "sell", s, hist=gappy)
    assert (d.approved, d.rule) == (False, "correlation") and "fail closed" in d.detail
    short = {"BTC": HIST["BTC"].tail(100)}  # flat book: VaR needs the window too
    v = _decide("BTC", "buy", _state(), hist=short)
    assert (v.approved, v.rule) == (False, "var")


def test_var_resizes_then_rejects() -> None:
    tight = risk.Limits(**{**LIM.__dict__, "portfolio": PLIM.model_copy(
        update={"var_limit_pct": 1.0})})  # fmt: skip
    full = _decide("BTC", "buy", _state())
    small = _decide("BTC", "buy", _state(), lim=tight)
    assert full.rule == "approved" and small.approved and small.rule == "resized:var"
    assert small.size < full.size
    none = risk.Limits(**{**LIM.__dict__, "portfolio": PLIM.model_copy(
        update={"var_limit_pct": 0.001})})  # fmt: skip
    d = _decide("BTC", "buy", _state(), lim=none)
    assert (d.approved, d.rule) == (False, "var")


@pytest.mark.parametrize("method", ["historical", "parametric"])
def test_both_var_methods_gate(method: str) -> None:
    pl = PLIM.model_copy(update={"var_method": method, "var_limit_pct": 1.0})
    d = _decide("BTC", "buy", _state(), lim=risk.Limits(**{**LIM.__dict__, "portfolio": pl}))
    assert d.rule == "resized:var"


def test_exposure_and_leverage_caps_shrink_or_reject() -> None:
    btc = float(HIST["BTC"].close[-1])
    pl = PLIM.model_copy(update={"max_total_exposure_pct": 100.0})
    lim = risk.Limits(**{**LIM.__dict__, "portfolio": pl, "risk_fraction": 0.05})
    s = _state(positions={"DOGE": 20_000.0}, entries={"DOGE": 0.2})  # ~4,000 of 10,000 used
    d = _decide("BTC", "buy", s, lim=lim)
    # marked equity 10,000 + 20,000 * (mark - 0.2) minus the DOGE notional 20,000 * mark
    assert d.rule == "resized:total_exposure" and d.size * btc == pytest.approx(6_000.0)
    full = s.positions | {"DOGE": 60_000.0}  # 12,000 > 100 % of equity: no room at all
    d = _decide("BTC", "buy", _state(positions=full, entries={"DOGE": 0.2}), lim=lim)
    assert (d.approved, d.rule) == (False, "total_exposure")
    lev = risk.Limits(**{**LIM.__dict__, "portfolio": PLIM.model_copy(update={"max_leverage": 0.1}),
                         "risk_fraction": 0.05})  # fmt: skip
    assert _decide("BTC", "buy", _state(), lim=lev).rule == "resized:leverage"


def test_drawdown_on_marked_equity_blocks_new_positions() -> None:
    btc = float(HIST["BTC"].close[-1])
    # the venue reported 10,000 with the BTC long flat at entry; BTC is now 12 % lower
    s = _state(positions={"BTC": 1.0}, entries={"BTC": btc / 0.88}, unrealized={"BTC": 0.0})
    assert marked_equity(_state(positions={"BTC": 1.0}, entries={"BTC": 2.0}, marks={"BTC": 1.0},
                                unrealized={"BTC": 0.5})) == pytest.approx(10_000 - 1.5)  # fmt: skip
    d = _decide("DOGE", "buy", s, peak=10_000.0)
    assert (d.approved, d.rule) == (False, "drawdown")
    ok = _decide("DOGE", "buy", _state(), peak=10_500.0)  # 4.8 % below the peak
    assert ok.approved


def test_max_open_positions_counts_in_flight() -> None:
    lim = risk.Limits(**{**LIM.__dict__, "max_open_positions": 1})
    d = _decide("DOGE", "buy", _state(pending=frozenset({"ETH"})), lim=lim)
    assert (d.approved, d.rule) == (False, "max_open_positions")


def test_bucket_closes_use_complete_buckets_only() -> None:
    h = _history(np.arange(1.0, 11.0), start=0)  # 10 x 15m bars: 2 complete hours + 2 bars
    t, c = bucket_closes(h, TF, 4 * TF)
    assert t.tolist() == [0, 4 * TF] and c.tolist() == [4.0, 8.0]
    rets = return_grid({"X": h}, int(h.time_ms[-1]), TF, 4 * TF, 1)
    assert rets["X"].tolist() == [pytest.approx(1.0)]  # 8 / 4 - 1: the forming hour unused


def test_volatility_ratio_and_short_history() -> None:
    calm = _history(_walk(RNG.normal(0, 0.001, 600)))
    atr, base = volatility(calm, 14, 500) or (0.0, 0.0)
    assert 0.5 < atr / base < 2.0
    c = calm.close.copy()
    spike = BarHistory(calm.time_ms, calm.high.copy(), calm.low.copy(), c)
    spike.high[-20:] *= 1.05
    spike.low[-20:] *= 0.95
    atr2, base2 = volatility(spike, 14, 500) or (0.0, 0.0)
    assert atr2 / base2 > 3.0
    assert volatility(calm.tail(30), 14, 500) is None


def test_loss_streak_counts_only_after_the_previous_trip() -> None:
    t = Thresholds(loss_streak=3)
    trades = [(1, -1.0), (2, -1.0), (3, -1.0), (4, 2.0), (5, -1.0), (6, -1.0), (7, -1.0)]
    trip = loss_streak_since(trades, 0, t)
    assert trip is not None and trip.values["after_ms"] == 7.0
    assert loss_streak_since(trades, 7, t) is None  # resumed: a fresh count
    assert loss_streak_since([*trades, (8, -1.0), (9, -1.0)], 7, t) is None
    assert loss_streak_since([*trades, (8, -1.0), (9, -1.0), (10, -1.0)], 7, t) is not None


def test_entries_in_flight_count_in_the_exposure_caps() -> None:
    """An entry sent but not filled (resting, unknown or not yet acknowledged) uses its notional
    of the caps: two entries in flight cannot together overshoot a cap each respects alone."""
    btc = float(HIST["BTC"].close[-1])
    pl = PLIM.model_copy(update={"max_total_exposure_pct": 100.0})
    lim = risk.Limits(**{**LIM.__dict__, "portfolio": pl, "risk_fraction": 0.05})
    flying = (("0xdoge", "DOGE", 4_000.0),)  # a resting DOGE buy of 4,000 notional
    d = _decide("BTC", "buy", _state(in_flight=flying, pending=frozenset({"DOGE"})), lim=lim)
    assert d.rule == "resized:total_exposure" and d.size * btc == pytest.approx(6_000.0)
    full = (("0xdoge", "DOGE", 4_000.0), ("0xeth", "ETH", -6_000.0))  # 10,000 gross in flight
    d = _decide("BTC", "buy", _state(in_flight=full, pending=frozenset({"DOGE", "ETH"})), lim=lim)
    assert (d.approved, d.rule) == (False, "total_exposure")
    # without them the same entry gets its full risk-based size (the cap is what bit above)
    d = _decide("BTC", "buy", _state(), lim=lim)
    assert d.approved and d.size * btc > 6_000.0
